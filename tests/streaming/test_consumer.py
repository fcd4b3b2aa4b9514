"""The consumer against a real NATS JetStream server: good and bad events, parity with the service,
the log invariant, a consumer killed mid-stream, a broker restart, a clean stop."""

from __future__ import annotations

import signal
import time
from pathlib import Path

import httpx
import orjson
import pytest

from mlpipe.io.predlog import read_prediction_log
from mlpipe.serving.responses import field_name
from mlpipe.streaming.runner import NATS_PENDING_BATCHES
from tests.datasets import coded_feature, unknown_value
from tests.servers import Served, wait_bound
from tests.streaming.brokers import (
    Consumer,
    Nats,
    broker,
    events_of,
    most_in_flight,
    publish,
    read_all,
    start_consumer,
    stop_consumer,
)

pytestmark = pytest.mark.integration
__all__ = ["broker"]  # the fixture


def wait_status(url: str, status: int) -> bool:
    """Whether ``url`` answers ``status`` within the tests' wait bound."""
    deadline = time.monotonic() + wait_bound()
    while httpx.get(url).status_code != status:
        if time.monotonic() > deadline:
            return False
        time.sleep(0.1)
    return True


def scrape_until(url: str, line: str) -> str:
    """The consumer's /metrics once ``line`` is in it (it counts a batch after publishing it)."""
    deadline = time.monotonic() + wait_bound()
    while line not in (text := httpx.get(f"{url}/metrics").text) and time.monotonic() < deadline:
        time.sleep(0.05)
    return text


def test_every_event_gets_one_prediction_bad_ones_a_dead_letter(broker: Nats, served: Served, tmp_path: Path) -> None:
    records = [served.record(i) for i in range(len(served.test_raw))]
    coded, values = coded_feature(served.contract)
    dup_key = orjson.dumps(records[0])[:-1] + b"," + orjson.dumps(records[0])[1:]  # every key twice
    bad: list[tuple[str | None, bytes]] = [
        ("bad-json", b"{not json"),
        ("bad-array", b"[1, 2]"),
        ("bad-value", orjson.dumps({**records[0], coded: unknown_value(values)})),
        ("bad-dup", dup_key),
        ("bad-utf8", b'{"\xff": 1}'),
    ]
    c = start_consumer(served.repo, broker.url, tmp_path / "log")
    try:
        publish(broker.url, [*events_of(records), *bad])
        out = read_all(broker.url, "output", len(records))
        dead = read_all(broker.url, "dead_letter", len(bad))
        metrics = scrape_until(c.metrics, 'mlpipe_stream_dead_letters_total{error="invalid event"} 3.0')
    finally:
        assert stop_consumer(c) == 0, c.text()[-3000:]
    key = served.contract.id
    assert len(out) == len(records)
    # bit for bit what the evaluate stage (and so the service and make score) gives each test row
    assert {o["event_id"]: o["probability"] for o in out} == {
        f"e{i}": served.trained[r[key]] for i, r in enumerate(records)
    }
    assert all(
        o["id"] == r[key] for o, r in zip(sorted(out, key=lambda o: int(o["event_id"][1:])), records, strict=True)
    )
    assert {o["model_version"] for o in out} == {served.card["model"]["sha256"][:12]}
    by_id = {d["event_id"]: d for d in dead}
    assert set(by_id) == {k for k, _ in bad}
    assert by_id["bad-json"]["error"] == "not JSON"
    assert any(p["field"] == field_name((coded,)) for p in by_id["bad-value"]["problems"])
    assert by_id["bad-dup"]["problems"][0]["problem"] == "appears more than once"
    assert by_id["bad-value"]["payload"] == bad[2][1].decode()
    logged = read_prediction_log(tmp_path / "log")
    assert sorted(logged["request_id"]) == sorted(o["event_id"] for o in out)  # one row per prediction
    assert set(logged["source"]) == {"stream"}
    assert f'mlpipe_stream_predictions_total{{model="{served.card["model"]["sha256"][:12]}"' in metrics
    assert 'mlpipe_stream_dead_letters_total{error="not JSON"} 2.0' in metrics  # one is not UTF-8
    assert "stopped" in c.text()


