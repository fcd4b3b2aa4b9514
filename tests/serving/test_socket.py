"""The service over a real socket, started with the container's entrypoint command.

Also the train/serve parity proof: the same test rows scored by the evaluate stage (training),
by batch scoring and by the service give identical probabilities, bit for bit.
"""

from __future__ import annotations

import asyncio
import json
import re
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pandas as pd
import pytest

from mlpipe.core.validation import plain
from mlpipe.io.pipeline import child_env
from mlpipe.io.predlog import read_prediction_log
from mlpipe.serving.responses import field_name
from tests.datasets import coded_feature, unknown_value
from tests.servers import Served, Server, start_server, stop_server, wait_bound

pytestmark = pytest.mark.integration


def test_endpoints_over_a_socket(server: Server, served: Served) -> None:
    with httpx.Client(base_url=server.url, timeout=30) as c:
        assert c.get("/health").json() == {"status": "ok"}
        assert c.get("/ready").json()["ready"] is True
        assert c.get("/version").json()["model_sha256"] == served.card["model"]["sha256"]
        r = c.post("/predict", json=served.record(0))
        assert r.status_code == 200
        assert r.json()["probability"] == served.trained[served.record(0)[served.contract.id]]
        coded, values = coded_feature(served.contract)
        bad = c.post("/predict", json={**served.record(0), coded: unknown_value(values)})
        assert bad.status_code == 422
        assert bad.json()["problems"][0]["field"] == field_name((coded,))
        big = c.post("/predict", content=b"x" * (served.params.serve.max_body_bytes + 1))
        assert big.status_code == 413
        assert "mlpipe_request_latency_seconds_bucket" in c.get("/metrics").text


def test_clients_that_left_are_marked_in_the_log(server: Server, served: Served) -> None:
    """Requests whose connection closed right after sending: uvicorn reports the disconnect, each row is
    still logged (nothing answered goes unlogged) and marked; a client that waited is not."""
    host, port = server.url.removeprefix("http://").split(":")
    before = len(read_prediction_log(server.log_dir))
    for i in range(10):
        body = json.dumps(served.record(i)).encode()
        head = f"POST /predict HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: {len(body)}"
        with socket.create_connection((host, int(port))) as s:
            s.sendall(f"{head}\r\n\r\n".encode() + body)
    stayed = httpx.post(f"{server.url}/predict", json=served.record(0), timeout=30).json()["request_id"]
    deadline = time.monotonic() + wait_bound()
    while True:  # the closed connections' rows may still be on their way to the log
        log = read_prediction_log(server.log_dir).set_index("request_id")
        if len(log) >= before + 11 or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert len(log) == before + 11, "a request whose client left was not logged"
    assert not log.loc[stayed, "client_gone"]
    assert log["client_gone"].sum() >= 1, "no row marks a client that closed its connection before the answer"


async def _concurrent(url: str, records: list[dict[str, object]]) -> list[float]:
    async with httpx.AsyncClient(base_url=url, timeout=60, limits=httpx.Limits(max_connections=64)) as c:
        responses = await asyncio.gather(*(c.post("/predict", json=r) for r in records))
    assert all(r.status_code == 200 for r in responses)
    return [r.json()["probability"] for r in responses]


def _batch_stats(metrics: str) -> tuple[float, float]:
    count = float(re.search(r"^mlpipe_micro_batch_rows_count (\S+)$", metrics, re.M).group(1))  # type: ignore[union-attr]
    total = float(re.search(r"^mlpipe_micro_batch_rows_sum (\S+)$", metrics, re.M).group(1))  # type: ignore[union-attr]
    return count, total


def test_concurrent_requests_are_micro_batched(server: Server, served: Served) -> None:
    records = [served.record(i) for i in range(200)]
    before = _batch_stats(httpx.get(f"{server.url}/metrics").text)
    got = asyncio.run(_concurrent(server.url, records))
    assert got == [served.trained[r[served.contract.id]] for r in records]  # every answer went back to its own request
    count, total = (a - b for a, b in zip(_batch_stats(httpx.get(f"{server.url}/metrics").text), before, strict=True))
    assert total == 200
    assert count < 200, "200 concurrent requests were scored one by one"


def test_without_micro_batching_each_request_is_scored_alone(served: Served, tmp_path: Path) -> None:
    s = start_server(served.repo, tmp_path / "log", "--micro-batch", "off")
    try:
        records = [served.record(i) for i in range(30)]
        assert asyncio.run(_concurrent(s.url, records)) == [served.trained[r[served.contract.id]] for r in records]
        assert _batch_stats(httpx.get(f"{s.url}/metrics").text) == (30.0, 30.0)
    finally:
        stop_server(s)


def test_train_batch_and_service_give_identical_predictions(server: Server, served: Served, tmp_path: Path) -> None:
    rows = served.test_raw.sample(n=300, random_state=3)
    # batch scoring: the command users run, on a raw file like the ones in data/
    src, out = tmp_path / "rows.csv", tmp_path / "scored.parquet"
    rows.to_csv(src, index=False)
    cmd = [sys.executable, "-m", "mlpipe.tasks.score", str(src), str(out), "--no-progress"]
    res = subprocess.run(cmd, cwd=served.repo, env=child_env(served.repo), capture_output=True, text=True, check=False)
    assert res.returncode == 0, res.stderr
    batch = pd.read_parquet(out).set_index(served.contract.id)["probability"]
    # the service, one record at a time and as one batch
    records = [{c: plain(r[c]) for c in [served.contract.id, *served.contract.features]} for _, r in rows.iterrows()]
    with httpx.Client(base_url=server.url, timeout=60) as c:
        single = {r[served.contract.id]: c.post("/predict", json=r).json()["probability"] for r in records[:50]}
        many = c.post("/predict/batch", json={"records": records}).json()["predictions"]
    trained = served.trained
    ids = rows[served.contract.id].tolist()
    assert [batch[i] for i in ids] == [trained[i] for i in ids]
    assert [p["probability"] for p in many] == [trained[i] for i in ids]
    assert all(single[i] == trained[i] for i in single)
    # and batch scoring logged what it scored, with the model version
    logged = read_prediction_log(served.paths.prediction_log)
    logged = logged[logged["source"] == "batch"]
    assert len(logged) >= 300
    assert set(logged["model_version"]) == {served.card["model"]["sha256"][:12]}


def test_service_matches_the_evaluate_stage_on_every_test_row(server: Server, served: Served) -> None:
    """Every row of the test split, one request per row and in batches, bit for bit (the fast path's proof)."""
    records = [served.record(i) for i in range(len(served.test_raw))]
    expected = [served.trained[r[served.contract.id]] for r in records]
    size = served.params.serve.max_batch_rows
    with httpx.Client(base_url=server.url, timeout=60) as c:
        single = [c.post("/predict", json=r).json()["probability"] for r in records]
        batched = [
            p["probability"]
            for k in range(0, len(records), size)
            for p in c.post("/predict/batch", json={"records": records[k : k + size]}).json()["predictions"]
        ]
    assert single == expected
    assert batched == expected
