"""``make comment`` (pr-comment.yml) against a fake GitHub API on 127.0.0.1.

CML itself cannot be installed here, so a stand-in does what CML 0.20.6's ``comment update``
does (src/cml.js, src/drivers/github.js at that tag): append its watermark, list the PR's
comments with ONE unpaginated call (GitHub's first 30), update the last watermarked one found
there or else create a new comment. Everything around it is ours and runs for real: the Makefile
recipe, the PR/head check, the Markdown preparation and the reconcile step.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from mlpipe.core.comment import cml_watermark_pattern
from mlpipe.tasks.comment import prepare
from tests.fake_github import FakeGitHub

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]
HEAD = "a" * 40
TITLE = "mlpipe model report"
CML_0_20_6 = r"""
import json, os, re, sys, urllib.request
args = sys.argv[1:]
assert args[:2] == ["comment", "update"], args
target = next(a for a in args if a.startswith("--target=")).split("/", 1)[1]
title = next(a for a in args if a.startswith("--watermark-title=")).split("=", 1)[1]
open(os.environ["CML_ARGS"], "a").write(" ".join(args) + "\n")
report = open(args[-1]).read()
esc = re.sub(r"([_*\[<])", r"\\\1", "CML watermark " + title)
body = report + "\n\n" + '![](https://cml.dev/watermark.png#' + os.environ.get("FAKE_SHA", "abc") + ' "' + esc + '")'
api = os.environ["GITHUB_API_URL"] + "/repos/" + os.environ["GITHUB_REPOSITORY"]
def call(method, url, data=None):
    req = urllib.request.Request(url, method=method, data=None if data is None else json.dumps(data).encode(),
                                 headers={"Authorization": "Bearer " + os.environ["REPO_TOKEN"]})
    with urllib.request.urlopen(req) as res:
        return json.loads(res.read() or b"null")
first_page = call("GET", f"{api}/issues/{target}/comments")  # no per_page, no pagination: CML 0.20.6
mark = re.compile(r"!\[\]\(https://cml\.dev/watermark\.png#[0-9a-fA-F]+ \"" + re.escape(esc) + r"\"\)")
found = next((c for c in reversed(first_page) if mark.search(c["body"])), None)
if found:
    call("PATCH", f"{api}/issues/comments/{found['id']}", {"body": body})
else:
    call("POST", f"{api}/issues/{target}/comments", {"body": body})
"""


def make_comment(tmp_path: Path, gh: FakeGitHub, pr: str, report: str, **env: str) -> subprocess.CompletedProcess[str]:
    work = tmp_path / "work"
    (work / "reports" / "plots").mkdir(parents=True, exist_ok=True)
    (work / "reports" / "pr-number.txt").write_text(pr + "\n")
    (work / "reports" / "report.md").write_text(report)
    for name in ("Makefile", "pyproject.toml", "dvc.yaml"):
        (work / name).write_bytes((ROOT / name).read_bytes())
    cml = tmp_path / "cml.py"
    cml.write_text(CML_0_20_6)
    venv = Path(sys.executable).parent.parent
    full = {**os.environ, **gh.env(), "REPO_TOKEN": "t0ken", "HEAD_SHA": HEAD, "CML": f"{sys.executable} {cml}",
            "CML_ARGS": str(tmp_path / "cml-args"), "VENV": str(venv), **env}  # fmt: skip
    cmd = ["make", "--no-print-directory", "-o", f"{venv}/.installed", "comment"]
    return subprocess.run(cmd, cwd=work, env=full, capture_output=True, text=True, check=False)


def reports_on(gh: FakeGitHub, pr: int) -> list[dict[str, object]]:
    mark = cml_watermark_pattern(TITLE)
    return [c for c in gh.state.comments.get(pr, []) if mark.search(str(c["body"]))]


def test_one_comment_updated_in_place_even_after_30_other_comments(tmp_path: Path, fake_github: FakeGitHub) -> None:
    gh = fake_github
    gh.state.pulls[7] = HEAD
    for i in range(35):  # a busy review before the first report: it lands beyond CML's first page
        gh.state.add_comment(7, f"review comment {i}")
    res = make_comment(tmp_path, gh, "7", "# report v1\n")
    assert res.returncode == 0, res.stdout + res.stderr
    (first,) = reports_on(gh, 7)
    for version in ("v2", "v3"):
        gh.state.add_comment(7, f"more review before {version}")
        res = make_comment(tmp_path, gh, "7", f"# report {version}\n")
        assert res.returncode == 0, res.stdout + res.stderr
        (only,) = reports_on(gh, 7)
        assert only["id"] == first["id"], "the report keeps its place in the thread"
        assert f"# report {version}" in str(only["body"])
    assert len(gh.state.comments[7]) == 38
    assert "--no-publish" in (tmp_path / "cml-args").read_text()


def test_a_pr_whose_head_moved_on_gets_no_comment(tmp_path: Path, fake_github: FakeGitHub) -> None:
    fake_github.state.pulls[8] = "b" * 40
    res = make_comment(tmp_path, fake_github, "8", "# report\n")
    assert res.returncode != 0
    assert "is not the commit the pipeline ran on" in res.stdout + res.stderr
    assert not fake_github.state.comments.get(8)
    assert not (tmp_path / "cml-args").exists()


@pytest.mark.parametrize("pr", ["8; rm -rf /", "", "-1", "99999999999"])
def test_a_pr_number_that_is_not_a_number_is_refused(tmp_path: Path, fake_github: FakeGitHub, pr: str) -> None:
    res = make_comment(tmp_path, fake_github, pr, "# report\n")
    assert res.returncode != 0
    assert "not a pull-request number" in res.stdout + res.stderr
    assert fake_github.state.calls == []


def test_publishing_uploads_only_images_under_the_plots_folder(tmp_path: Path, fake_github: FakeGitHub) -> None:
    fake_github.state.pulls[9] = HEAD
    report = "# r\n\n![roc](plots/roc.svg)\n![key](../../.git-credentials)\n[x](/etc/passwd)\n\n[d]: /etc/shadow\n"
    (tmp_path / "work" / "reports" / "plots").mkdir(parents=True)
    (tmp_path / "work" / "reports" / "plots" / "roc.svg").write_text("<svg/>")
    res = make_comment(tmp_path, fake_github, "9", report, CML_PUBLISH="true")
    assert res.returncode == 0, res.stdout + res.stderr
    assert "--publish" in (tmp_path / "cml-args").read_text().split()
    posted = (tmp_path / "work" / "reports" / "comment.md").read_text()
    assert "![roc](plots/roc.svg)" in posted
    assert re.findall(r"(?<!\\)\]\(([^)]*)\)", posted) == ["plots/roc.svg"], "every other link is plain text"
    assert "\\[d\\]: /etc/shadow" in posted, "a reference definition is plain text too"


def test_prepare_cuts_a_huge_report_to_what_github_accepts(tmp_path: Path) -> None:
    report = tmp_path / "report.md"
    report.write_text("| a | b |\n" * 20_000)
    text = prepare(report, tmp_path / "plots", tmp_path / "comment.md", publish=False)
    assert len(text) < 65_536 - 400
    assert "report cut here" in text
