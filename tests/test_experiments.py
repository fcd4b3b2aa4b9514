"""Experiments for real in a temporary repository: a queue of three ``dvc exp run``s, ``dvc exp show``
parsed, the search and its experiments, the leaderboard, and promotion to a branch whose lock is current."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from mlpipe.io.experiments import run_queue, show
from mlpipe.io.pipeline import PipelinePaths
from mlpipe.tasks.leaderboard import evaluate_metrics_file
from tests.repos import run
from tests.servers import copy_trained

pytestmark = pytest.mark.integration
RATES = {"slow-lr": 0.03, "mid-lr": 0.15, "fast-lr": 0.5}


@pytest.fixture
def committed(tmp_path: Path, trained: Path, paths: PipelinePaths) -> tuple[Path, dict[str, Any]]:
    """A copy of the run's trained repository (synthetic rows, reproduced), committed."""
    repo = copy_trained(trained, tmp_path / "repo")
    params = yaml.safe_load((repo / paths.params).read_text())
    run(repo, "git", "add", "-A")
    run(repo, "git", "commit", "-qm", "first model")
    return repo, params


@pytest.mark.slow  # ~75 s on 2 cores: the default suite stays under CI's budget; `make test-all` runs it
def test_queue_show_leaderboard_and_promote(committed: tuple[Path, dict[str, Any]], paths: PipelinePaths) -> None:
    repo, params = committed
    at = paths.under(repo)

    # 1. a real queue of three experiments, run by `dvc queue start`, listed by `dvc exp show --json`
    for name, rate in RATES.items():
        run(repo, "dvc", "exp", "run", "--queue", "--name", name, "--set-param", f"train.model.learning_rate={rate}")
    metrics_file = evaluate_metrics_file(paths)
    listing = run_queue(list(RATES), paths.params.as_posix(), metrics_file, timeout_s=900, cwd=repo, jobs=2)
    raw = json.loads(run(repo, "dvc", "exp", "show", "--json").stdout)
    assert {e["name"] for row in raw[1:] for e in row.get("experiments") or []} >= set(RATES)
    exps = {e.name: e for e in listing.experiments}
    for name, rate in RATES.items():
        exp = exps[name]
        assert exp.state == "success", exp
        assert exp.params["train.model.learning_rate"] == rate
        assert 0.5 < exp.metrics["model.roc_auc"] <= 1
        assert exp.metrics["verdict.passed"] in ("pass", "fail")
        assert exp.metrics["verdict.baseline"] in ("pass", "fail")
    assert len({exps[n].metrics["model.roc_auc"] for n in RATES}) == 3  # three different models
    assert listing.baseline_params["train.model.learning_rate"] == params["train"]["model"]["learning_rate"]
    curve = at.live / "train" / "plots" / "metrics" / "training_loss.tsv"
    steps = curve.read_text().splitlines()
    assert steps[0].split("\t") == ["step", "training_loss"]
    assert len(steps) - 1 == params["train"]["model"]["max_iter"]

    # 3. the leaderboard: every experiment against the current model, with a call per delta
    run(repo, sys.executable, "-m", "mlpipe.tasks.leaderboard")
    board = json.loads(at.leaderboard_json.read_text())
    names = [r["name"] for r in board["rows"]]
    assert set(RATES) <= set(names)
    for r in board["rows"]:
        assert r["deltas"]["roc_auc"]["paired"] is True
        assert r["deltas"]["roc_auc"]["call"] in ("better", "worse", "noise")
    assert "Experiment leaderboard" in at.leaderboard_md.read_text()

    # 4. promotion: a branch with one commit, its dvc.lock current for its params and code
    refused = run(repo, sys.executable, "-m", "mlpipe.tasks.promote", "--exp", "no-such-exp", check=False)
    assert refused.returncode == 1
    assert "no experiment 'no-such-exp'" in refused.stderr
    run(repo, sys.executable, "-m", "mlpipe.tasks.promote", "--exp", "fast-lr")
    assert run(repo, "git", "rev-parse", "--abbrev-ref", "HEAD").stdout.strip() == "exp/fast-lr"
    assert run(repo, "git", "diff", "--name-only", "HEAD").stdout == ""  # untracked leaderboard files stay out
    assert yaml.safe_load(at.params.read_text())["train"]["model"]["learning_rate"] == RATES["fast-lr"]
    assert "Promote experiment fast-lr" in run(repo, "git", "log", "-1", "--format=%B").stdout
    changed = run(repo, "git", "diff", "--name-only", "HEAD~1", "HEAD").stdout.split()
    assert {"params.yaml", "dvc.lock", "tests/golden/predictions.csv"} <= set(changed)
    assert not {"reports/leaderboard.md", "reports/leaderboard.json"} & set(changed)
    lock = subprocess.run([sys.executable, "-m", "mlpipe.tasks.lockcheck"], cwd=repo, capture_output=True, text=True,
                          check=False)  # fmt: skip
    assert lock.returncode == 0, lock.stderr


@pytest.mark.slow
def test_make_tune_runs_the_best_candidates_as_experiments_and_promotes_with_the_search_record(
    committed: tuple[Path, dict[str, Any]], paths: PipelinePaths
) -> None:
    repo, params = committed
    at = paths.under(repo)
    metrics_file = evaluate_metrics_file(paths)
    # make tune: the search on the training split, its best candidates queued and run as experiments
    run(repo, "dvc", "repro", "tune/dvc.yaml")
    record = json.loads(at.tune.read_text())
    assert len(record["candidates"]) == params["tune"]["candidates"]
    run(repo, sys.executable, "-m", "mlpipe.tasks.tune")
    tuned = [e for e in show(paths.params.as_posix(), metrics_file, repo).experiments if e.name.startswith("tune-")]
    expected = [i for i in record["top"] if i != 0]
    assert len(tuned) == len(expected)
    assert all(e.state == "success" for e in tuned)
    again = run(repo, sys.executable, "-m", "mlpipe.tasks.tune")  # the same search: nothing queued twice
    assert "not queued again" in again.stderr or not expected

    best = next(e.name for e in tuned)
    run(repo, sys.executable, "-m", "mlpipe.tasks.promote", "--exp", best)
    changed = run(repo, "git", "diff", "--name-only", "HEAD~1", "HEAD").stdout.split()
    assert {"params.yaml", "dvc.lock"} <= set(changed)
