from __future__ import annotations

import numpy as np
import pytest

from mlpipe.core.bootstrap import bootstrap_deltas
from mlpipe.core.metrics import classification_metrics

pytestmark = pytest.mark.unit


def _scores(n: int = 3000, seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, n)
    good = np.clip(0.4 * y + rng.normal(0.3, 0.15, n), 0, 1)
    bad = np.clip(0.1 * y + rng.normal(0.45, 0.2, n), 0, 1)
    return y, good, bad


def test_identical_models_have_a_zero_interval() -> None:
    y, good, _ = _scores()
    out = bootstrap_deltas(y, good, good, n_resamples=50)
    for ci in out.values():
        assert ci.delta == 0
        assert ci.low == 0
        assert ci.high == 0
        assert ci.paired


def test_better_candidate_has_an_interval_above_zero() -> None:
    y, good, bad = _scores()
    out = bootstrap_deltas(y, good, bad, n_resamples=100, seed=1)
    assert out["roc_auc"].low > 0
    assert out["log_loss"].high < 0  # lower is better: the candidate's loss is lower
    assert out["roc_auc"].low <= out["roc_auc"].delta <= out["roc_auc"].high


def test_unpaired_uses_reference_point_values() -> None:
    y, good, bad = _scores()
    ref = classification_metrics(y, bad)
    out = bootstrap_deltas(y, good, None, ref, n_resamples=50)
    assert not out["roc_auc"].paired
    assert out["roc_auc"].reference == pytest.approx(ref["roc_auc"])
    assert out["roc_auc"].delta > 0


def test_same_seed_same_interval_and_needs_a_reference() -> None:
    y, good, bad = _scores()
    a = bootstrap_deltas(y, good, bad, n_resamples=30, seed=3)
    b = bootstrap_deltas(y, good, bad, n_resamples=30, seed=3)
    assert a == b
    with pytest.raises(ValueError, match="need reference"):
        bootstrap_deltas(y, good, None)
