"""``bench.loadgen`` against a real tiny HTTP/1.1 server on 127.0.0.1: counts, not speed.

The server answers by the request body: ``ok`` -> 200, ``bad`` -> 500, ``chunked`` -> 200 in
chunked transfer coding, ``close`` -> closes the connection without an answer. It counts what it
answered, so the client's counts can be checked against it. Nothing here asserts time or throughput.
"""

from __future__ import annotations

import math
import socket
import threading
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from bench import loadgen


@dataclass
class Answered:
    counts: Counter[int] = field(default_factory=Counter)
    lock: threading.Lock = field(default_factory=threading.Lock)


@dataclass
class Tiny:
    host: str
    port: int
    answered: Answered

    def requests(self, *bodies: bytes) -> list[bytes]:
        return [loadgen.post("/predict", b, f"{self.host}:{self.port}") for b in bodies]


@pytest.fixture
def tiny() -> Iterator[Tiny]:
    answered = Answered()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive
        disable_nagle_algorithm = True  # headers and body are written apart: no 40 ms delayed-ACK stalls

        def log_message(self, format: str, *args: object) -> None:  # quiet
            pass

        def count(self, status: int) -> None:  # before the answer goes out: the client may be done on reading it
            with answered.lock:
                answered.counts[status] += 1

        def answer(self, status: int, body: bytes) -> None:
            self.count(status)
            self.send_response(status)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            if body == b"close":
                self.close_connection = True
                return
            if body == b"chunked":
                self.count(200)
                self.send_response(200)
                self.send_header("Transfer-Encoding", "chunked")
                self.end_headers()
                self.wfile.write(b"3\r\nabc\r\n2;ext=1\r\nde\r\n0\r\n\r\n")
                return
            self.answer(500 if body == b"bad" else 200, body)

        def do_GET(self) -> None:
            self.answer(200, b"{}")

    class Server(ThreadingHTTPServer):
        daemon_threads = True
        request_queue_size = 128  # the default 5 drops the SYNs of pre-opened connections (1 s retries)

    server = Server(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield Tiny("127.0.0.1", int(server.server_address[1]), answered)
    finally:
        server.shutdown()
        server.server_close()
        thread.join(10)


@pytest.mark.integration
@pytest.mark.parametrize("connections", [1, 4])
def test_closed_loop_counts_match_the_server(tiny: Tiny, connections: int) -> None:
    seen: dict[int, tuple[int, bytes]] = {}
    reqs = tiny.requests(b"ok", b"ok", b"bad")
    stats = loadgen.run(
        loadgen.closed_loop(
            tiny.host, tiny.port, reqs, connections, limit=30, on_response=lambda i, s, b: seen.update({i: (s, b)})
        )
    )
    assert (stats.sent, stats.ok, stats.non_2xx, stats.errors) == (30, 20, 10, 0)
    assert stats.answered == sum(tiny.answered.counts.values()) == 30
    assert tiny.answered.counts == Counter({200: 20, 500: 10})
    assert sorted(seen) == list(range(30))  # every request once, answers matched to their request
    assert all(seen[i] == ((500, b"bad") if i % 3 == 2 else (200, b"ok")) for i in seen)
    s = stats.summary()
    assert s["ok"] == 20
    assert s["note"] == ""
    assert 0 < s["p50_ms"] <= s["p90_ms"] <= s["p99_ms"] <= s["max_ms"]


@pytest.mark.integration
def test_a_connection_the_server_closes_is_an_error_and_is_reopened(tiny: Tiny) -> None:
    stats = loadgen.run(loadgen.closed_loop(tiny.host, tiny.port, tiny.requests(b"ok", b"close"), 1, limit=10))
    assert (stats.sent, stats.ok, stats.non_2xx, stats.errors) == (10, 5, 0, 5)
    assert tiny.answered.counts == Counter({200: 5})
    assert len(stats.latencies) == 5  # latencies of answered requests only


@pytest.mark.integration
def test_chunked_answers_are_read(tiny: Tiny) -> None:
    bodies: list[bytes] = []
    stats = loadgen.run(
        loadgen.closed_loop(
            tiny.host,
            tiny.port,
            tiny.requests(b"chunked", b"ok"),
            1,
            limit=4,
            on_response=lambda i, s, b: bodies.append(b),
        )
    )
    assert (stats.ok, stats.errors) == (4, 0)
    assert bodies == [b"abcde", b"ok", b"abcde", b"ok"]


@pytest.mark.integration
def test_get_requests(tiny: Tiny) -> None:
    req = [loadgen.get("/health", f"{tiny.host}:{tiny.port}", {"X-Test": "1"})]
    stats = loadgen.run(loadgen.closed_loop(tiny.host, tiny.port, req, 2, limit=6))
    assert (stats.ok, stats.errors) == (6, 0)


@pytest.mark.integration
def test_open_loop_sends_the_scheduled_requests(tiny: Tiny) -> None:
    stats = loadgen.run(
        loadgen.open_loop(
            tiny.host, tiny.port, tiny.requests(b"ok", b"bad"), rate=200, seconds=0.5, connections=4, drain=60
        )
    )
    assert stats.scheduled == 100
    assert stats.sent + stats.unsent == 100
    assert stats.sent == 100  # the drain allows a whole minute of lateness: every request went out
    assert (stats.ok, stats.non_2xx, stats.errors) == (50, 50, 0)
    assert tiny.answered.counts == Counter({200: 50, 500: 50})
    s = stats.summary()
    assert s["mode"] == "open"
    assert s["lag_p99_ms"] >= 0
    assert len(stats.lags) == 100


@pytest.mark.integration
def test_zero_requests_do_not_crash(tiny: Tiny) -> None:
    reqs = tiny.requests(b"ok")
    for stats in (
        loadgen.run(loadgen.closed_loop(tiny.host, tiny.port, reqs, 2, seconds=0)),
        loadgen.run(loadgen.closed_loop(tiny.host, tiny.port, reqs, 2, limit=0)),
        loadgen.run(loadgen.open_loop(tiny.host, tiny.port, reqs, rate=100, seconds=0)),
    ):
        s = stats.summary()
        assert (s["sent"], s["ok"], s["non_2xx"], s["errors"]) == (0, 0, 0, 0)
        assert math.isnan(s["p50_ms"])
        assert math.isnan(s["p99_ms"])
        assert "no request was answered" in s["note"]
    assert sum(tiny.answered.counts.values()) == 0


@pytest.mark.integration
def test_a_dead_server_is_counted_not_raised() -> None:
    with socket.socket() as s:  # a port nothing listens on (bound, never listening)
        s.bind(("127.0.0.1", 0))
        port = int(s.getsockname()[1])
        reqs = [loadgen.post("/predict", b"ok", f"127.0.0.1:{port}")]
        stats = loadgen.run(loadgen.closed_loop("127.0.0.1", port, reqs, 1, limit=3, timeout=5))
    assert (stats.sent, stats.ok, stats.errors) == (0, 0, 3)
    assert "no request was answered" in stats.summary()["note"]


@pytest.mark.unit
def test_percentile_is_nearest_rank() -> None:
    values = [float(v) for v in range(1, 101)]
    assert loadgen.percentile(values, 50) == 50
    assert loadgen.percentile(values, 99) == 99
    assert loadgen.percentile(values, 100) == 100
    assert loadgen.percentile([7.0], 99) == 7
    assert math.isnan(loadgen.percentile([], 50))


@pytest.mark.unit
def test_nothing_to_send_is_refused() -> None:
    with pytest.raises(ValueError, match="no requests"):
        loadgen.run(loadgen.closed_loop("127.0.0.1", 1, [], 1, limit=1))
    with pytest.raises(ValueError, match="seconds, limit"):
        loadgen.run(loadgen.closed_loop("127.0.0.1", 1, [b"x"], 1))
