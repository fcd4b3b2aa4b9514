"""A small HTTP/1.1 load generator for ``make bench-serve``: raw asyncio streams, keep-alive, nothing to install.

Two modes:

- **closed loop** (:func:`closed_loop`): ``connections`` connections, each sends its next request as
  soon as the answer to its previous one arrived, for ``seconds`` (or until ``limit`` requests were
  sent). With one connection: one client's latency; with many: the most the server answers (saturation).
- **open loop** (:func:`open_loop`): requests are scheduled at fixed times (``rate`` a second) and
  handed to a pool of connections. Latency counts from the *scheduled* time, not from when a
  connection was free to send: a server that stalls is charged for every request that queued behind
  the stall (coordinated omission is not hidden). How late the client itself sent is reported apart
  (``lag_p99_ms``); requests still unsent when the run ends are counted (``unsent``), not dropped.

Requests are pre-encoded bytes (:func:`post`, :func:`get`), taken in turn: request ``i`` of a run is
``requests[i % len(requests)]``, across all connections. Responses are read by their status line and
``Content-Length`` (or chunked transfer coding). A connection the server closed, a malformed or late
answer or a refused connection is an *error*: counted, and the connection opened again for the next
request; nothing is retried.

Latencies are kept for answered requests only (2xx and non-2xx). A run that got no answer (zero
requests, a dead server) reports NaN percentiles and says so in ``note``; it never raises.
The event loop is uvloop's when uvloop is installed (uvicorn's own extra), else asyncio's.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import math
import time
from collections.abc import Callable, Coroutine, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

_LOOP_FACTORY: Callable[[], asyncio.AbstractEventLoop] | None
try:
    from uvloop import new_event_loop as _uvloop_new_event_loop
except ImportError:  # pragma: no cover - uvloop is a dependency wherever uvicorn runs with its extras
    _LOOP_FACTORY = None
else:
    _LOOP_FACTORY = _uvloop_new_event_loop

LOOP = "uvloop" if _LOOP_FACTORY is not None else "asyncio"
# (request index, status, body) of every answered request, e.g. to check the answers themselves.
OnResponse = Callable[[int, int, bytes], None]
T = TypeVar("T")
_CONNECT_BACKOFF_S = 0.01  # after a refused connection, so a dead server is not hammered in a tight loop


class ProtocolError(Exception):
    """The server's answer is not HTTP/1.x as this client reads it."""


def post(path: str, body: bytes, host: str, headers: Mapping[str, str] | None = None) -> bytes:
    """One pre-encoded ``POST`` with a JSON body (keep-alive: HTTP/1.1's default)."""
    extra = "".join(f"{k}: {v}\r\n" for k, v in (headers or {}).items())
    head = (
        f"POST {path} HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n{extra}\r\n"
    )
    return head.encode("latin-1") + body


def get(path: str, host: str, headers: Mapping[str, str] | None = None) -> bytes:
    """One pre-encoded ``GET``."""
    extra = "".join(f"{k}: {v}\r\n" for k, v in (headers or {}).items())
    return f"GET {path} HTTP/1.1\r\nHost: {host}\r\n{extra}\r\n".encode("latin-1")


