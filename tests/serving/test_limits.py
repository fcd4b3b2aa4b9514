"""What a connection may cost a worker (serve.http in params.yaml), over a real socket: header size,
header time, idle keep-alive, concurrency. Small limits here so each case is quick to reach."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest
import yaml

from mlpipe.io.pipeline import DVC_YAML, pipeline_paths
from tests.servers import Served, Server, copy_trained, start_server, stop_server, wait_bound

pytestmark = pytest.mark.integration
LIMITS = {"max_header_bytes": 4096, "header_timeout_s": 1.5, "keep_alive_s": 1, "max_concurrency": 4}


@pytest.fixture(scope="module")
def limited(served: Served, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    repo = copy_trained(served.repo, tmp_path_factory.mktemp("limited") / "repo")
    params_file = pipeline_paths(repo / DVC_YAML).under(repo).params
    params = yaml.safe_load(params_file.read_text())
    params["serve"]["http"] = LIMITS
    params_file.write_text(yaml.safe_dump(params, sort_keys=False))
    server = start_server(repo, repo.parent / "plog")
    yield server
    stop_server(server)


def connect(server: Server) -> socket.socket:
    host, port = server.url.removeprefix("http://").split(":")
    s = socket.create_connection((host, int(port)), timeout=wait_bound())
    return s


def read_all(s: socket.socket) -> bytes:
    """Everything the server sends until it closes the connection (bounded by the socket's timeout)."""
    out = b""
    while chunk := s.recv(65536):
        out += chunk
    return out


def get(path: str = "/health", extra: bytes = b"") -> bytes:
    return b"GET " + path.encode() + b" HTTP/1.1\r\nHost: t\r\n" + extra + b"\r\n"


def test_headers_over_the_limit_get_431_and_the_connection_closed(limited: Server) -> None:
    with connect(limited) as s:
        s.sendall(get(extra=b"X-Big: " + b"a" * 8000 + b"\r\n"))
        reply = read_all(s)
    assert reply.startswith(b"HTTP/1.1 431 "), reply[:200]
    assert b"max_header_bytes (4096)" in reply
    with connect(limited) as s:  # under the limit: answered, and the worker is fine
        s.sendall(get(extra=b"X-Small: " + b"a" * 1000 + b"\r\nConnection: close\r\n"))
        assert read_all(s).startswith(b"HTTP/1.1 200 ")


def test_a_slow_sender_and_an_idle_connection_are_closed(limited: Server) -> None:
    """One header line every 0.3 s (never finishing) and a connection that sends nothing: both get 408."""
    with connect(limited) as s:
        s.sendall(b"GET /health HTTP/1.1\r\nHost: t\r\n")
        closed = False
        for i in range(100):  # would take 30 s; the limit is 1.5 s
            try:
                s.sendall(f"X-Slow-{i}: 1\r\n".encode())
            except (BrokenPipeError, ConnectionResetError):
                closed = True
                break
            s.settimeout(0.3)
            try:
                data = s.recv(65536)
            except TimeoutError:
                continue
            assert data.startswith(b"HTTP/1.1 408 "), data[:200]
            closed = True
            break
    assert closed, "a client sending one header line every 0.3 s was held 30 s"
    with connect(limited) as s:
        assert read_all(s).startswith(b"HTTP/1.1 408 ")


def test_an_idle_keep_alive_connection_is_closed(limited: Server) -> None:
    with connect(limited) as s:
        s.sendall(get())
        reply = read_all(s)  # the answer, then the close after keep_alive_s of silence (not the socket's timeout)
    assert reply.startswith(b"HTTP/1.1 200 ")


def test_beyond_the_concurrency_limit_requests_get_503(limited: Server) -> None:
    idle = [connect(limited) for _ in range(int(LIMITS["max_concurrency"]))]
    try:
        with connect(limited) as s:
            s.sendall(get(extra=b"Connection: close\r\n"))
            assert read_all(s).startswith(b"HTTP/1.1 503 ")
    finally:
        for s in idle:
            s.close()
