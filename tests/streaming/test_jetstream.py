"""The batch publisher against a real NATS JetStream server: acknowledged, duplicates named, refusals and
silence are errors (the consumer then leaves its input batch unacknowledged)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import nats
import pytest
from nats.js.api import StreamConfig

from mlpipe.errors import PublishFailed
from mlpipe.streaming.jetstream import BatchPublisher
from tests.streaming.brokers import Nats, broker

pytestmark = pytest.mark.integration
__all__ = ["broker"]  # the fixture


def run(url: str, body: Callable[[Any, BatchPublisher], Awaitable[None]]) -> None:
    async def go() -> None:
        nc = await nats.connect(url)
        try:
            await nc.jetstream().add_stream(StreamConfig(name="OUT", subjects=["out"], duplicate_window=60))
            await body(nc, BatchPublisher(nc))
        finally:
            await nc.close()

    asyncio.run(go())


def test_every_message_is_stored_once_and_a_repeat_is_named(broker: Nats) -> None:
    async def body(nc: Any, pub: BatchPublisher) -> None:
        first = await pub.publish([("out", "OUT", f"k{i}", b"%d" % i) for i in range(300)], 10)
        again = await pub.publish([("out", "OUT", f"k{i}", b"x") for i in range(290, 310)], 10)
        assert first == [True] * 300
        assert again == [False] * 10 + [True] * 10  # the first ten were already there
        assert (await nc.jetstream().stream_info("OUT")).state.messages == 310
        assert await pub.publish([], 10) == []
        assert not pub.waiting  # nothing left behind

    run(broker.url, body)


def test_keys_are_told_apart_and_cannot_write_headers(broker: Nats) -> None:
    """nats-py writes header values as given: spaces would merge keys, a line break would add a header."""
    keys = ["abc", "abc ", " abc", "x\r\nNats-Expected-Last-Sequence: 999", "é"]

    async def body(nc: Any, pub: BatchPublisher) -> None:
        assert await pub.publish([("out", "OUT", k, b"") for k in keys], 10) == [True] * len(keys)
        assert await pub.publish([("out", "OUT", k, b"") for k in keys], 10) == [False] * len(keys)

    run(broker.url, body)


def test_a_refusal_says_what_was_published_before_it(broker: Nats) -> None:
    async def body(nc: Any, pub: BatchPublisher) -> None:
        with pytest.raises(PublishFailed) as failed:
            await pub.publish([("out", "OUT", "a", b""), ("out", "ELSEWHERE", "b", b"")], 10)
        assert failed.value.fresh == [True, False]

    run(broker.url, body)


def test_a_batch_at_once_with_another(broker: Nats) -> None:
    async def body(nc: Any, pub: BatchPublisher) -> None:
        results = await asyncio.gather(*(pub.publish([("out", "OUT", f"b{b}-{i}", b"") for i in range(50)], 10)
                                         for b in range(4)))  # fmt: skip
        assert results == [[True] * 50] * 4

    run(broker.url, body)


def test_a_subject_no_stream_takes_fails_the_batch(broker: Nats) -> None:
    async def body(nc: Any, pub: BatchPublisher) -> None:
        with pytest.raises(PublishFailed, match="nowhere: no stream takes this subject"):
            await pub.publish([("out", "OUT", "a", b""), ("nowhere", "OUT", "b", b"")], 10)

    run(broker.url, body)


def test_a_stream_that_is_not_the_expected_one_fails_the_batch(broker: Nats) -> None:
    async def body(nc: Any, pub: BatchPublisher) -> None:
        with pytest.raises(PublishFailed, match=r"out \(stream ELSEWHERE\) refused a message: .*stream"):
            await pub.publish([("out", "ELSEWHERE", "a", b"")], 10)

    run(broker.url, body)


def test_no_answer_in_time_fails_the_batch(broker: Nats) -> None:
    async def body(nc: Any, pub: BatchPublisher) -> None:
        await pub.start()
        broker.stop()  # the server goes away: nothing answers
        with pytest.raises(PublishFailed, match=r"1 of 1 messages not acknowledged by the broker in 0\.5 s"):
            await pub.publish([("out", "OUT", "a", b"")], 0.5)
        assert not pub.waiting

    run(broker.url, body)