def first_predictions(c: Consumer) -> None:
    """Returns once the consumer has published some predictions (bounded)."""
    deadline = time.monotonic() + wait_bound()
    while "mlpipe_stream_predictions_total" not in httpx.get(f"{c.metrics}/metrics").text:
        assert time.monotonic() < deadline, f"no prediction within {wait_bound():.0f} s (MLPIPE_TEST_WAIT)"
        time.sleep(0.01)


def test_stopped_then_killed_mid_stream_then_restarted_every_event_gets_one_prediction(
    broker: Nats, served: Served, tmp_path: Path
) -> None:
    records = [served.record(i % len(served.test_raw)) for i in range(6000)]
    publish(broker.url, events_of(records))
    log_dir = tmp_path / "log"
    c = start_consumer(served.repo, broker.url, log_dir, MLPIPE_STREAM_BATCH_SIZE="200")
    first_predictions(c)
    assert stop_consumer(c) == 0, c.text()[-3000:]  # SIGTERM mid-stream: the batches in flight finish
    assert "stopped" in c.text()
    published = {o["event_id"] for o in read_all(broker.url, "output", 1)}
    assert sorted(read_prediction_log(log_dir)["request_id"]) == sorted(published), "a batch was left half done"
    c = start_consumer(served.repo, broker.url, log_dir, MLPIPE_STREAM_BATCH_SIZE="200")
    first_predictions(c)
    stop_consumer(c, signal.SIGKILL)  # mid-stream: batches scored, published, not yet acknowledged
    c = start_consumer(served.repo, broker.url, log_dir, MLPIPE_STREAM_BATCH_SIZE="200")
    try:
        # backpressure: thousands waiting, yet the consumer holds at most its bound unacknowledged
        assert most_in_flight(broker.url, len(records)) <= NATS_PENDING_BATCHES * 200
        out = read_all(broker.url, "output", len(records), settle_s=1.0)
    finally:
        stop_consumer(c)
    ids = [o["event_id"] for o in out]
    assert set(ids) == {f"e{i}" for i in range(len(records))}
    assert len(ids) == len(set(ids)), "the broker's de-duplication window let a second prediction through"
    logged = read_prediction_log(log_dir)
    assert set(logged["request_id"]) <= set(ids)
    assert logged["request_id"].is_unique, "a redelivered event was logged twice"


def test_a_broker_restart_loses_nothing(broker: Nats, served: Served, tmp_path: Path) -> None:
    records = [served.record(i) for i in range(300)]
    c = start_consumer(served.repo, broker.url, tmp_path / "log")
    try:
        publish(broker.url, events_of(records[:150], "a"))
        assert len(read_all(broker.url, "output", 150)) == 150
        broker.stop()
        assert wait_status(f"{c.metrics}/ready", 503), "still ready with the broker gone"
        broker.start()  # same port, same store: the streams and the durable consumer survive
        assert wait_status(f"{c.metrics}/ready", 200), "not ready again after the broker came back"
        publish(broker.url, events_of(records[150:], "b"))
        out = read_all(broker.url, "output", 300)
    finally:
        assert stop_consumer(c) == 0, c.text()[-3000:]
    assert {o["event_id"] for o in out} == {f"a{i}" for i in range(150)} | {f"b{i}" for i in range(150)}


def test_a_misspelt_setting_stops_the_consumer_naming_it(broker: Nats, served: Served, tmp_path: Path) -> None:
    import subprocess
    import sys

    from mlpipe.io.pipeline import child_env

    env = {**child_env(served.repo), "MLPIPE_STREAM_URL": broker.url, "MLPIPE_STREAM_BATCH_SIZ": "10"}
    res = subprocess.run([sys.executable, "-m", "mlpipe.streaming"], cwd=served.repo, env=env, capture_output=True,
                         text=True, timeout=120, check=False)  # fmt: skip
    assert res.returncode == 2
    assert "MLPIPE_STREAM_BATCH_SIZ" in res.stderr
