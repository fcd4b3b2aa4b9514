"""``dvc repro`` end to end in throw-away repositories: the real DVC, git and stage commands.

One repository gets a small sample of the example data and walks the user's journey:
cold run, no-op rerun, gate against main, a regressing change blocked by the gate, and
corrupted data stopped by validation without touching the model. Another swaps in a
differently shaped dataset with only a new contract and params: no Python edited.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import yaml

from mlpipe.io.files import sha256_file
from tests.repos import ROOT, make_repo, run

pytestmark = pytest.mark.integration


def outputs(repo: Path) -> list[Path]:
    paths = yaml.safe_load((repo / "dvc.yaml").read_text())["vars"][0]["paths"]
    skip = {"data", "params", "contract", "gate_json", "gate_md", "report", "prediction_log", "smoke", "monitor"}
    return [repo / v for k, v in paths.items() if k not in skip]


def test_example_pipeline_journey(tmp_path: Path, raw: pd.DataFrame) -> None:
    sample = raw.groupby("year", group_keys=False).sample(n=1500, random_state=0)
    params = yaml.safe_load((ROOT / "params.yaml").read_text())
    params["gate"]["minimums"], params["gate"]["maximums"] = {}, {}  # a 3,000-row sample is not the real bar
    params["gate"]["max_slice_gap"] = {}
    params["gate"]["bootstrap"]["n_resamples"] = 50
    contract = yaml.safe_load((ROOT / "contract.yaml").read_text())
    repo = make_repo(tmp_path, sample, params, contract, by="year")

    # 1. cold run: every output exists, the lock is consistent, and a rerun does nothing
    run(repo, "dvc", "repro")
    missing = [str(p) for p in outputs(repo) if not p.exists()]
    assert not missing, missing
    assert "up to date" in run(repo, "dvc", "status").stdout
    assert "Running stage" not in run(repo, "dvc", "repro").stdout
    metrics = json.loads((repo / "reports/metrics.json").read_text())
    assert metrics["model"]["roc_auc"] > metrics["baseline"]["roc_auc"] - 0.05 > 0.5
    assert "| roc_auc |" in (repo / "reports/model_card.md").read_text()

    # 2. the gate against main: the same model is its own reference and passes
    run(repo, "git", "add", "-A")
    run(repo, "git", "commit", "-qm", "first model")
    run(repo, sys.executable, "-m", "mlpipe.tasks.gate", "--base", "main")
    assert json.loads((repo / "reports/gate.json").read_text())["passed"] is True

    # 3. a change that makes the model worse is blocked, with the reason named
    run(repo, "git", "checkout", "-qb", "worse")
    params["train"]["model"].update(max_iter=1, learning_rate=0.01)
    (repo / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    ran = run(repo, "dvc", "repro").stdout
    assert "Running stage 'train'" in ran
    assert "Running stage 'validate'" not in ran
    blocked = run(repo, sys.executable, "-m", "mlpipe.tasks.gate", "--base", "main", check=False)
    assert blocked.returncode == 1, blocked.stderr
    verdict = json.loads((repo / "reports/gate.json").read_text())
    failed = [c["name"] for c in verdict["checks"] if not c["passed"]]
    assert "reference:log_loss" in failed, verdict
    assert verdict["deltas"]["log_loss"]["paired"] is True
    assert "gate blocked the candidate" in blocked.stderr

    # 4. corrupted data: validate fails naming the expectation; the model is left in place
    model_sha = sha256_file(repo / "models/model.skops")
    bad = pd.read_csv(repo / "data/part_2016.csv")
    bad.loc[:4, "SCHL"] = 99
    bad.to_csv(repo / "data/part_2016.csv", index=False, lineterminator="\n")
    failed_run = run(repo, "dvc", "repro", check=False)
    assert failed_run.returncode != 0
    assert "expect_column_values_to_be_in_set on column 'SCHL'" in failed_run.stderr + failed_run.stdout
    assert sha256_file(repo / "models/model.skops") == model_sha
    assert "❌ failed" in (repo / "reports/validation.md").read_text()


def breast_cancer_dataset() -> tuple[pd.DataFrame, dict[str, Any]]:
    """A second, differently shaped dataset: 30 float features, a coded sensitive column, 3 batches."""
    from sklearn.datasets import load_breast_cancer

    bunch = load_breast_cancer(as_frame=True)
    df = bunch.frame.rename(columns=lambda c: c.replace(" ", "_"))
    features = [c for c in df.columns if c != "target"]
    df.insert(0, "patient", range(1000, 1000 + len(df)))
    df["batch"] = [1 + i * 3 // len(df) for i in range(len(df))]
    df["clinic"] = (df["patient"] * 7919 % 3 == 0).astype(int) + 1
    df["malignant"] = (df.pop("target") == 0).astype(int)
    columns: dict[str, Any] = {
        "patient": {"dtype": "int", "min": 0},
        **{f: {"dtype": "float", "min": 0} for f in features},
        "batch": {"dtype": "int", "min": 1, "max": 3},
        "clinic": {"dtype": "int", "labels": {1: "North", 2: "South"}},
        "malignant": {"dtype": "int", "allowed": [0, 1]},
    }
    contract = {
        "name": "breast_cancer_wisconsin",
        "id": "patient",
        "target": "malignant",
        "time": "batch",
        "min_rows": 100,
        "features": [*features, "clinic"],
        "sensitive": {"clinic": {}},
        "columns": columns,
    }
    return df, contract


def test_swapping_the_dataset_needs_only_config(tmp_path: Path) -> None:
    df, contract = breast_cancer_dataset()
    params = yaml.safe_load((ROOT / "params.yaml").read_text())
    del params["example_data"]
    params["train"]["model"] = {"kind": "hist_gradient_boosting", "max_iter": 50}
    params["train"]["baseline"] = {"kind": "prior"}
    params["evaluate"].update(min_slice_size=20, importance_rows=100)
    params["gate"].update(max_slice_gap={"clinic": 0.2}, minimums={"roc_auc": 0.9}, maximums={})
    repo = make_repo(tmp_path, df, params, contract, by="batch")
    run(repo, "dvc", "repro")
    metrics = json.loads((repo / "reports/metrics.json").read_text())
    assert metrics["model"]["roc_auc"] > 0.9
    assert metrics["test"]["rows"] == (df["batch"] == 3).sum()
    slices = json.loads((repo / "reports/slices.json").read_text())
    assert set(slices["attributes"]["clinic"]["groups"]) == {"North", "South"}
    importance = json.loads((repo / "reports/plots/importance.json").read_text())
    assert {r["feature"] for r in importance} == set(contract["features"])
    run(repo, sys.executable, "-m", "mlpipe.tasks.gate", "--base", "main")
    # ... and the service follows: its API is the new contract's, with no code edited
    from fastapi.testclient import TestClient

    from mlpipe.io.files import load_config
    from mlpipe.serving.app import Settings, create_app

    p, c = load_config(repo / "params.yaml", repo / "contract.yaml")
    with TestClient(create_app(Settings(p, c, Path("models/model.json"), root=repo, prediction_log=None))) as client:
        record = {f: float(df[f].iloc[0]) for f in contract["features"] if f != "clinic"} | {"clinic": 1}
        assert client.post("/predict", json=record).status_code == 200
        assert client.post("/predict", json={**record, "clinic": 3}).status_code == 422
        schema = client.get("/openapi.json").json()["components"]["schemas"]["Record"]
        assert set(schema["required"]) == set(contract["features"])
