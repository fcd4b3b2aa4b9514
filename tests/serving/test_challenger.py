"""Champion / challenger over a real socket: shadow (challenger scores everything, answers nothing)
and canary (a sticky share of requests answered by the challenger); the monitor compares the two.

The challenger here is the pipeline's own baseline (logistic regression), so every answer can be
checked against what the evaluate stage computed for it.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import httpx
import pytest
import yaml

from mlpipe.io.pipeline import child_env
from mlpipe.io.predlog import read_prediction_log
from tests.servers import Served, start_server, stop_server, wait_bound

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def challenger_card(served: Served) -> Path:
    card = json.loads(served.paths.card.read_text())
    path = served.paths.card.with_name("challenger.json")  # next to the champion's
    path.write_text(json.dumps({**card, "model": card["baseline"]}))
    return path


@pytest.fixture(scope="module")
def baseline(served: Served) -> dict[int, float]:
    import pandas as pd

    df = pd.read_parquet(served.paths.predictions)
    return dict(zip(df[served.contract.id], df["baseline"], strict=True))


def versions(served: Served) -> tuple[str, str]:
    card = json.loads(served.paths.card.read_text())
    return card["model"]["sha256"][:12], card["baseline"]["sha256"][:12]


def wait_for_log(log_dir: Path, rows: int) -> None:
    deadline = time.monotonic() + wait_bound()
    while time.monotonic() < deadline:
        if log_dir.is_dir() and len(read_prediction_log(log_dir)) >= rows:
            return
        time.sleep(0.1)


def test_shadow(served: Served, challenger_card: Path, baseline: dict[int, float], tmp_path: Path) -> None:
    champion, challenger = versions(served)
    s = start_server(served.repo, tmp_path / "log", "--challenger-card", str(challenger_card))
    try:
        records = [served.record(i) for i in range(20)]
        with httpx.Client(base_url=s.url, timeout=30) as c:
            answers = [c.post("/predict", json=r).json() for r in records]
            version = c.get("/version").json()
            metrics = c.get("/metrics").text
        assert {a["model_version"] for a in answers} == {champion}  # only the champion answers
        assert [a["probability"] for a in answers] == [served.trained[r[served.contract.id]] for r in records]
        assert version["challenger"]["mode"] == "shadow"
        assert version["challenger"]["model_version"] == challenger
        wait_for_log(tmp_path / "log", 40)
        logged = read_prediction_log(tmp_path / "log")
        shadow = logged[logged["role"] == "challenger"]
        assert len(shadow) == 20
        assert set(shadow["request_id"]) == {a["request_id"] for a in answers}  # the same requests
        assert shadow["probability"].tolist() == [baseline[i] for i in shadow["id"]]  # bit for bit
        assert f'mlpipe_predictions_total{{model="{challenger}",prediction=' in metrics
        assert (
            f'mlpipe_model_info{{data_sha256="{served.card["data_sha256"]}",model="{challenger}",role="challenger"}}'
            in metrics
        )
    finally:
        stop_server(s)
    # the monitor compares the two on the logged traffic
    cmd = [sys.executable, "-m", "mlpipe.tasks.monitor", "--window", str(tmp_path / "log")]
    subprocess.run(cmd, cwd=served.repo, env=child_env(served.repo), check=True, capture_output=True)
    report = json.loads((served.paths.monitor / "monitor.json").read_text())
    cc = report["challenger"]
    assert cc["paired"] == 20
    by_role = {role: rows.set_index("request_id") for role, rows in logged.groupby("role")}
    same = by_role["champion"]["prediction"] == by_role["challenger"]["prediction"].reindex(by_role["champion"].index)
    assert cc["agreement"] == pytest.approx(float(same.mean()))  # whatever baseline params.yaml names (prior too)
    diff = (by_role["champion"]["probability"] - by_role["challenger"]["probability"]).abs().mean()
    assert cc["mean_abs_diff"] == pytest.approx(float(diff))
    assert "## Champion vs challenger" in (served.paths.monitor / "monitor.md").read_text()


def test_canary_is_sticky_and_splits_traffic(
    served: Served, challenger_card: Path, baseline: dict[int, float], tmp_path: Path
) -> None:
    champion, challenger = versions(served)
    params = yaml.safe_load((served.paths.params).read_text())
    params["serve"]["challenger"] = {"mode": "canary", "fraction": 0.5}
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(params))
    s = start_server(
        served.repo, tmp_path / "log", "--challenger-card", str(challenger_card),
        env={"MLPIPE_PARAMS": str(tmp_path / "params.yaml")},
    )  # fmt: skip
    try:
        records = [served.record(i) for i in range(200)]
        with httpx.Client(base_url=s.url, timeout=30) as c:
            answers = [c.post("/predict", json=r).json() for r in records]
            again = [c.post("/predict", json=r).json()["model_version"] for r in records[:30]]
            keyed = {c.post("/predict", json=r, headers={"X-Canary-Key": "user-42"}).json()["model_version"]
                     for r in records[:15]}  # fmt: skip
            batch = c.post("/predict/batch", json={"records": records[:5]}, headers={"X-Canary-Key": "user-42"})
        split = Counter(a["model_version"] for a in answers)
        assert set(split) == {champion, challenger}
        assert 60 <= split[challenger] <= 140  # about half
        for r, a in zip(records, answers, strict=True):
            key = r[served.contract.id]
            if a["model_version"] == champion:
                assert a["probability"] == served.trained[key]  # bit for bit, whatever the model kind
            else:
                assert a["probability"] == baseline[key]
        assert again == [a["model_version"] for a in answers[:30]]  # sticky by record id
        assert len(keyed) == 1  # sticky by key, whatever the record
        assert batch.json()["model_version"] in keyed
        wait_for_log(tmp_path / "log", 250)
        roles = Counter(read_prediction_log(tmp_path / "log")["role"])
        assert roles["challenger"] > 0
        assert roles["champion"] > 0
        assert sum(roles.values()) == 250  # each request logged once, by the model that answered it
    finally:
        stop_server(s)
