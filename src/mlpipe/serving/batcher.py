"""Micro-batching: concurrent single-record requests scored in one model call.

A model call has a large fixed cost (one Python call per tree, building the frame and the log
line) and a small cost per row, so requests that arrive while a call runs are scored together in
the next one (at most ``max_rows``). A request that finds others already waiting also waits up to
``window`` seconds for more; a lone request is scored at once (waiting would only add latency).
The model runs in one worker thread, so the event loop keeps accepting requests meanwhile. ``score``
writes the prediction log (to the OS: a killed process loses nothing it answered) before the answers
are handed back; ``after`` (the shadow challenger's scoring) runs once they are, off their latency.
Each request may bring a ``gone`` probe (the client's disconnect check): asked just before the call,
it marks the rows of clients that left before their answer, in the same log line.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np

log = logging.getLogger(__name__)

Rows = Sequence[tuple[Any, ...]]
# score(rows, request_ids, gone) -> (the scored frame, probabilities), logged; after(that, request_ids, probabilities)
ScoreFn = Callable[[Rows, list[str], list[bool]], tuple[Any, np.ndarray]]
GoneFn = Callable[[], Awaitable[bool]]
Item = tuple[tuple[Any, ...], str, "asyncio.Future[float]", GoneFn | None]
AfterFn = Callable[[Any, list[str], np.ndarray], None]


class MicroBatcher:
    def __init__(
        self, score: ScoreFn, after: AfterFn, window_s: float, max_rows: int, on_batch: Callable[[int], None]
    ) -> None:
        self.score, self.after = score, after
        self.window_s, self.max_rows = window_s, max_rows
        self.on_batch = on_batch
        self.executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="scorer")
        self.log_executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="predlog")
        self._queue: asyncio.Queue[Item] = asyncio.Queue()
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run(), name="micro-batcher")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        self.executor.shutdown(wait=True)
        self.log_executor.shutdown(wait=True)

    async def submit(self, row: tuple[Any, ...], request_id: str, gone: GoneFn | None = None) -> float:
        fut: asyncio.Future[float] = asyncio.get_running_loop().create_future()
        await self._queue.put((row, request_id, fut, gone))
        return await fut

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            items = [await self._queue.get()]
            while len(items) < self.max_rows and not self._queue.empty():
                items.append(self._queue.get_nowait())
            deadline = loop.time() + (self.window_s if len(items) > 1 else 0.0)
            while len(items) < self.max_rows:
                try:
                    items.append(self._queue.get_nowait())
                    continue
                except asyncio.QueueEmpty:
                    pass
                remaining = deadline - loop.time()
                if remaining <= 0:
                    break
                try:
                    items.append(await asyncio.wait_for(self._queue.get(), remaining))
                except TimeoutError:
                    break
            await self._score(items)

    async def _score(self, items: list[Item]) -> None:
        rows = [i[0] for i in items]
        rids = [i[1] for i in items]
        gone = [fut.cancelled() or (probe is not None and await probe()) for _, _, fut, probe in items]
        loop = asyncio.get_running_loop()
        try:
            scored, proba = await loop.run_in_executor(self.executor, self.score, rows, rids, gone)
        except Exception as err:  # the requests fail, the batcher lives on
            log.exception("scoring a micro-batch of %d failed", len(items))
            for _, _, fut, _ in items:
                if not fut.done():
                    fut.set_exception(err)
            return
        for (_, _, fut, _), p in zip(items, proba.tolist(), strict=True):
            if not fut.done():  # a client that went away cancelled its future
                fut.set_result(p)
        self.on_batch(len(items))
        loop.run_in_executor(self.log_executor, self.after, scored, rids, proba)
