"""Throw-away repositories for integration tests: a copy of this repo's pipeline on chosen data."""

from __future__ import annotations

import contextlib
import importlib
import io
import logging
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import yaml

from mlpipe.cli import run_stage
from mlpipe.config import Params, parse_contract
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
    write_data(data, repo / paths.data, parse_contract(contract), fmt, Params.model_validate(params).split)
    run(repo, "git", "init", "-q", "-b", "main")
    run(repo, "git", "config", "user.email", "test@example.com")
    run(repo, "git", "config", "user.name", "test")
    run(repo, "dvc", "init", "-q")
    run(repo, "dvc", "add", "-q", paths.data.as_posix())
    run(repo, "git", "add", "-A")
    run(repo, "git", "commit", "-qm", "init")
    return repo


@dataclass(frozen=True)
class Ran:
    """What a ``python -m`` run leaves: its exit code and what it wrote."""

    returncode: int
    stdout: str
    stderr: str


def invoke(module: str, *args: str, cwd: Path) -> Ran:
    """``python -m <module> <args>`` in ``cwd``, in this process: the entry point's own wrapper (logging
    to stderr, one line and exit 1 for an expected failure) around its ``main``.

    A new interpreter costs 1-5 s of imports (scikit-learn, skops, great-expectations) that this process
    has paid already. Each entry point's wiring as a command stays tested by a subprocess: gate, report
    and monitor in tests/test_pipeline.py's journey and tests/test_loop.py, score in
    tests/serving/test_socket.py, monitor in tests/tasks/test_monitor.py and tests/serving/test_challenger.py,
    the contract task in tests/tasks/test_contract.py.
    """
    entry = importlib.import_module(module).main
    out, err = io.StringIO(), io.StringIO()
    root = logging.getLogger()
    handlers, level, argv, here = root.handlers[:], root.level, sys.argv, Path.cwd()
    code: int
    try:
        os.chdir(cwd)
        sys.argv = [module, *args]
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                run_stage(entry)
                code = 0
            except SystemExit as exit_:
                if isinstance(exit_.code, str):  # sys.exit("message"): Python prints it and exits 1
                    err.write(exit_.code + "\n")
                code = exit_.code if isinstance(exit_.code, int) else 0 if exit_.code is None else 1
    finally:
        os.chdir(here)
        sys.argv = argv
        root.handlers[:] = handlers
        root.setLevel(level)
    return Ran(code, out.getvalue(), err.getvalue())
