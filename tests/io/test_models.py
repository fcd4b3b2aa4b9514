from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import skops.io as sio
from sklearn.linear_model import LogisticRegression
from sklearn.neighbors import KNeighborsClassifier

from mlpipe.config import Contract
from mlpipe.errors import ModelIntegrityError
from mlpipe.io.models import load_model, save_model

pytestmark = pytest.mark.unit
X, Y = np.arange(20.0).reshape(10, 2), np.array([0, 1] * 5)


def test_round_trip_with_the_recorded_hash(tmp_path: Path) -> None:
    model = LogisticRegression().fit(X, Y)
    sha = save_model(model, tmp_path / "m.skops")
    loaded = load_model(tmp_path / "m.skops", sha)
    np.testing.assert_array_equal(loaded.predict_proba(X), model.predict_proba(X))


def test_a_tampered_file_is_refused(tmp_path: Path) -> None:
    sha = save_model(LogisticRegression().fit(X, Y), tmp_path / "m.skops")
    with (tmp_path / "m.skops").open("ab") as fh:
        fh.write(b"\0")
    with pytest.raises(ModelIntegrityError, match="does not match the recorded"):
        load_model(tmp_path / "m.skops", sha)


def test_types_outside_the_trusted_list_are_refused_even_with_a_good_hash(tmp_path: Path) -> None:
    path = tmp_path / "knn.skops"
    sio.dump(KNeighborsClassifier(n_neighbors=1).fit(X, Y), path)
    from mlpipe.io.files import sha256_file

    with pytest.raises(ModelIntegrityError, match="untrusted types"):
        load_model(path, sha256_file(path))


def test_a_missing_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(ModelIntegrityError, match="model file not found"):
        load_model(tmp_path / "nope.skops", "0" * 64)


def test_the_same_model_always_gets_the_same_bytes(tmp_path: Path) -> None:
    """skops names files after id(); save_model canonicalises, so hashes identify models."""
    from sklearn.ensemble import HistGradientBoostingClassifier

    shas = {
        save_model(HistGradientBoostingClassifier(max_iter=5, random_state=0).fit(X, Y), tmp_path / f"{i}.skops")
        for i in range(2)
    }
    assert len(shas) == 1
    loaded = load_model(tmp_path / "0.skops", shas.pop())
    assert loaded.predict(X).shape == (10,)


def test_nothing_in_the_zip_says_when_or_on_what_it_was_written(tmp_path: Path) -> None:
    import zipfile

    save_model(LogisticRegression().fit(X, Y), tmp_path / "m.skops")
    entries = zipfile.ZipFile(tmp_path / "m.skops").infolist()
    assert {(e.date_time, e.create_system, e.external_attr) for e in entries} == {
        ((1980, 1, 1, 0, 0, 0), 3, 0o600 << 16)
    }


@pytest.mark.parametrize("kind", ["hist_gradient_boosting", "logistic_regression"])
def test_every_estimator_with_many_categories_and_missing_values_round_trips(tmp_path: Path, kind: str) -> None:
    """A 400-value text column (a zip code) and missing numbers: trains, saves, loads, scores the same."""
    import pandas as pd

    from mlpipe.config import parse_contract
    from mlpipe.core.model import build_estimator, positive_proba
    from mlpipe.core.synth import synthesise

    columns = {"i": {"dtype": "int"}, "zip": {"dtype": "str"}, "x": {"dtype": "float", "nullable": True},
               "y": {"dtype": "int", "allowed": [0, 1]}}  # fmt: skip
    c = parse_contract({"name": "z", "id": "i", "target": "y", "features": ["zip", "x"], "columns": columns})
    df = synthesise(c, 3000, seed=0).assign(zip=[f"z{k % 400}" for k in range(3000)])
    spec = {"kind": kind, "max_iter": 20} if kind == "hist_gradient_boosting" else {"kind": kind}
    from mlpipe.config import TrainParams

    est = TrainParams.model_validate({"model": spec, "baseline": {"kind": "prior"}}).model
    X = df[c.features].assign(x=pd.to_numeric(df["x"]))
    model = build_estimator(est, c, seed=0).fit(X, (df["y"] == 1).to_numpy())
    sha = save_model(model, tmp_path / "m.skops")
    loaded = load_model(tmp_path / "m.skops", sha)
    np.testing.assert_array_equal(positive_proba(loaded, X), positive_proba(model, X))


LOAD_FRESH = """
import json, sys
from concurrent.futures import ThreadPoolExecutor
import numpy as np, pandas as pd
from mlpipe.core.model import positive_proba
from mlpipe.io.models import load_model
import sklearn.utils, sklearn.utils.discovery

X = pd.read_parquet(sys.argv[1] + "/X.parquet")
shas = json.loads(sys.argv[2])
with ThreadPoolExecutor(len(shas)) as pool:  # all at once: the first import of skops is shared
    models = dict(zip(shas, pool.map(lambda k: load_model(f"{sys.argv[1]}/{k}.skops", shas[k]), shas)))
out = {kind: positive_proba(m, X).tolist() for kind, m in models.items()}
assert sklearn.utils.all_estimators is sklearn.utils.discovery.all_estimators, "left patched"
assert "sklearn.gaussian_process" not in sys.modules, "skops listed every estimator after all"
import scipy.special, skops.io._trusted_types
assert "__dir__" not in vars(scipy.special) and "expit" in dir(scipy.special), "left patched"
assert skops.io._trusted_types.SCIPY_UFUNC_TYPE_NAMES == [], "skops looked up every scipy ufunc after all"
json.dump(out, sys.stdout)
"""


def test_every_estimator_kind_loads_in_a_fresh_process(
    tmp_path: Path, sample: pd.DataFrame, synth_contract: Contract
) -> None:
    """A command imports skops through ``_skops`` (without skops's list of every scikit-learn estimator):
    each model kind this template builds must still pass the trusted-types check and score the same.
    (This process imported skops.io the plain way at the top of the module.)"""
    import json
    import subprocess
    import sys

    from mlpipe.config import ESTIMATORS, TrainParams
    from mlpipe.core.features import TARGET, feature_frame, prepare
    from mlpipe.core.model import build_estimator, positive_proba
    from tests.repos import ROOT

    rows = prepare(sample, synth_contract)
    X, y = feature_frame(rows, synth_contract), rows[TARGET].to_numpy()
    X.to_parquet(tmp_path / "X.parquet")
    shas, expected = {}, {}
    for kind in ESTIMATORS:
        few = {"max_iter": 10} if kind == "hist_gradient_boosting" else {}  # the types, not the fit, are tested
        spec = TrainParams.model_validate({"model": {"kind": kind, **few}, "baseline": {"kind": "prior"}}).model
        model = build_estimator(spec, synth_contract, seed=0).fit(X, y)
        shas[kind] = save_model(model, tmp_path / f"{kind}.skops")
        expected[kind] = positive_proba(model, X).tolist()
    done = subprocess.run(
        [sys.executable, "-c", LOAD_FRESH, str(tmp_path), json.dumps(shas)],
        check=False, capture_output=True, text=True, timeout=300, env={"PYTHONPATH": str(ROOT / "src")},
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    assert json.loads(done.stdout) == expected
