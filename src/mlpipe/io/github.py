"""The few GitHub REST calls the workflows' tasks make, with pagination done right.

``GITHUB_API_URL`` (set on every Actions runner; GitHub Enterprise too) and ``GITHUB_REPOSITORY``
say where; ``GH_TOKEN`` or ``GITHUB_TOKEN`` authenticates. Tests point the same code at a fake API
on 127.0.0.1.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx

from mlpipe.env import process_env
from mlpipe.errors import GitHubError

REPO = re.compile(r"^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$")


@dataclass
class GitHub:
    api_url: str
    repo: str
    token: str
    timeout_s: float = 30.0

    @classmethod
    def from_env(cls) -> GitHub:
        env = process_env()
        repo = env.github_repository
        if not REPO.match(repo):
            raise GitHubError(f"GITHUB_REPOSITORY must be owner/name, got {repo!r}")
        token = env.github_auth
        if not token:
            raise GitHubError("GH_TOKEN (or GITHUB_TOKEN) is not set")
        return cls(env.github_api_url.rstrip("/"), repo, token)

    def _call(self, method: str, url: str, **kw: Any) -> httpx.Response:
        if not url.startswith("http"):
            url = f"{self.api_url}/repos/{self.repo}/{url.lstrip('/')}"
        headers = {"Authorization": f"Bearer {self.token}", "Accept": "application/vnd.github+json",
                   "X-GitHub-Api-Version": "2022-11-28"}  # fmt: skip
        try:
            res = httpx.request(method, url, headers=headers, timeout=self.timeout_s, **kw)
        except httpx.HTTPError as err:
            raise GitHubError(f"{method} {url}: {type(err).__name__}: {err}") from err
        if res.status_code >= 400:
            raise GitHubError(f"{method} {url}: HTTP {res.status_code}: {res.text[:300]}")
        return res

    def get(self, path: str, **params: Any) -> Any:
        return self._call("GET", path, params=params).json()

    def paginate(self, path: str, **params: Any) -> Iterator[Any]:
        """Every item of a list endpoint, following the Link header (100 a page, not GitHub's 30)."""
        url: str | None = path
        query: dict[str, Any] | None = {"per_page": 100, **params}
        while url is not None:
            res = self._call("GET", url, params=query)
            body = res.json()
            yield from body if isinstance(body, list) else next(v for v in body.values() if isinstance(v, list))
            url = res.links.get("next", {}).get("url")
            query = None  # the next link carries the query

    def patch(self, path: str, body: dict[str, Any]) -> Any:
        return self._call("PATCH", path, json=body).json()

    def delete(self, path: str) -> None:
        self._call("DELETE", path)
