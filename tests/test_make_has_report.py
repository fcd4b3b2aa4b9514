"""``make has-report`` (pr-comment.yml): a pipeline run without a report is a quiet no-op, not a red run."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[1]
GH = """#!/usr/bin/env bash
echo "$*" >> "$GH_CALLS"
echo "$FAKE_COUNT"
"""


def has_report(tmp_path: Path, run_id: str, count: int) -> tuple[subprocess.CompletedProcess[str], str]:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    (bin_dir / "gh").write_text(GH)
    (bin_dir / "gh").chmod(0o755)
    out = tmp_path / "github_output"
    out.write_text("")
    env = {**os.environ, "PATH": f"{bin_dir}:{os.environ['PATH']}", "RUN_ID": run_id, "FAKE_COUNT": str(count),
           "GITHUB_REPOSITORY": "someone/model", "GITHUB_OUTPUT": str(out),
           "GH_CALLS": str(tmp_path / "calls")}  # fmt: skip
    res = subprocess.run(["make", "--no-print-directory", "has-report"], cwd=ROOT, env=env, capture_output=True,
                         text=True, check=False)  # fmt: skip
    return res, out.read_text()


def test_a_run_with_a_report_is_posted(tmp_path: Path) -> None:
    res, out = has_report(tmp_path, "123", 1)
    assert res.returncode == 0, res.stderr
    assert out == "found=true\n"
    assert (tmp_path / "calls").read_text().startswith("api repos/someone/model/actions/runs/123/artifacts")


def test_a_run_without_a_report_is_skipped_quietly(tmp_path: Path) -> None:
    res, out = has_report(tmp_path, "124", 0)
    assert res.returncode == 0, res.stderr
    assert out == "found=false\n"
    assert "uploaded no report" in res.stdout


def test_a_run_id_that_is_not_a_number_is_refused(tmp_path: Path) -> None:
    res, _ = has_report(tmp_path, "1; rm -rf /", 1)
    assert res.returncode != 0
    assert "RUN_ID must be a number" in res.stdout
    assert not (tmp_path / "calls").exists()
