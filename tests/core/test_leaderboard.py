"""The leaderboard on known inputs: a real improvement, a tie that is noise, a real regression."""

from __future__ import annotations

import numpy as np
import pytest

from mlpipe.config import BootstrapParams
from mlpipe.core import leaderboard as lb
from mlpipe.core.bootstrap import DeltaCI

pytestmark = pytest.mark.unit
BS = BootstrapParams(n_resamples=200, confidence=0.95, seed=0)


def known() -> tuple[np.ndarray, np.ndarray, dict[str, np.ndarray]]:
    rng = np.random.default_rng(0)
    n = 4000
    y = rng.integers(0, 2, n)
    signal = y + rng.normal(0, 1.0, n)
    current = 1 / (1 + np.exp(-signal))
    sharper = 1 / (1 + np.exp(-(y + rng.normal(0, 0.6, n)) * 1.5))  # much less noise: really better
    jitter = np.clip(current + rng.normal(0, 1e-4, n), 1e-6, 1 - 1e-6)  # the same model, tiny jitter
    blurred = 1 / (1 + np.exp(-(y + rng.normal(0, 2.0, n))))  # more noise: really worse
    return y, current, {"sharper": sharper, "jitter": jitter, "blurred": blurred}


def test_real_differences_are_marked_and_noise_is_not() -> None:
    y, current, exps = known()
    calls = {name: lb.compare(y, current, p, 0.5, BS, len(exps), 200) for name, p in exps.items()}
    assert lb.significance(calls["sharper"]["roc_auc"]) == "better"
    assert lb.significance(calls["jitter"]["roc_auc"]) == "noise"
    assert lb.significance(calls["blurred"]["roc_auc"]) == "worse"
    # lower is better for a loss: the sharper model's log loss delta is negative and still "better"
    assert calls["sharper"]["log_loss"].delta < 0
    assert lb.significance(calls["sharper"]["log_loss"]) == "better"


def test_intervals_widen_with_the_number_of_comparisons() -> None:
    y, current, exps = known()
    one = lb.compare(y, current, exps["jitter"], 0.5, BS, 1, 200)["roc_auc"]
    ten = lb.compare(y, current, exps["jitter"], 0.5, BS, 10, 200)["roc_auc"]
    assert ten.high - ten.low > one.high - one.low
    assert lb.adjusted_confidence(0.95, 10) == pytest.approx(0.995)


def test_markdown_names_the_best_real_improvement_that_passes_its_checks_and_the_gate() -> None:
    y, current, exps = known()
    rows = [lb.Row(n, f"rev{i}", {"train.model.learning_rate": 0.05 * (i + 1)}, "pass",
                   lb.compare(y, current, p, 0.5, BS, 5, 200)) for i, (n, p) in enumerate(exps.items())]  # fmt: skip
    board = lb.Board(rows, "roc_auc", 0.95, 5, "commit abc1234", {"roc_auc": 0.005})
    md = lb.markdown(board, ["log_loss"])
    assert "| 1 | `sharper` |" in md
    assert "**better**" in md
    assert "**worse**" in md
    assert "`make promote EXP=sharper`" in md
    assert "99.00%" in md  # 95% over the 5 finished experiments the rows were picked from, not the 3 shown
    assert lb.to_dict(board)["best"] == "sharper"
    failing = [lb.Row(r.name, r.rev, r.changes, "fail" if r.name == "sharper" else r.gate, r.deltas) for r in rows]
    assert lb.Board(failing, "roc_auc", 0.95, 5, "c").best() is None
    held = lb.markdown(lb.Board(failing, "roc_auc", 0.95, 5, "c"), [])
    assert "improve roc_auc beyond noise but fail their checks" in held
    assert "(`sharper`): nothing to promote" in held
    noise_only = [r for r in rows if r.name == "jitter"]
    assert "keep the current model" in lb.markdown(lb.Board(noise_only, "roc_auc", 0.95, 5, "c"), [])
    # better on roc_auc but worse than the gate tolerates on another metric: its pull request would be blocked
    strict = lb.Board(rows, "roc_auc", 0.95, 5, "c", {"roc_auc": 0.005, "accuracy": -1.0})
    assert strict.best() is None
    assert "beyond the gate's tolerance" in lb.markdown(strict, [])


def test_significance_follows_the_metric_direction() -> None:
    def ci(metric: str, low: float, high: float) -> DeltaCI:
        return DeltaCI(metric, 0.5, 0.5, (low + high) / 2, low, high, True)

    assert lb.significance(ci("roc_auc", 0.001, 0.01)) == "better"
    assert lb.significance(ci("log_loss", 0.001, 0.01)) == "worse"
    assert lb.significance(ci("log_loss", -0.01, -0.001)) == "better"
    assert lb.significance(ci("roc_auc", -0.01, 0.001)) == "noise"


def test_changed_params_lists_every_param_that_differs() -> None:
    current = {"train.model.learning_rate": 0.1, "train.model.max_iter": 100, "evaluate.threshold": 0.5}
    exp = {"train.model.learning_rate": 0.05, "train.model.max_iter": 100, "evaluate.threshold": 0.4}
    assert lb.changed_params(exp, current) == {"train.model.learning_rate": 0.05, "evaluate.threshold": 0.4}
