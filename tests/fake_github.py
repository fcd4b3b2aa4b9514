"""A fake of the few GitHub REST endpoints the workflows' tasks call, served on 127.0.0.1.

Pagination behaves like GitHub's: 30 items a page unless ``per_page`` (max 100) says otherwise,
``page`` picks one, and a ``Link: <...>; rel="next"`` header points at the next page.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest


@dataclass
class State:
    comments: dict[int, list[dict[str, Any]]] = field(default_factory=dict)  # PR -> comments in order
    pulls: dict[int, str] = field(default_factory=dict)  # PR -> head sha
    branches: dict[str, str] = field(default_factory=dict)  # branch -> sha
    runs: list[dict[str, Any]] = field(default_factory=list)
    calls: list[str] = field(default_factory=list)
    next_id: int = 1000

    def add_comment(self, pr: int, body: str) -> int:
        self.next_id += 1
        self.comments.setdefault(pr, []).append({"id": self.next_id, "body": body})
        return self.next_id


@dataclass
class FakeGitHub:
    url: str
    repo: str
    state: State

    def env(self, token: str = "t0ken") -> dict[str, str]:
        return {"GITHUB_API_URL": self.url, "GITHUB_REPOSITORY": self.repo, "GH_TOKEN": token}


def _handler(state: State, repo: str) -> type[BaseHTTPRequestHandler]:
    prefix = f"/repos/{repo}/"

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:  # quiet
            pass

        def _send(self, status: int, body: Any = None, headers: dict[str, str] | None = None) -> None:
            data = b"" if body is None else json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            for k, v in (headers or {}).items():
                self.send_header(k, v)
            self.end_headers()
            self.wfile.write(data)

        def _page(self, items: list[Any], path: str, query: dict[str, list[str]], wrap: str | None = None) -> None:
            per = min(int(query.get("per_page", ["30"])[0]), 100)
            page = int(query.get("page", ["1"])[0])
            chunk = items[(page - 1) * per : page * per]
            headers = {}
            if page * per < len(items):
                rest = "&".join(f"{k}={v[0]}" for k, v in query.items() if k not in ("page", "per_page"))
                nxt = f"http://{self.headers['Host']}{path}?per_page={per}&page={page + 1}" + (
                    f"&{rest}" if rest else ""
                )
                headers["Link"] = f'<{nxt}>; rel="next"'
            self._send(200, {wrap: chunk, "total_count": len(items)} if wrap else chunk, headers)

        def _route(self, method: str) -> None:  # noqa: PLR0911, PLR0912 - one fake, many routes
            parts = urlsplit(self.path)
            query = parse_qs(parts.query)
            state.calls.append(f"{method} {parts.path}")
            if self.headers.get("Authorization") != "Bearer t0ken":
                return self._send(401, {"message": "Bad credentials"})
            if not parts.path.startswith(prefix):
                return self._send(404, {"message": "Not Found"})
            rest = parts.path[len(prefix) :]
            length = int(self.headers.get("Content-Length") or 0)
            body = json.loads(self.rfile.read(length)) if length else {}
            if m := re.fullmatch(r"issues/(\d+)/comments", rest):
                pr = int(m.group(1))
                if method == "GET":
                    return self._page(state.comments.get(pr, []), parts.path, query)
                if method == "POST":
                    cid = state.add_comment(pr, body["body"])
                    return self._send(201, {"id": cid, "body": body["body"]})
            if m := re.fullmatch(r"issues/comments/(\d+)", rest):
                cid = int(m.group(1))
                for comments in state.comments.values():
                    for i, c in enumerate(comments):
                        if c["id"] == cid:
                            if method == "PATCH":
                                c["body"] = body["body"]
                                return self._send(200, c)
                            if method == "DELETE":
                                del comments[i]
                                return self._send(204)
                return self._send(404, {"message": "Not Found"})
            if (m := re.fullmatch(r"pulls/(\d+)", rest)) and method == "GET":
                pr = int(m.group(1))
                if pr not in state.pulls:
                    return self._send(404, {"message": "Not Found"})
                return self._send(200, {"number": pr, "head": {"sha": state.pulls[pr]}})
            if (m := re.fullmatch(r"commits/([\w./-]+)", rest)) and method == "GET":
                sha = state.branches.get(m.group(1), m.group(1))
                return self._send(200, {"sha": sha})
            if rest == "actions/runs" and method == "GET":
                runs = [r for r in state.runs if all(str(r.get(k)) == v[0] for k, v in query.items()
                                                     if k in ("head_sha", "event"))]  # fmt: skip
                return self._page(runs, parts.path, query, wrap="workflow_runs")
            return self._send(404, {"message": f"fake: no route {method} {rest}"})

        def do_GET(self) -> None:
            self._route("GET")

        def do_POST(self) -> None:
            self._route("POST")

        def do_PATCH(self) -> None:
            self._route("PATCH")

        def do_DELETE(self) -> None:
            self._route("DELETE")

    return Handler


@pytest.fixture
def fake_github() -> Iterator[FakeGitHub]:
    state, repo = State(), "someone/model"
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(state, repo))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield FakeGitHub(f"http://127.0.0.1:{server.server_address[1]}", repo, state)
    finally:
        server.shutdown()
        server.server_close()
