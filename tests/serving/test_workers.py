"""Several uvicorn workers: ``/metrics`` counts every worker's requests, whichever one it reaches."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from mlpipe.io.pipeline import child_env
from mlpipe.io.predlog import log_files, read_prediction_log
from mlpipe.serving.metrics import remove_metric_files
from tests.servers import Served, start_server, stop_server, wait_bound


def sample_value(text: str, name: str, labels: dict[str, str] | None = None) -> float:
    total = 0.0
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            if s.name == name and all(s.labels.get(k) == v for k, v in (labels or {}).items()):
                total += s.value
    return total


def pids(log_dir: Path) -> set[str]:
    """Each worker writes its own log files: ``predictions-<time>-<pid>-<n>.jsonl``."""
    return {f.name.split("-")[2] for f in log_files(log_dir)}


@pytest.mark.integration
def test_metrics_add_up_across_workers(served: Served, tmp_path: Path) -> None:
    log_dir = tmp_path / "plog"
    server = start_server(served.repo, log_dir, "--workers", "2", "--micro-batch", "off")
    records = [served.record(i) for i in range(20)]

    def one(record: dict[str, object]) -> int:
        with httpx.Client(base_url=server.url, timeout=30) as c:  # a new connection: any worker may take it
            return c.post("/predict", json=record).status_code

    answered = 0
    try:
        with ThreadPoolExecutor(8) as pool:
            for _ in range(20):  # until both workers have answered some (bounded)
                answered += sum(code == 200 for code in pool.map(one, records))
                if len(pids(log_dir)) >= 2:
                    break
        assert len(pids(log_dir)) == 2, "the kernel gave every connection to one worker"
        deadline = time.monotonic() + wait_bound()  # the log's counts reach the metrics within a second
        while True:
            text = httpx.get(f"{server.url}/metrics", timeout=10).text
            written = sample_value(text, "mlpipe_prediction_log_rows_written_total")
            if written == answered or time.monotonic() > deadline:
                break
            time.sleep(0.1)
        assert sample_value(text, "mlpipe_requests_total", {"endpoint": "/predict", "status": "200"}) == answered
        assert sample_value(text, "mlpipe_predictions_total") == answered
        assert written == answered
        assert sample_value(text, "mlpipe_ready") == 1  # the lowest of the live workers
        assert sample_value(text, "mlpipe_request_latency_seconds_count", {"endpoint": "/predict"}) == answered
    finally:
        stop_server(server)


@pytest.mark.integration
@pytest.mark.parametrize(
    ("args", "env", "says"),
    [
        (["--workers", "2"], {"MLPIPE_API_KEY_SCOP": "all"}, "unknown environment variable(s) MLPIPE_API_KEY_SCOP"),
        (
            ["--workers", "2"],
            {"MLPIPE_MICRO_BATCH": "sometimes"},
            "MLPIPE_MICRO_BATCH: Input should be a valid boolean",
        ),
        ([], {"PORT": "abc"}, "--port / PORT must be a whole number, not 'abc'"),
        (["--workers", "0"], {}, "--workers / WEB_CONCURRENCY must be between 1 and 256, not 0"),
    ],
)
def test_a_bad_setting_stops_the_service_naming_it(
    served: Served, args: list[str], env: dict[str, str], says: str
) -> None:
    """Checked once, before uvicorn starts workers: a bad setting must not crash-loop every worker."""
    cmd = [sys.executable, "-m", "mlpipe.serving", "--root", str(served.repo), "--port", "0", *args]
    if "PORT" in env:
        cmd = [c for c in cmd if c not in ("--port", "0")]
    env = {**child_env(served.repo), **env}
    res = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=120, check=False)
    assert res.returncode == 2
    assert says in res.stderr
    assert "Traceback" not in res.stderr


@pytest.mark.unit
def test_only_prometheus_files_are_removed_from_the_shared_directory(tmp_path: Path) -> None:
    ours = ["counter_12.db", "histogram_12.db", "gauge_livemin_12.db", "gauge_livesum_7.db", "gauge_all_3.db"]
    theirs = ["app.db", "counter.db", "notes.txt"]
    for name in ours + theirs:
        (tmp_path / name).write_bytes(b"")
    remove_metric_files(tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(theirs)


@pytest.mark.integration
def test_a_worker_killed_under_load_leaves_no_answer_unlogged(served: Served, tmp_path: Path) -> None:
    """``kill -9`` of one of two workers mid-load: every request answered 200 has its log row (the row
    is written to the OS before the answer is sent), whichever worker answered it."""
    log_dir = tmp_path / "plog"
    server = start_server(served.repo, log_dir, "--workers", "2")
    answered: list[str] = []
    killed: list[int] = []  # the victim's pid, then how many had been answered when it died
    lock = threading.Lock()
    done = threading.Event()

    def client(k: int) -> None:  # a new connection per request, so either worker may take it
        with httpx.Client(base_url=server.url, timeout=30, headers={"Connection": "close"}) as c:
            # bounded: 2,400 requests at most, until 80 after the kill. Which worker accepts a connection is
            # the kernel's choice: with fast answers one worker can take hundreds in a row (600 were once
            # not enough for the other to log one), so the bound is generous and the test stops early.
            for i in range(300):
                if done.is_set():
                    return
                try:
                    r = c.post("/predict", json=served.record((k * 300 + i) % len(served.test_raw)))
                except httpx.TransportError:  # in flight on the worker that was killed: not answered
                    continue
                assert r.status_code == 200, r.text
                with lock:
                    answered.append(r.json()["request_id"])
                    if not killed and len(answered) >= 40 and len(workers := pids(log_dir)) == 2:
                        killed.extend([int(min(workers)), len(answered)])
                        os.kill(killed[0], signal.SIGKILL)
                    elif killed and len(answered) >= killed[1] + 80:
                        done.set()

    try:
        with ThreadPoolExecutor(8) as pool:
            list(pool.map(client, range(8)))
    finally:
        stop_server(server)
    assert killed, "one worker took every one of 2,400 connections: nothing was killed"
    logged = set(read_prediction_log(log_dir)["request_id"])
    lost = [rid for rid in answered if rid not in logged]
    assert not lost, f"{len(lost)} of {len(answered)} answered requests have no log row"
