from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import skops.io as sio
from sklearn.linear_model import LogisticRegression
from sklearn.neighbors import KNeighborsClassifier

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
