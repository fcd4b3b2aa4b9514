"""The retraining loop, locally: new data arrives -> validate -> retrain -> gate -> report.

What the workflows add around it (the PR with the CML comment, deploy on merge) is covered by
tests/test_workflows.py and the deploy tests; here every step runs for real in a temporary repo
(`dvc repro` as a command; monitor, gate and report in this process, whose wiring as commands the
user's journey in tests/test_pipeline.py runs).
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
import yaml

from mlpipe.config import Contract
from mlpipe.core.synth import synthesise
from mlpipe.io.pipeline import PipelinePaths
from tests.repos import invoke, run
from tests.servers import copy_trained

pytestmark = pytest.mark.integration


def test_new_data_validate_retrain_gate_report(
    tmp_path: Path, trained: Path, sample: pd.DataFrame, synth_contract: Contract, paths: PipelinePaths
) -> None:
    c = synth_contract
    new = synthesise(c, 1200, seed=3, first_id=10**6)  # the same population; ids after the old rows', text or integer
    if c.time is not None:  # labels arrive late: more rows of a training period (the test period stays frozen)
        oldest = sample[c.time].min()
        new[c.time] = oldest
    repo = copy_trained(trained, tmp_path / "repo")  # the old data, trained (the suite's one cold run)
    at = paths.under(repo)
    base_params = yaml.safe_load(at.params.read_text())
    run(repo, "git", "add", "-A")
    run(repo, "git", "commit", "-qm", "first model")
    base_model = json.loads(at.card.read_text())["model"]["sha256"]
    base_test = json.loads(at.split.read_text())["test_sha256"]

    # 1. new data arrives: a new file under data/, `dvc add`, a params change beside it
    run(repo, "git", "switch", "-q", "-c", "retrain/new-data")
    new.to_csv(at.data / "part_new.csv", index=False, lineterminator="\n")
    base_params["evaluate"]["importance_repeats"] = 2
    at.params.write_text(yaml.safe_dump(base_params, sort_keys=False))
    run(repo, "dvc", "add", "-q", paths.data.as_posix())

    # 2. the monitor sees the new file against the current model
    assert (
        invoke("mlpipe.tasks.monitor", "--window", (paths.data / "part_new.csv").as_posix(), cwd=repo).returncode == 0
    )
    monitor = json.loads((at.monitor / "monitor.json").read_text())
    assert monitor["window"]["rows"] == len(new)
    assert monitor["verdict"]["judged"] is True

    # 3. validate -> retrain -> evaluate: only what the new data touches reruns
    out = run(repo, "dvc", "repro").stdout
    for stage in ("validate", "prepare", "train", "evaluate"):
        assert f"Running stage '{stage}'" in out
    validation = json.loads(at.validation_json.read_text())
    assert validation["success"] is True
    assert validation["profile"]["files"]["part_new.csv"] == len(new)
    card = json.loads(at.card.read_text())
    assert card["model"]["sha256"] != base_model
    assert "up to date" in run(repo, "dvc", "status", "dvc.yaml").stdout  # (tune/dvc.yaml runs on demand)

    # 4. the gate against main, and the report the PR comment would carry
    gate = invoke("mlpipe.tasks.gate", "--base", "main", cwd=repo)
    verdict = json.loads(at.gate_json.read_text())
    assert gate.returncode == (0 if verdict["passed"] else 1)
    assert invoke("mlpipe.tasks.report", "--base", "main", cwd=repo).returncode == 0
    report = at.report.read_text()
    assert "vs `main`" in report
    assert "### Data changes" in report
    assert "part_new.csv" in report
    assert "### Metrics" in report
    assert "evaluate.importance_repeats" in report
    assert report.count("```mermaid") == 4, "the charts are in the comment itself"
    assert report.count("\nxychart-beta\n") == 3, "ROC, precision-recall, calibration"
    assert report.count("\nxychart-beta horizontal\n") == 1, "importance"
    assert '  line "main" [' in report, "main's committed curves, drawn beside this PR's"
    assert "No plots on `main`" not in report
    if c.time is not None and base_params["split"]["strategy"] == "temporal":  # trains on the new rows, tests on
        # the same newest period (a stratified split, which params.yaml may choose even with a time column, mixes)
        assert not pd.read_parquet(at.predictions)[c.id].isin(new[c.id]).any()
        assert json.loads(at.split.read_text())["test_sha256"] == base_test
