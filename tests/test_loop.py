"""The retraining loop, locally: a new year of data arrives -> validate -> retrain -> gate -> report.

What the workflows add around it (the PR with the CML comment, deploy on merge) is covered by
tests/test_workflows.py and the deploy tests; here every step runs for real in a temporary repo.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pandas as pd
import pytest
import yaml

from mlpipe.io.example_data import WHEEL_CACHE, load_all_years
from tests.repos import ROOT, make_repo, run

pytestmark = pytest.mark.integration


def test_new_year_validate_retrain_gate_report(tmp_path: Path) -> None:
    wheel = next((ROOT / WHEEL_CACHE).glob("nannyml-*.whl"), None)
    if wheel is None:
        pytest.fail(f"the example wheel is not in {WHEEL_CACHE}: run `make data`")
    years = load_all_years(wheel)
    sample = years.groupby("year", group_keys=False).sample(n=1200, random_state=2)
    params = yaml.safe_load((ROOT / "params.yaml").read_text())
    params["example_data"]["years"] = [2015, 2016]
    params["gate"].update(minimums={}, maximums={}, max_slice_gap={})
    params["gate"]["bootstrap"]["n_resamples"] = 30
    contract = yaml.safe_load((ROOT / "contract.yaml").read_text())
    repo = make_repo(tmp_path, sample[sample["year"] <= 2016], params, contract, by="year")
    run(repo, "dvc", "repro")
    run(repo, "git", "add", "-A")
    run(repo, "git", "commit", "-qm", "model on 2015-2016")
    base_model = json.loads((repo / "models/model.json").read_text())["model"]["sha256"]

    # 1. a new year arrives (what `make add-year` does: a new file under data/, data.dvc and params updated)
    run(repo, "git", "switch", "-q", "-c", "retrain/2017")
    sample[sample["year"] == 2017].to_csv(repo / "data/part_2017.csv", index=False, lineterminator="\n")
    params["example_data"]["years"] = [2015, 2016, 2017]
    (repo / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    run(repo, "dvc", "add", "-q", "data")

    # 2. the monitor sees the new year against the current model (mild drift, no alert)
    run(repo, sys.executable, "-m", "mlpipe.tasks.monitor", "--window", "data/part_2017.csv")
    monitor = json.loads((repo / "reports/monitor/monitor.json").read_text())
    assert monitor["window"]["rows"] == 1200
    assert monitor["verdict"]["judged"] is True

    # 3. validate -> retrain -> evaluate: only what the new data touches reruns
    out = run(repo, "dvc", "repro").stdout
    for stage in ("validate", "prepare", "split", "train", "evaluate"):
        assert f"Running stage '{stage}'" in out
    validation = json.loads((repo / "reports/validation.json").read_text())
    assert validation["success"] is True
    assert validation["profile"]["files"]["part_2017.csv"] == 1200
    card = json.loads((repo / "models/model.json").read_text())
    assert card["model"]["sha256"] != base_model
    assert "2017" in card["split"]
    assert "up to date" in run(repo, "dvc", "status").stdout

    # 4. the gate against main, and the report the PR comment would carry
    gate = run(repo, sys.executable, "-m", "mlpipe.tasks.gate", "--base", "main", check=False)
    verdict = json.loads((repo / "reports/gate.json").read_text())
    assert gate.returncode == (0 if verdict["passed"] else 1)
    run(repo, sys.executable, "-m", "mlpipe.tasks.report", "--base", "main")
    report = (repo / "reports/report.md").read_text()
    assert "vs `main`" in report
    assert "### Data changes" in report
    assert "part_2017.csv" in report
    assert "### Metrics" in report
    assert "### Params" in report
    assert "years" in report
    assert (
        pd.read_parquet(repo / "artifacts/predictions.parquet")["id"].isin(sample[sample["year"] == 2017]["id"]).all()
    )
