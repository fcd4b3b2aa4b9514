from __future__ import annotations

import pytest

from mlpipe.config import GateParams
from mlpipe.core.bootstrap import DeltaCI
from mlpipe.core.gate import Verdict, decide

pytestmark = pytest.mark.unit

GOOD = {"roc_auc": 0.90, "pr_auc": 0.88, "f1": 0.83, "accuracy": 0.82, "log_loss": 0.38, "brier": 0.12}
BASE = {"roc_auc": 0.87, "pr_auc": 0.84, "f1": 0.81, "accuracy": 0.80, "log_loss": 0.42, "brier": 0.14}
PARAMS = GateParams(
    minimums={"roc_auc": 0.85},
    maximums={"log_loss": 0.45},
    tolerance={"roc_auc": 0.005, "log_loss": 0.01},
    max_slice_gap={"sex": 0.05},
)


def ci(metric: str, cand: float, ref: float) -> DeltaCI:
    d = cand - ref
    return DeltaCI(metric, cand, ref, d, d - 0.01, d + 0.01, True)


def names_failed(v: Verdict) -> list[str]:
    return [c.name for c in v.checks if not c.passed]


def test_everything_fine_passes() -> None:
    ref = {"roc_auc": ci("roc_auc", 0.90, 0.899), "log_loss": ci("log_loss", 0.38, 0.381)}
    v = decide(PARAMS, GOOD, BASE, ref, {"sex": 0.03})
    assert v.passed
    assert not v.reasons


def test_absolute_minimum_and_maximum() -> None:
    bad = GOOD | {"roc_auc": 0.80, "log_loss": 0.5}
    v = decide(PARAMS, bad, BASE, None, {"sex": 0.0})
    assert names_failed(v) == ["min:roc_auc", "max:log_loss", "baseline"]
    assert "roc_auc 0.8000 must be >= 0.8500" in v.reasons[0]


def test_must_beat_baseline() -> None:
    v = decide(PARAMS, GOOD, GOOD | {"roc_auc": 0.95}, None, {})
    assert names_failed(v) == ["baseline"]
    assert "try `make tune`" in v.reasons[0]  # a verdict says what to do about it
    assert "train.model.kind: logistic_regression" in v.reasons[0]
    assert decide(PARAMS.model_copy(update={"must_beat_baseline": False}), GOOD, BASE, None, {}).passed


def test_regression_beyond_tolerance_blocks_within_tolerance_passes() -> None:
    within = {"roc_auc": ci("roc_auc", 0.900, 0.904)}
    beyond = {"roc_auc": ci("roc_auc", 0.900, 0.906)}
    assert decide(PARAMS, GOOD, BASE, within, {}).passed
    v = decide(PARAMS, GOOD, BASE, beyond, {})
    assert names_failed(v) == ["reference:roc_auc"]
    assert "delta -0.0060" in v.reasons[0]


def test_lower_is_better_metric_direction() -> None:
    worse_loss = {"log_loss": ci("log_loss", 0.40, 0.38)}
    better_loss = {"log_loss": ci("log_loss", 0.30, 0.38)}
    assert names_failed(decide(PARAMS, GOOD, BASE, worse_loss, {})) == ["reference:log_loss"]
    assert decide(PARAMS, GOOD, BASE, better_loss, {}).passed


def test_slice_gap_above_limit_blocks_and_missing_gap_passes_with_detail() -> None:
    v = decide(PARAMS, GOOD, BASE, None, {"sex": 0.08})
    assert names_failed(v) == ["slice:sex"]
    v2 = decide(PARAMS, GOOD, BASE, None, {"sex": None})
    assert v2.passed
    assert "fewer than two groups" in v2.checks[-1].detail


def test_verdict_serialises_with_reasons() -> None:
    d = decide(PARAMS, GOOD, BASE, None, {"sex": 0.08}, notes=["n"]).to_dict()
    assert d["passed"] is False
    assert d["reasons"]
    assert d["notes"] == ["n"]
