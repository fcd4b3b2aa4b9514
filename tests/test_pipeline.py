"""``dvc repro`` end to end in throw-away repositories: the real DVC, git and stage commands.

A copy of the run's trained repository (rows synthesised from this repository's contract; the
suite's one cold run, tests/servers.py) walks the user's journey: no-op rerun, gate against main,
a regressing change blocked by the gate, and corrupted data stopped by validation without touching
the model. Two more swap in datasets shaped unlike it and unlike each other (tests/datasets.py)
with only a new contract and params, each with a cold run of its own.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pandas as pd
import pytest
import yaml

from mlpipe.config import Contract, parse_contract
from mlpipe.core.synth import synthesise, target_labels
from mlpipe.io.files import sha256_file
from mlpipe.io.pipeline import PipelinePaths
from tests.datasets import OTHER_DATASETS, coded_feature, params_for, unknown_value
from tests.repos import ROOT, invoke, make_repo, run
from tests.servers import copy_trained

pytestmark = pytest.mark.integration


def outputs(at: PipelinePaths) -> list[Path]:
    """What ``dvc repro`` writes: every path but the inputs and what later tasks write."""
    skip = {"data", "params", "contract", "gate_json", "gate_md", "report", "prediction_log", "smoke", "monitor",
            "tune", "leaderboard_json", "leaderboard_md"}  # fmt: skip
    return [at.get(k) for k in PipelinePaths.model_fields if k not in skip]


def test_pipeline_journey(tmp_path: Path, trained: Path, synth_contract: Contract, paths: PipelinePaths) -> None:
    repo = copy_trained(trained, tmp_path / "repo")
    at = paths.under(repo)
    params = yaml.safe_load(at.params.read_text())

    # 1. after the cold run (the trained fixture's): every output exists, the lock is consistent,
    # and a rerun does nothing
    missing = [str(p) for p in outputs(at) if not p.exists()]
    assert not missing, missing
    assert "up to date" in run(repo, "dvc", "status", "dvc.yaml").stdout  # (tune/dvc.yaml runs on demand)
    assert "Running stage" not in run(repo, "dvc", "repro").stdout
    metrics = json.loads(at.metrics.read_text())
    assert metrics["model"]["roc_auc"] > 0.6  # the synthetic rows carry a learnable signal
    assert "| roc_auc |" in at.model_card.read_text()

    # 2. the gate against main: the same model is its own reference and passes
    run(repo, "git", "add", "-A")
    run(repo, "git", "commit", "-qm", "first model")
    run(repo, sys.executable, "-m", "mlpipe.tasks.gate", "--base", "main")
    assert json.loads(at.gate_json.read_text())["passed"] is True

    # 3. a change that makes the model worse is blocked, with the reason named
    run(repo, "git", "checkout", "-qb", "worse")
    params["train"]["model"] = {"kind": "prior"}
    at.params.write_text(yaml.safe_dump(params, sort_keys=False))
    ran = run(repo, "dvc", "repro")
    assert "Running stage 'train'" in ran.stdout
    assert "Running stage 'validate'" not in ran.stdout
    if params["gate"]["must_beat_baseline"]:  # the prior cannot beat a baseline: said by dvc repro already
        assert "(params.yaml gate) would block this model" in ran.stderr + ran.stdout
        assert "must beat the baseline" in ran.stderr + ran.stdout
    blocked = run(repo, sys.executable, "-m", "mlpipe.tasks.gate", "--base", "main", check=False)
    assert blocked.returncode == 1, blocked.stderr
    verdict = json.loads(at.gate_json.read_text())
    failed = [c["name"] for c in verdict["checks"] if not c["passed"]]
    assert "reference:roc_auc" in failed, verdict
    assert verdict["deltas"]["roc_auc"]["paired"] is True
    assert "gate blocked the candidate" in blocked.stderr

    # 4. corrupted data: validate fails naming the expectation and file; the model is left in place
    model_sha = sha256_file(at.model)
    victim = sorted(at.data.iterdir())[-1]
    coded, values = coded_feature(synth_contract)
    bad = pd.read_csv(victim, dtype=str, keep_default_na=False)
    bad.loc[:4, coded] = str(unknown_value(values))
    bad.to_csv(victim, index=False, lineterminator="\n")
    failed_run = run(repo, "dvc", "repro", check=False)
    assert failed_run.returncode != 0
    said = failed_run.stderr + failed_run.stdout
    assert f"expect_column_values_to_be_in_set on column '{coded}' in {victim.name}" in said
    assert sha256_file(at.model) == model_sha
    assert "❌ failed" in at.validation_md.read_text()


@pytest.mark.parametrize("dataset", sorted(OTHER_DATASETS))
def test_another_dataset_needs_only_config(dataset: str, tmp_path: Path, paths: PipelinePaths) -> None:
    """A differently shaped dataset end to end with a new contract and params: no Python edited.

    Pipeline, gate, report, the generated API, batch scoring and the monitor all follow the contract.
    """
    spec, fmt = OTHER_DATASETS[dataset]
    contract = parse_contract(spec)
    params = params_for(yaml.safe_load((ROOT / paths.params).read_text()), spec)
    df = synthesise(contract, 3000, seed=0, periods=4)
    repo = make_repo(tmp_path, df, params, spec, fmt=fmt)
    at = paths.under(repo)
    assert {p.suffix for p in at.data.iterdir()} == {f".{fmt}"}
    run(repo, "dvc", "repro")
    metrics = json.loads(at.metrics.read_text())
    assert metrics["model"]["roc_auc"] > 0.65
    split = json.loads(at.split.read_text())
    assert split["strategy"].startswith(params["split"]["strategy"])
    slices = json.loads(at.slices.read_text())
    assert set(slices["attributes"]) == set(contract.sensitive)
    importance = json.loads((at.plots / "importance.json").read_text())
    assert {r["feature"] for r in importance} == set(contract.features)
    run(repo, "git", "add", "-A")
    run(repo, "git", "commit", "-qm", "model")
    # the tasks in this process (the journey above and the loop run them as commands)
    assert invoke("mlpipe.tasks.gate", "--base", "main", cwd=repo).returncode == 0
    deltas = json.loads(at.gate_json.read_text())["deltas"]
    assert deltas
    assert all(d["paired"] for d in deltas.values()), "main's model re-scored, not its committed figures"
    assert invoke("mlpipe.tasks.report", "--base", "main", cwd=repo).returncode == 0
    assert "### Metrics" in at.report.read_text()

    # the service: its API is the new contract's, with no code edited
    from fastapi.testclient import TestClient

    from mlpipe.core.validation import plain
    from mlpipe.io.files import load_config
    from mlpipe.serving.app import create_app
    from mlpipe.serving.settings import Settings

    p, c = load_config(at.params, at.contract)
    rows = df.head(20)
    records = [{f: plain(r[f]) for f in c.features} for _, r in rows.iterrows()]
    with TestClient(create_app(Settings(p, c, paths.card, root=repo, prediction_log=None))) as client:
        answers = client.post("/predict/batch", json={"records": records})
        assert answers.status_code == 200, answers.text
        assert {a["prediction"] for a in answers.json()["predictions"]} <= set(target_labels(c))
        coded, values = coded_feature(c)
        assert client.post("/predict", json={**records[0], coded: unknown_value(values)}).status_code == 422
        schema = client.get("/openapi.json").json()["components"]["schemas"]["Record"]
        assert set(schema["required"]) == set(contract.features)

    # batch scoring: the same probabilities as the service, from a file of the data's format
    src = repo / f"new.{fmt}"
    rows.to_parquet(src) if fmt == "parquet" else rows.to_csv(src, index=False)
    assert invoke("mlpipe.tasks.score", str(src), "scored.csv", "--no-progress", cwd=repo).returncode == 0
    scored = pd.read_csv(repo / "scored.csv")
    assert scored["probability"].tolist() == [a["probability"] for a in answers.json()["predictions"]]

    # the monitor, on new rows of the same population
    window = synthesise(contract, 1500, seed=9, periods=4, first_id=10**7)
    window.to_parquet(repo / "window.parquet")
    assert invoke("mlpipe.tasks.monitor", "--window", "window.parquet", cwd=repo).returncode == 0
    report = json.loads((at.monitor / "monitor.json").read_text())
    assert report["window"]["rows"] == 1500
    assert report["quality"]["failed"] == 0, [ch for ch in report["quality"]["checks"] if not ch["success"]]
    assert report["verdict"]["alert"] is False, report["verdict"]
