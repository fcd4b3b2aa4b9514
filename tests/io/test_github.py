"""The GitHub client: every page of a list, errors that name the call, configuration checked."""

from __future__ import annotations

import pytest

from mlpipe.errors import GitHubError
from mlpipe.io.github import GitHub
from tests.fake_github import FakeGitHub

pytestmark = pytest.mark.integration


def test_paginate_reads_every_page(fake_github: FakeGitHub) -> None:
    for i in range(250):
        fake_github.state.add_comment(3, f"c{i}")
    gh = GitHub(fake_github.url, fake_github.repo, "t0ken")
    bodies = [c["body"] for c in gh.paginate("issues/3/comments")]
    assert bodies == [f"c{i}" for i in range(250)]
    assert fake_github.state.calls.count("GET /repos/someone/model/issues/3/comments") == 3


def test_errors_name_the_call_and_the_answer(fake_github: FakeGitHub) -> None:
    with pytest.raises(GitHubError, match=r"GET .*/pulls/404: HTTP 404"):
        GitHub(fake_github.url, fake_github.repo, "t0ken").get("pulls/404")
    with pytest.raises(GitHubError, match="HTTP 401"):
        GitHub(fake_github.url, fake_github.repo, "wrong").get("pulls/1")


def test_from_env_checks_repository_and_token(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("GH_TOKEN", raising=False)
    monkeypatch.delenv("GITHUB_TOKEN", raising=False)
    monkeypatch.setenv("GITHUB_REPOSITORY", "a/b; rm")
    with pytest.raises(GitHubError, match="owner/name"):
        GitHub.from_env()
    monkeypatch.setenv("GITHUB_REPOSITORY", "a/b")
    with pytest.raises(GitHubError, match="GH_TOKEN"):
        GitHub.from_env()
