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
