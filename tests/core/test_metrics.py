from __future__ import annotations

import numpy as np
import pytest
from sklearn import metrics as skm

from mlpipe.core.metrics import (
    METRICS,
    calibration_table,
    classification_metrics,
    expected_calibration_error,
    pr_curve,
    roc_curve,
    slice_report,
)

pytestmark = pytest.mark.unit


def _data(n: int = 2000, seed: int = 0, ties: bool = False) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, n)
    p = np.clip(0.3 * y + rng.normal(0.35, 0.2, n), 0, 1)
    if ties:
        p = np.round(p, 1)
    return y, p


@pytest.mark.parametrize("ties", [False, True])
def test_metrics_match_scikit_learn(ties: bool) -> None:
    y, p = _data(ties=ties)
    got = classification_metrics(y, p, threshold=0.5)
    pred = (p >= 0.5).astype(int)
    assert got["roc_auc"] == pytest.approx(skm.roc_auc_score(y, p), abs=1e-12)
    assert got["pr_auc"] == pytest.approx(skm.average_precision_score(y, p), abs=1e-12)
    assert got["f1"] == pytest.approx(skm.f1_score(y, pred), abs=1e-12)
    assert got["accuracy"] == pytest.approx(skm.accuracy_score(y, pred), abs=1e-12)
    assert got["log_loss"] == pytest.approx(skm.log_loss(y, np.clip(p, 1e-15, 1 - 1e-15)), abs=1e-9)
    assert got["brier"] == pytest.approx(skm.brier_score_loss(y, p), abs=1e-12)
    assert tuple(got) == METRICS


def test_weights_equal_repeated_rows() -> None:
    y, p = _data(300)
    w = np.random.default_rng(1).integers(0, 4, y.size)
    weighted = classification_metrics(y, p, weights=w)
    repeated = classification_metrics(np.repeat(y, w), np.repeat(p, w))
    for m in METRICS:
        assert weighted[m] == pytest.approx(repeated[m], abs=1e-10), m


def test_single_class_auc_is_nan_not_an_error() -> None:
    assert np.isnan(classification_metrics(np.ones(5), np.linspace(0, 1, 5))["roc_auc"])


def test_shape_mismatch_is_rejected() -> None:
    with pytest.raises(ValueError, match="equal length"):
        classification_metrics(np.ones(3), np.ones(4))


def test_curves_are_downsampled_and_span_the_range() -> None:
    y, p = _data(5000)
    roc = roc_curve(y, p, points=50)
    assert len(roc) <= 50
    assert roc[0] == {"fpr": 0.0, "tpr": 0.0}
    assert roc[-1] == {"fpr": 1.0, "tpr": 1.0}
    pr = pr_curve(y, p, points=50)
    assert pr[-1]["recall"] == 1.0


def test_calibration_of_a_calibrated_model_is_small() -> None:
    rng = np.random.default_rng(0)
    p = rng.uniform(size=20000)
    y = (rng.uniform(size=p.size) < p).astype(int)
    table = calibration_table(y, p, bins=10)
    assert sum(r["count"] for r in table) == p.size
    assert expected_calibration_error(table) < 0.02
    assert expected_calibration_error(calibration_table(y, p**3, bins=10)) > 0.1


def test_slice_report_finds_the_gap_and_skips_small_groups() -> None:
    y = np.array([1, 0] * 100 + [1, 0] * 100 + [1, 0])
    p = np.r_[np.tile([0.9, 0.1], 100), np.tile([0.4, 0.6], 100), [0.9, 0.1]]
    groups = np.array(["a"] * 200 + ["b"] * 200 + ["tiny"] * 2)
    rep = slice_report("g", groups, y, p, "accuracy", 0.5, min_size=10)
    assert rep.gap == pytest.approx(1.0)
    assert (rep.best, rep.worst) == ("a", "b")
    assert rep.skipped == {"tiny": 2}


def test_slice_gap_respects_lower_is_better_metrics() -> None:
    y = np.array([1, 0] * 50 * 2)
    p = np.r_[np.tile([0.9, 0.1], 50), np.tile([0.6, 0.4], 50)]
    groups = np.array(["sharp"] * 100 + ["vague"] * 100)
    rep = slice_report("g", groups, y, p, "log_loss", 0.5, min_size=10)
    assert (rep.best, rep.worst) == ("sharp", "vague")


def test_config_accepts_exactly_the_metrics_we_compute() -> None:
    """MetricName (a Literal, for strict params) must name the same metrics DIRECTION defines."""
    from typing import get_args

    from mlpipe.config import MetricName

    assert set(get_args(MetricName)) == set(METRICS)
