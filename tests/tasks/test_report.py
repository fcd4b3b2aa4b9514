"""``make report``'s edge: the base branch's plot files are read from git, and what is unreadable is left out."""

from __future__ import annotations

import json
import logging
import subprocess
from pathlib import Path

import pytest

from mlpipe.tasks.report import base_plots

pytestmark = pytest.mark.integration


def git(repo: Path, *args: str) -> None:
    subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True)


def test_base_plots_come_from_the_base_commit_and_bad_files_are_skipped(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    plots = tmp_path / "reports/plots"
    plots.mkdir(parents=True)
    roc = [{"fpr": 0.0, "tpr": 0.0}, {"fpr": 1.0, "tpr": 1.0}]
    (plots / "roc.json").write_text(json.dumps(roc))
    (plots / "calibration.json").write_text("{not json")
    git(tmp_path, "init", "-q", "-b", "main")
    git(tmp_path, "-c", "user.email=t@example.com", "-c", "user.name=t", "add", "-A")
    git(tmp_path, "-c", "user.email=t@example.com", "-c", "user.name=t", "commit", "-qm", "base")
    (plots / "roc.json").write_text("[]")  # the workspace's own file is not the base's
    monkeypatch.chdir(tmp_path)

    with caplog.at_level(logging.WARNING):
        got = base_plots("main", "reports/plots")
    assert got == {"roc": roc}, "precision_recall and importance are not on main; calibration is unreadable"
    assert "calibration.json is not readable JSON" in caplog.text
    assert base_plots("no-such-branch", "reports/plots") is None
    assert base_plots(None, "reports/plots") is None
