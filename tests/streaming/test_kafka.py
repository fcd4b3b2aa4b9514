"""The Kafka wiring, on FastStream's in-memory test broker (TestKafkaBroker): there is no Kafka broker on
these machines, so this proves the handler, keys and topics, not Kafka's delivery guarantees."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import orjson
import pytest
from faststream import Context
from faststream.kafka import KafkaBroker, TestKafkaBroker

from mlpipe.io.predlog import read_prediction_log
from mlpipe.streaming.runner import Consumer
from mlpipe.streaming.settings import stream_env
from tests.servers import Served

pytestmark = pytest.mark.integration


def test_kafka_events_in_predictions_out_keyed_by_event(served: Served, tmp_path: Path) -> None:
    env = stream_env({"MLPIPE_STREAM_URL": "kafka://127.0.0.1:9092"})
    consumer = Consumer(env, served.settings(tmp_path / "log"))
    broker: KafkaBroker = consumer.kafka_broker()
    got: list[tuple[bytes | None, dict[str, Any]]] = []
    dead: list[dict[str, Any]] = []

    @broker.subscriber(env.output)
    async def outputs(body: dict[str, Any], message: Any = Context("message")) -> None:  # noqa: B008
        got.append((message.raw_message.key, body))

    @broker.subscriber(env.dead_letter)
    async def dead_letters(body: dict[str, Any]) -> None:
        dead.append(body)

    records = [served.record(i) for i in range(20)]

    async def go() -> None:
        async with TestKafkaBroker(broker) as br:
            for i, r in enumerate(records):
                await br.publish(orjson.dumps({**r, "event_id": f"k{i}"}), env.input)
            await br.publish(b"{not json", env.input, key=b"bad-1")

    asyncio.run(go())
    key = served.contract.id
    assert [k for k, _ in got] == [f"k{i}".encode() for i in range(20)]  # the message key is the event id
    assert [o["probability"] for _, o in got] == [served.trained[r[key]] for r in records]
    assert [d["event_id"] for d in dead] == ["bad-1"]
    if consumer.plog is not None:
        consumer.plog.close()
    assert sorted(read_prediction_log(tmp_path / "log")["request_id"]) == sorted(f"k{i}" for i in range(20))
