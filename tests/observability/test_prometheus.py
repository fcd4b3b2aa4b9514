"""A real Prometheus (and Pushgateway) scraping a real service, a broken one and a stream consumer.

Every dashboard query returns data, every rule evaluates without error, and MlpipeNotReady fires for
the service whose model file is corrupt. The rules are the repository's, with their ``for:`` durations
cut to a second (the expressions are the same); scrapes and evaluations run every second.
"""

from __future__ import annotations

import functools
import json
import re
import shutil
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from mlpipe.core.synth import synthesise
from tests.repos import ROOT, invoke
from tests.servers import Served, free_port, reap, start_server, stop_server, wait_bound
from tests.streaming.brokers import Nats, broker, events_of, publish, read_all, start_consumer, stop_consumer

__all__ = ["broker"]  # the NATS fixture, used here as in tests/streaming
pytestmark = pytest.mark.integration
OBS = ROOT / "observability"
INSTALL = "apt-get install prometheus prometheus-pushgateway (Debian/Ubuntu; .ci/run installs them)"


def binary(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        pytest.skip(f"{name} not found: {INSTALL}")
    return found


def until(what: str, check: Callable[[], Any]) -> Any:
    """``check()`` until it returns something truthy, within the tests' wait bound (MLPIPE_TEST_WAIT)."""
    deadline = time.monotonic() + wait_bound()
    while True:
        try:
            got = check()
        except httpx.TransportError:
            got = None
        if got:
            return got
        if time.monotonic() > deadline:
            pytest.fail(f"{what}: not within {wait_bound():.0f} s (MLPIPE_TEST_WAIT)")
        time.sleep(0.3)


def started(cmd: list[str], log: Path, ready_url: str) -> subprocess.Popen[bytes]:
    with log.open("wb") as out:
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT)
    try:
        until(f"{cmd[0]} ready ({log})", lambda: proc.poll() is None and httpx.get(ready_url, timeout=1).is_success)
    except BaseException:
        reap(proc)
        raise
    return proc


@pytest.fixture
def pushgateway(tmp_path: Path) -> Iterator[str]:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    cmd = [binary("prometheus-pushgateway"), f"--web.listen-address=127.0.0.1:{port}"]
    proc = started(cmd, tmp_path / "pushgateway.log", f"{url}/-/ready")
    yield url
    reap(proc)


def broken_root(served: Served, dest: Path) -> Path:
    """The service's files with the model file's bytes changed: it starts, answers /health, is never ready."""
    for path in (served.paths.params, served.paths.contract, served.paths.card, served.repo / "dvc.yaml"):
        target = dest / path.relative_to(served.repo)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(path, target)
    model = dest / served.paths.model.relative_to(served.repo)
    model.write_bytes(served.paths.model.read_bytes()[:-10] + b"corrupted!")
    return dest


def prometheus_config(dest: Path, service: list[str], stream: str, pushgateway: str) -> Path:
    rules = (OBS / "rules.yml").read_text()
    (dest / "rules.yml").write_text(re.sub(r"(?m)^(\s+for: )\S+$", r"\g<1>1s", rules))
    config = yaml.safe_load((OBS / "prometheus.yml").read_text())
    config["global"] = {"scrape_interval": "1s", "evaluation_interval": "1s"}
    targets = {"mlpipe": service, "mlpipe_stream": [stream], "pushgateway": [pushgateway]}
    for job in config["scrape_configs"]:
        job["static_configs"] = [{"targets": targets[job["job_name"]]}]
    (dest / "prometheus.yml").write_text(yaml.safe_dump(config))
    return dest / "prometheus.yml"


def query(url: str, expr: str) -> list[dict[str, Any]]:
    res = httpx.get(f"{url}/api/v1/query", params={"query": expr}, timeout=10).json()
    assert res["status"] == "success", (expr, res)
    return list(res["data"]["result"])


def test_dashboard_queries_return_data_rules_evaluate_and_not_ready_fires(
    served: Served, broker: Nats, pushgateway: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    prometheus = binary("prometheus")
    good = start_server(served.repo, tmp_path / "log")
    bad = start_server(broken_root(served, tmp_path / "broken"), tmp_path / "broken-log")
    consumer = start_consumer(served.repo, broker.url, tmp_path / "stream-log")
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    prom: subprocess.Popen[bytes] | None = None
    try:
        hostport = [s.url.removeprefix("http://") for s in (good, bad)]
        stream = consumer.metrics.removeprefix("http://")
        config = prometheus_config(tmp_path, hostport, stream, pushgateway.removeprefix("http://"))
        cmd = [prometheus, f"--config.file={config}", f"--storage.tsdb.path={tmp_path / 'tsdb'}",
               f"--web.listen-address=127.0.0.1:{port}"]  # fmt: skip
        prom = started(cmd, tmp_path / "prometheus.log", f"{url}/-/ready")

        # make monitor pushes its figures; a bounded load reaches the service; events reach the consumer
        window = synthesise(served.contract, 600, seed=5, first_id=10**7)
        window.to_csv(tmp_path / "window.csv", index=False)
        monkeypatch.setenv("PUSHGATEWAY_URL", pushgateway)
        assert invoke("mlpipe.tasks.monitor", "--window", str(tmp_path / "window.csv"), cwd=served.repo).returncode == 0
        with httpx.Client(base_url=good.url, timeout=30) as client:
            for i in range(120):
                assert client.post("/predict", json=served.record(i % 50)).status_code == 200
            batch = {"records": [served.record(i) for i in range(50)]}
            for _ in range(5):
                assert client.post("/predict/batch", json=batch).status_code == 200
            assert client.post("/predict", json={"not": "a record"}).status_code == 422
        publish(broker.url, [*events_of([served.record(i) for i in range(20)]), (None, b"not json")])
        read_all(broker.url, "output", 20)

        def all_up() -> list[dict[str, Any]]:
            found = query(url, "up == 1")
            return found if len(found) == 4 else []

        up = until("every target scraped", all_up)
        assert {r["metric"]["job"] for r in up} == {"mlpipe", "mlpipe_stream", "pushgateway"}
        dashboard = json.loads((OBS / "grafana/dashboards/mlpipe.json").read_text())
        for panel in dashboard["panels"]:
            for target in panel["targets"]:
                expr: str = target["expr"].replace("$__rate_interval", "1m")
                until(f"panel '{panel['title']}': {expr}", functools.partial(query, url, expr))

        def evaluated() -> list[dict[str, Any]]:
            groups = httpx.get(f"{url}/api/v1/rules", timeout=10).json()["data"]["groups"]
            rules = [r for g in groups for r in g["rules"]]
            return rules if all(r.get("lastEvaluation", "").startswith("20") for r in rules) else []

        rules = until("every rule evaluated", evaluated)
        assert len(rules) == 20
        assert [(r["name"], r.get("lastError")) for r in rules if r["health"] != "ok"] == []

        def not_ready() -> list[dict[str, Any]]:
            alerts = httpx.get(f"{url}/api/v1/alerts", timeout=10).json()["data"]["alerts"]
            return [a for a in alerts if a["labels"]["alertname"] == "MlpipeNotReady" and a["state"] == "firing"]

        firing = until("MlpipeNotReady firing", not_ready)
        assert [a["labels"]["instance"] for a in firing] == [hostport[1]], firing
    finally:
        if prom is not None:
            reap(prom)
        stop_consumer(consumer)
        stop_server(good)
        stop_server(bad)
