"""Micro-batching: a lone request never waits for company; requests arriving during a call share the next."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

import numpy as np
import pytest

from mlpipe.serving.batcher import MicroBatcher, Rows

pytestmark = pytest.mark.unit
HOUR = 3600.0


class Recorder:
    def __init__(self) -> None:
        self.calls: list[int] = []
        self.release = threading.Event()
        self.release.set()
        self.started = threading.Event()

    def score(self, rows: Rows, request_ids: list[str], gone: list[bool]) -> tuple[Any, np.ndarray]:
        self.calls.append(len(rows))
        self.started.set()
        self.release.wait(60)
        return None, np.array([float(r[0]) for r in rows])


def test_a_lone_request_is_scored_at_once() -> None:
    async def run() -> list[float]:
        rec = Recorder()
        b = MicroBatcher(rec.score, lambda *_: None, window_s=HOUR, max_rows=64, on_batch=lambda n: None)
        b.start()
        try:  # with an hour's window, only "scored at once" finishes in time
            return [await asyncio.wait_for(b.submit((i,), f"r{i}"), 60) for i in range(3)]
        finally:
            await b.stop()

    assert asyncio.run(run()) == [0.0, 1.0, 2.0]


def test_requests_arriving_during_a_call_share_the_next_one() -> None:
    async def run() -> tuple[list[int], list[float]]:
        rec = Recorder()
        rec.release.clear()
        b = MicroBatcher(rec.score, lambda *_: None, window_s=0.0, max_rows=4, on_batch=lambda n: None)
        b.start()
        loop = asyncio.get_running_loop()
        try:
            first = asyncio.ensure_future(b.submit((0,), "r0"))
            await loop.run_in_executor(None, rec.started.wait, 60)  # the first call is running
            rest = [asyncio.ensure_future(b.submit((i,), f"r{i}")) for i in range(1, 7)]
            await asyncio.sleep(0)
            rec.release.set()
            got = await asyncio.wait_for(asyncio.gather(first, *rest), 60)
            return rec.calls, got
        finally:
            await b.stop()

    calls, got = asyncio.run(run())
    assert got == [float(i) for i in range(7)]
    assert calls == [1, 4, 2]  # max_rows bounds a call


def test_a_full_call_never_waits_for_the_window() -> None:
    """Requests already waiting are scored together at once when they fill a call."""

    async def run() -> list[int]:
        rec = Recorder()
        rec.release.clear()
        b = MicroBatcher(rec.score, lambda *_: None, window_s=HOUR, max_rows=2, on_batch=lambda n: None)
        b.start()
        loop = asyncio.get_running_loop()
        try:
            first = asyncio.ensure_future(b.submit((0,), "r0"))
            await loop.run_in_executor(None, rec.started.wait, 60)
            rest = [asyncio.ensure_future(b.submit((i,), f"r{i}")) for i in (1, 2)]
            await asyncio.sleep(0)
            rec.release.set()
            await asyncio.wait_for(asyncio.gather(first, *rest), 60)  # an hour's window: only "at once" ends
            return rec.calls
        finally:
            await b.stop()

    assert asyncio.run(run()) == [1, 2]