def percentile(sorted_values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile ``q`` (0-100) of already sorted values; NaN when there are none."""
    if not sorted_values:
        return math.nan
    rank = max(1, math.ceil(q / 100 * len(sorted_values)))
    return sorted_values[min(rank, len(sorted_values)) - 1]


@dataclass
class Stats:
    """What one run did. ``sent`` counts requests written to a connection; ``errors`` counts refused
    connections as well as requests that got no (readable, timely) answer."""

    mode: str
    connections: int
    seconds: float = 0.0  # wall time of the run, first send to last answer
    scheduled: int = 0  # open loop: requests the schedule held; closed loop: = sent
    sent: int = 0
    ok: int = 0
    non_2xx: int = 0
    errors: int = 0
    unsent: int = 0  # open loop: scheduled but not sent before the run's end
    latencies: list[float] = field(default_factory=list, repr=False)  # seconds, answered requests
    lags: list[float] = field(default_factory=list, repr=False)  # open loop: actual - scheduled send time

    @property
    def answered(self) -> int:
        return self.ok + self.non_2xx

    @property
    def rps(self) -> float:
        """Answered requests (any status) per second of the run; NaN for a run of no time."""
        return self.answered / self.seconds if self.seconds > 0 else math.nan

    def summary(self) -> dict[str, Any]:
        """Counts, rate and latency percentiles in ms (NaN with a note when nothing was answered)."""
        lat = sorted(self.latencies)
        lag = sorted(self.lags)
        out: dict[str, Any] = {
            "mode": self.mode,
            "connections": self.connections,
            "seconds": self.seconds,
            "scheduled": self.scheduled,
            "sent": self.sent,
            "ok": self.ok,
            "non_2xx": self.non_2xx,
            "errors": self.errors,
            "unsent": self.unsent,
            "rps": self.rps,
            "ok_rps": self.ok / self.seconds if self.seconds > 0 else math.nan,
        }
        for name, q in (("p50", 50.0), ("p90", 90.0), ("p99", 99.0), ("max", 100.0)):
            out[f"{name}_ms"] = percentile(lat, q) * 1000
        if self.mode == "open":
            out["lag_p99_ms"] = percentile(lag, 99.0) * 1000
        out["note"] = "" if lat else "no request was answered: latencies are NaN"
        return out


async def _read_chunked(reader: asyncio.StreamReader) -> bytes:
    parts: list[bytes] = []
    while True:
        size = int((await reader.readuntil(b"\r\n")).split(b";", 1)[0].strip(), 16)
        if size == 0:
            while await reader.readuntil(b"\r\n") != b"\r\n":  # trailer fields, if any
                pass
            return b"".join(parts)
        parts.append(await reader.readexactly(size))
        if await reader.readexactly(2) != b"\r\n":
            raise ProtocolError("chunk not followed by CRLF")


async def read_response(reader: asyncio.StreamReader) -> tuple[int, bytes, bool]:
    """``(status, body, server closes the connection)`` of one HTTP/1.x response."""
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head[:-4].split(b"\r\n")
    version, _, rest = lines[0].partition(b" ")
    if not version.startswith(b"HTTP/1.") or not rest[:3].isdigit():
        raise ProtocolError(f"not an HTTP/1.x status line: {lines[0][:80]!r}")
    status = int(rest[:3])
    length: int | None = None
    chunked = False
    close = version == b"HTTP/1.0"
    for line in lines[1:]:
        name, _, value = line.partition(b":")
        name, value = name.strip().lower(), value.strip().lower()
        if name == b"content-length":
            length = int(value)
        elif name == b"transfer-encoding":
            chunked = value.endswith(b"chunked")
        elif name == b"connection":
            close = value == b"close" or (close and value != b"keep-alive")
    if chunked:
        return status, await _read_chunked(reader), close
    if length is not None:
        return status, await reader.readexactly(length), close
    if 100 <= status < 200 or status in (204, 304):
        return status, b"", close
    return status, await reader.read(), True  # delimited by the connection's end


class _Connection:
    def __init__(self, host: str, port: int, timeout: float) -> None:
        self.host, self.port, self.timeout = host, port, timeout
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def connect(self) -> None:
        if self.writer is None:
            async with asyncio.timeout(self.timeout):
                self.reader, self.writer = await asyncio.open_connection(self.host, self.port)

    async def exchange(self, request: bytes) -> tuple[int, bytes]:
        assert self.reader is not None
        assert self.writer is not None
        async with asyncio.timeout(self.timeout):
            self.writer.write(request)
            await self.writer.drain()
            status, body, close = await read_response(self.reader)
        if close:
            await self.close()
        return status, body

    async def close(self) -> None:
        writer, self.reader, self.writer = self.writer, None, None
        if writer is not None:
            writer.close()
            with contextlib.suppress(OSError, TimeoutError):  # the peer is gone already: closed is closed
                await writer.wait_closed()


_FAILED = (OSError, TimeoutError, EOFError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, ValueError,
           ProtocolError)  # fmt: skip


class _Run:
    def __init__(self, stats: Stats, requests: Sequence[bytes], on_response: OnResponse | None) -> None:
        if not requests:
            raise ValueError("no requests to send")
        self.stats, self.requests, self.on_response = stats, requests, on_response

    async def one(self, conn: _Connection, i: int, t0: float) -> None:
        """Request ``i``, its latency counted from ``t0``."""
        stats = self.stats
        try:
            await conn.connect()
        except _FAILED:
            stats.errors += 1
            await conn.close()
            await asyncio.sleep(_CONNECT_BACKOFF_S)
            return
        stats.sent += 1
        try:
            status, body = await conn.exchange(self.requests[i % len(self.requests)])
        except _FAILED:
            stats.errors += 1
            await conn.close()
            return
        stats.latencies.append(time.perf_counter() - t0)
        if 200 <= status < 300:
            stats.ok += 1
        else:
            stats.non_2xx += 1
        if self.on_response is not None:
            self.on_response(i, status, body)


async def _preconnect(conns: Sequence[_Connection]) -> None:
    """Open the connections before the clock starts (one that fails is retried, and counted, when used)."""
    results = await asyncio.gather(*(c.connect() for c in conns), return_exceptions=True)
    for conn, res in zip(conns, results, strict=True):
        if isinstance(res, BaseException):
            await conn.close()


async def closed_loop(
    host: str,
    port: int,
    requests: Sequence[bytes],
    connections: int,
    seconds: float | None = None,
    limit: int | None = None,
    timeout: float = 10.0,
    on_response: OnResponse | None = None,
) -> Stats:
    """Each connection sends its next request when its answer arrived, until ``seconds`` passed or
    ``limit`` requests were taken (whichever comes first; a request under way is finished)."""
    if seconds is None and limit is None:
        raise ValueError("closed_loop needs seconds, limit or both")
    stats = Stats("closed", connections)
    run = _Run(stats, requests, on_response)
    conns = [_Connection(host, port, timeout) for _ in range(connections)]
    await _preconnect(conns)
    counter = itertools.count()
    start = time.perf_counter()
    deadline = start + seconds if seconds is not None else math.inf

    async def worker(conn: _Connection) -> None:
        try:
            while (t0 := time.perf_counter()) < deadline:
                i = next(counter)
                if limit is not None and i >= limit:
                    return
                await run.one(conn, i, t0)
        finally:
            await conn.close()

    await asyncio.gather(*(worker(c) for c in conns))
    stats.seconds = time.perf_counter() - start
    stats.scheduled = stats.sent
    return stats


async def open_loop(
    host: str,
    port: int,
    requests: Sequence[bytes],
    rate: float,
    seconds: float,
    connections: int = 16,
    timeout: float = 10.0,
    drain: float | None = None,
    on_response: OnResponse | None = None,
) -> Stats:
    """``rate`` requests a second for ``seconds``, at fixed times, over at most ``connections``
    connections at once; latency from each request's scheduled time. Requests not sent within
    ``drain`` seconds (default: ``timeout``) after the schedule's end are counted as ``unsent``."""
    if rate <= 0:
        raise ValueError("rate must be positive")
    stats = Stats("open", connections)
    run = _Run(stats, requests, on_response)
    stats.scheduled = n = max(0, round(rate * seconds))
    queue: asyncio.Queue[tuple[int, float] | None] = asyncio.Queue()
    conns = [_Connection(host, port, timeout) for _ in range(connections)]
    await _preconnect(conns)
    start = time.perf_counter()
    give_up = start + seconds + (timeout if drain is None else drain)

    async def schedule() -> None:
        for i in range(n):
            due = start + i / rate
            if (wait := due - time.perf_counter()) > 0:
                await asyncio.sleep(wait)
            queue.put_nowait((i, due))
        for _ in conns:
            queue.put_nowait(None)

    async def worker(conn: _Connection) -> None:
        try:
            while (item := await queue.get()) is not None:
                i, due = item
                now = time.perf_counter()
                if now > give_up:
                    stats.unsent += 1
                    continue
                stats.lags.append(now - due)
                await run.one(conn, i, due)
        finally:
            await conn.close()

    await asyncio.gather(schedule(), *(worker(c) for c in conns))
    stats.seconds = time.perf_counter() - start
    return stats


def run(coro: Coroutine[Any, Any, T]) -> T:
    """Run a load test to completion in a new event loop: uvloop's when installed, else asyncio's."""
    with asyncio.Runner(loop_factory=_LOOP_FACTORY) as runner:
        return runner.run(coro)
