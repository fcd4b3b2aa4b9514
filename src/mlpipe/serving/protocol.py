"""uvicorn's httptools protocol with the two bounds it lacks: header size and header time.

uvicorn bounds the body (our ``max_body_bytes``), idle keep-alive connections and concurrency, but
with httptools it reads request headers of any size (a 50 MB header was accepted, before any auth)
and waits for them forever (one header line every 5 s held a connection 50 s, an idle new connection
40 s+). Here the request line and headers together may take ``max_header_bytes`` (then 431) and must
arrive within ``header_timeout_s`` of the connection or of the previous response (then 408); either
way the connection is closed. A reverse proxy adds more (TLS, per-client rate limits, buffering of
slow bodies): see docs/serving.md.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from mlpipe.config import HttpLimits

log = logging.getLogger(__name__)

_REASONS = {408: b"Request Timeout", 431: b"Request Header Fields Too Large"}


class _TooLarge(Exception):
    """Raised from a parser callback: httptools stops parsing this connection's data."""


class BoundedHttpTools(HttpToolsProtocol):
    """One connection; uvicorn builds it with ``config``, ``server_state`` and ``app_state``."""

    def __init__(self, *args: Any, limits: HttpLimits, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.limits = limits
        self._header_bytes = 0
        self._header_timer: asyncio.TimerHandle | None = None
        self._refused = False

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm()  # a connection that never sends a byte is closed too

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if self._refused:
            return
        super().data_received(data)

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._header_bytes = 0
        if self._header_timer is None:  # armed at the connection, or now for the next request
            self._arm()

    def on_url(self, url: bytes) -> None:
        self._count(len(url))
        super().on_url(url)

    def on_header(self, name: bytes, value: bytes) -> None:
        self._count(len(name) + len(value) + 4)  # "name: value\r\n"
        super().on_header(name, value)

    def on_headers_complete(self) -> None:
        self._disarm()
        super().on_headers_complete()

    def send_400_response(self, msg: str) -> None:
        if not self._refused:  # already answered 431 (the parser saw our callback raise)
            super().send_400_response(msg)

    def _count(self, n: int) -> None:
        self._header_bytes += n
        if self._header_bytes > self.limits.max_header_bytes:
            limit = self.limits.max_header_bytes
            self._refuse(431, f"request line and headers over serve.http.max_header_bytes ({limit})")
            raise _TooLarge

    def _arm(self) -> None:
        self._header_timer = self.loop.call_later(self.limits.header_timeout_s, self._timed_out)

    def _disarm(self) -> None:
        if self._header_timer is not None:
            self._header_timer.cancel()
            self._header_timer = None

    def _timed_out(self) -> None:
        self._header_timer = None
        if self.cycle is not None and not self.cycle.response_complete:
            return  # a request is being answered (pipelined data): never cut it off
        self._refuse(408, f"request line and headers not received within serve.http.header_timeout_s "
                          f"({self.limits.header_timeout_s:g} s)")  # fmt: skip

    def _refuse(self, status: int, msg: str) -> None:
        self._refused = True
        self._disarm()
        if self.transport.is_closing():
            return
        log.warning("closing a connection from %s: %d %s", _peer(self.client), status, msg)
        body = msg.encode()
        self.transport.write(
            b"HTTP/1.1 %d %s\r\ncontent-type: text/plain; charset=utf-8\r\ncontent-length: %d\r\n"
            b"connection: close\r\n\r\n%s" % (status, _REASONS[status], len(body), body)
        )
        self.transport.close()


def _peer(client: tuple[str, int] | None) -> str:
    return f"{client[0]}:{client[1]}" if client else "?"
