"""The leaderboard task's pure helpers: the verdict text and the ranking of finished experiments."""

from __future__ import annotations

import pytest

from mlpipe.io.experiments import Experiment
from mlpipe.tasks.leaderboard import ranked, verdict_text

pytestmark = pytest.mark.unit


def test_the_verdict_names_the_failed_checks() -> None:
    ok = {"verdict.passed": "pass", "verdict.bounds": "pass", "verdict.baseline": "pass", "verdict.slices": "n/a"}
    assert verdict_text(ok) == "pass"
    assert verdict_text(ok | {"verdict.passed": "fail", "verdict.baseline": "fail"}) == "fail (baseline)"
    assert verdict_text({}) == "n/a"


def test_only_finished_experiments_with_the_metric_are_ranked_best_first() -> None:
    def exp(name: str, state: str, value: object) -> Experiment:
        return Experiment(name, name, state, metrics={} if value is None else {"model.log_loss": value})

    exps = [exp("a", "success", 0.40), exp("b", "success", 0.35), exp("c", "failed", 0.1), exp("d", "running", None),
            exp("e", "success", "nan")]  # fmt: skip
    assert [e.name for e in ranked(exps, "log_loss")] == ["b", "a"]  # lower loss first; no failed, running or text
