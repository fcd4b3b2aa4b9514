"""Throw-away repositories for integration tests: a copy of this repo's pipeline on chosen data."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import yaml

from mlpipe.config import parse_contract
from mlpipe.io.pipeline import DVC_YAML, child_env, pipeline_paths
from tests.datasets import write_data

ROOT = Path(__file__).resolve().parents[1]


def run(cwd: Path, *cmd: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    res = subprocess.run(cmd, cwd=cwd, env=child_env(cwd), capture_output=True, text=True, check=False)
    if check and res.returncode != 0:
        pytest.fail(f"{' '.join(cmd)} exited {res.returncode}\n{res.stdout[-3000:]}\n{res.stderr[-3000:]}")
    return res


def make_repo(
    tmp: Path, data: pd.DataFrame, params: dict[str, Any], contract: dict[str, Any], fmt: str = "csv"
) -> Path:
    """A git + DVC repository with this pipeline, ``data`` written as files in paths.data, committed on main."""
    repo = tmp / "repo"
    repo.mkdir()
    shutil.copy(ROOT / DVC_YAML, repo)
    shutil.copytree(ROOT / "tune", repo / "tune", ignore=shutil.ignore_patterns("dvc.lock"))  # make tune's pipeline
    shutil.copytree(ROOT / "src", repo / "src", ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
    paths = pipeline_paths(repo / DVC_YAML)
    (repo / paths.params).write_text(yaml.safe_dump(params, sort_keys=False))
    (repo / paths.contract).write_text(yaml.safe_dump(contract, sort_keys=False, allow_unicode=True))
    write_data(data, repo / paths.data, parse_contract(contract), fmt)
    run(repo, "git", "init", "-q", "-b", "main")
    run(repo, "git", "config", "user.email", "test@example.com")
    run(repo, "git", "config", "user.name", "test")
    run(repo, "dvc", "init", "-q")
    run(repo, "dvc", "add", "-q", paths.data.as_posix())
    run(repo, "git", "add", "-A")
    run(repo, "git", "commit", "-qm", "init")
    return repo
