"""``make deployable``: only main's head ships, and only once ci passed for it (fake GitHub API)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from mlpipe.errors import PipelineError
from mlpipe.io.github import GitHub
from mlpipe.tasks.deployable import deployable, main
from tests.fake_github import FakeGitHub

pytestmark = pytest.mark.integration
SHA, NEWER = "c" * 40, "d" * 40


def run(sha: str, workflow: str, status: str, conclusion: str | None, rid: int = 1) -> dict[str, object]:
    return {"id": rid, "head_sha": sha, "event": "push", "path": f".github/workflows/{workflow}", "status": status,
            "conclusion": conclusion, "run_attempt": 1}  # fmt: skip


def check(
    gh: FakeGitHub, sleep: Callable[[float], None] = lambda s: None, clock: Callable[[], float] = lambda: 0.0
) -> tuple[bool, str]:
    return deployable(GitHub(gh.url, gh.repo, "t0ken"), SHA, "main", "ci.yml", 60, 5, sleep=sleep, clock=clock)


def test_main_moved_on_means_no_deploy(fake_github: FakeGitHub) -> None:
    fake_github.state.branches["main"] = NEWER
    fake_github.state.runs.append(run(SHA, "ci.yml", "completed", "success"))
    ok, why = check(fake_github)
    assert not ok
    assert "moved on" in why


def test_head_with_green_ci_deploys(fake_github: FakeGitHub) -> None:
    fake_github.state.branches["main"] = SHA
    fake_github.state.runs += [
        run(SHA, "ci.yml", "completed", "success"),
        run(NEWER, "ci.yml", "completed", "failure", 2),  # another commit's ci
        run(SHA, "monitor.yml", "completed", "failure", 3),  # another workflow
    ]
    assert check(fake_github)[0]


def test_red_ci_fails_loudly(fake_github: FakeGitHub) -> None:
    fake_github.state.branches["main"] = SHA
    fake_github.state.runs.append(run(SHA, "ci.yml", "completed", "failure"))
    with pytest.raises(PipelineError, match=r"ci\.yml concluded failure"):
        check(fake_github)


def test_running_ci_is_awaited_and_a_timeout_is_an_error(fake_github: FakeGitHub) -> None:
    fake_github.state.branches["main"] = SHA
    fake_github.state.runs.append(run(SHA, "ci.yml", "in_progress", None))
    waits: list[float] = []

    def sleep(s: float) -> None:  # ci finishes while we wait
        waits.append(s)
        fake_github.state.runs[0] |= {"status": "completed", "conclusion": "success"}

    assert check(fake_github, sleep=sleep)[0]
    assert waits == [5]
    fake_github.state.runs[0] |= {"status": "queued", "conclusion": None}
    t = iter(range(0, 1000, 30))
    with pytest.raises(PipelineError, match="did not finish"):
        check(fake_github, clock=lambda: float(next(t)))


def test_main_writes_the_output(fake_github: FakeGitHub, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    fake_github.state.branches["main"] = NEWER
    for k, v in fake_github.env().items():
        monkeypatch.setenv(k, v)
    out = tmp_path / "out"
    monkeypatch.setenv("GITHUB_OUTPUT", str(out))
    main(["--sha", SHA])
    assert out.read_text() == "deploy=false\n"
    with pytest.raises(PipelineError, match="SHA must be"):
        main(["--sha", "HEAD; rm -rf /"])
