"""Publishing a batch to JetStream and waiting for every message's acknowledgement, at a batch's cost.

nats-py's ``publish_async`` gives each message a Future, a semaphore wait and a dataclass built from
its reply: ~25 us of the consumer's ~100 us per event (``make bench-stream`` under py-spy). Here a
batch shares one Future, every reply comes to one wildcard subscription, and a reply is read with
orjson. The guarantees are the same: a message counts as published when the stream acknowledged it;
its ``Nats-Msg-Id`` header makes a republished one a duplicate the stream drops and says so.
"""

from __future__ import annotations

import asyncio
import hashlib
import itertools
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import orjson

from mlpipe.errors import PublishFailed


@dataclass
class _Batch:
    targets: Sequence[tuple[str, str]]  # (subject, stream) per message, to name a refusal
    fresh: list[bool]  # per message: new to its stream (False: a duplicate it dropped)
    left: int
    done: asyncio.Future[None]


_HEADER_SAFE = re.compile(r"[!-~]{1,128}")  # visible ASCII: nats-py writes header values as they are


def header_key(key: str) -> str:
    """The de-duplication header for an event key: the key itself when it is visible ASCII, else a hash
    of it. nats-py neither escapes nor keeps surrounding spaces in header values: ``"abc "`` would be a
    duplicate of ``"abc"``, and a line break would start a header of the sender's choosing."""
    if _HEADER_SAFE.fullmatch(key):
        return key
    return "sha256:" + hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()


class BatchPublisher:
    """One per connection; ``publish`` may run for several batches at once."""

    def __init__(self, nc: Any) -> None:
        self.nc = nc
        self.prefix = ""
        self.waiting: dict[str, tuple[_Batch, int]] = {}
        self.tokens = itertools.count()

    async def start(self) -> None:
        prefix = f"{self.nc.new_inbox()}."
        await self.nc.subscribe(f"{prefix}*", cb=self._on_reply)
        self.prefix = prefix  # only once subscribed: a failed subscribe is tried again by the next batch

    async def publish(self, messages: Sequence[tuple[str, str, str, bytes]], timeout_s: float) -> list[bool]:
        """``messages``: (subject, stream, key, body) each. Returns whether each was new to its stream;
        raises :class:`PublishFailed` when one was refused or an answer is missing after ``timeout_s``."""
        if not self.prefix:
            await self.start()
        batch = _Batch([(m[0], m[1]) for m in messages], [False] * len(messages), len(messages),
                       asyncio.get_running_loop().create_future())  # fmt: skip
        tokens = [str(next(self.tokens)) for _ in messages]
        try:
            for i, (token, (subject, stream, key, body)) in enumerate(zip(tokens, messages, strict=True)):
                self.waiting[token] = (batch, i)
                headers = {"Nats-Msg-Id": header_key(key), "Nats-Expected-Stream": stream}
                await self.nc.publish(subject, body, reply=self.prefix + token, headers=headers)
            if messages:
                await asyncio.wait_for(batch.done, timeout_s)
        except TimeoutError:
            missing = f"{batch.left} of {len(messages)} messages"
            raise PublishFailed(f"{missing} not acknowledged by the broker in {timeout_s:g} s", batch.fresh) from None
        except PublishFailed as err:
            err.fresh = batch.fresh  # those acknowledged as new before the refusal: published, to be logged
            raise
        except Exception as err:  # the connection failed under a publish: the same for the caller
            raise PublishFailed(f"publishing failed: {type(err).__name__}: {err}", batch.fresh) from err
        finally:
            for token in tokens:
                self.waiting.pop(token, None)
            if batch.done.done() and not batch.done.cancelled():
                batch.done.exception()  # retrieved: a refusal raised here, or one after the loop had failed
        return batch.fresh

    async def _on_reply(self, msg: Any) -> None:
        entry = self.waiting.pop(msg.subject[len(self.prefix) :], None)
        if entry is None:  # the answer to a batch that already failed
            return
        batch, i = entry
        if batch.done.done():
            return
        subject, stream = batch.targets[i]
        if msg.headers and msg.headers.get("Status") == "503":
            batch.done.set_exception(PublishFailed(f"{subject}: no stream takes this subject (expected {stream})"))
            return
        try:
            ack = orjson.loads(msg.data)
        except orjson.JSONDecodeError:
            ack = None
        if not isinstance(ack, dict):
            ack = {"error": {"description": f"an answer that is not a JSON object: {msg.data[:100]!r}"}}
        if "error" in ack:
            problem = ack["error"].get("description", ack["error"]) if isinstance(ack["error"], dict) else ack["error"]
            batch.done.set_exception(PublishFailed(f"{subject} (stream {stream}) refused a message: {problem}"))
            return
        batch.fresh[i] = not ack.get("duplicate", False)
        batch.left -= 1
        if batch.left == 0:
            batch.done.set_result(None)
