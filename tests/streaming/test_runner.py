"""The consumer's batch handling without a broker: what a failed publish leaves in the log, and how each
broker gets a failed batch back."""

from __future__ import annotations

import asyncio
from pathlib import Path

import orjson
import pytest

from mlpipe.errors import PublishFailed
from mlpipe.io.predlog import read_prediction_log
from mlpipe.streaming.runner import Consumer
from mlpipe.streaming.settings import stream_env
from tests.servers import Served

pytestmark = pytest.mark.integration  # a trained model


def consumer(served: Served, log_dir: Path) -> Consumer:
    return Consumer(stream_env({"MLPIPE_STREAM_URL": "nats://127.0.0.1:1"}), served.settings(log_dir))


def events(served: Served, n: int) -> list[tuple[bytes, object]]:
    return [(orjson.dumps({**served.record(i), "event_id": f"p{i}"}), lambda: "unused") for i in range(n)]


def test_a_partly_published_batch_logs_what_the_broker_took(served: Served, tmp_path: Path) -> None:
    """When the batch comes again those are duplicates, never logged: their rows are written now."""
    c = consumer(served, tmp_path / "log")

    async def publish(messages: list[tuple[str, str, bytes]]) -> list[bool]:
        raise PublishFailed("refused", [True, False, True, False][: len(messages)])

    with pytest.raises(PublishFailed):
        asyncio.run(c.process(events(served, 4), publish))  # type: ignore[arg-type]
    assert c.plog is not None
    c.plog.close()
    assert sorted(read_prediction_log(tmp_path / "log")["request_id"]) == ["p0", "p2"]


@pytest.mark.parametrize(("concurrent", "nacked"), [(True, 0), (False, 1)])
def test_a_failed_batch_is_left_on_nats_and_nacked_on_kafka(
    served: Served, tmp_path: Path, concurrent: bool, nacked: int
) -> None:
    """NATS redelivers an unacknowledged batch by itself; Kafka's next commit would cover it: nack seeks back."""
    c = consumer(served, tmp_path / "log")
    calls = {"ack": 0, "nack": 0}

    async def publish(messages: list[tuple[str, str, bytes]]) -> list[bool]:
        raise PublishFailed("no answer", [])

    async def go() -> None:
        c.slots, c.concurrent = asyncio.Semaphore(1), concurrent
        await c.slots.acquire()  # as guarded() does before settle()

        async def ack() -> None:
            calls["ack"] += 1

        async def nack() -> None:
            calls["nack"] += 1

        await c.settle(events(served, 2), publish, ack, nack)  # type: ignore[arg-type]
        assert not c.slots.locked(), "the slot is given back"

    asyncio.run(go())
    assert calls == {"ack": 0, "nack": nacked}


def test_a_dead_letter_stays_under_the_brokers_message_limit() -> None:
    from mlpipe.streaming.events import DEAD_PAYLOAD_MAX, Bad, dead_letter

    letter = orjson.loads(dead_letter(Bad("k", b"x" * (3 * DEAD_PAYLOAD_MAX), "not JSON", [])))
    assert len(letter["payload"]) == DEAD_PAYLOAD_MAX
    assert letter["payload_truncated"] is True
    assert letter["payload_bytes"] == 3 * DEAD_PAYLOAD_MAX
    assert "payload_truncated" not in orjson.loads(dead_letter(Bad("k", b"{}", "invalid event", [])))
