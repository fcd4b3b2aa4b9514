"""A fork's day one, for real: swap in another dataset the README's way, then run the template's own tests.

The repository is copied, its example data replaced by generated files (text categories, missing
values, no time column, a text id, a text target), the contract drafted with ``make contract``, a few config
lines edited as the README says, ``dvc add data``, ``make repro``, ``make golden``, and then
``make test`` (lint and the whole default suite) in the copy: it must pass with no test edited.
Slow (the copy's own suite runs): ``make test-all``.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from mlpipe.config import parse_contract
from mlpipe.core.synth import synthesise
from tests.datasets import INCOME

pytestmark = [pytest.mark.integration, pytest.mark.slow]
ROOT = Path(__file__).resolve().parents[1]
VENV = Path(sys.executable).parent.parent
SKIP = {".git", ".venv", "data", "artifacts", "models", "reports", "logs", ".cache", ".deploy", "__pycache__",
        ".pytest_cache", ".mypy_cache", ".ruff_cache", "cache", "tmp"}  # fmt: skip


def sh(repo: Path, *cmd: str) -> str:
    # the fork's own package first: the shared venv's editable install points at this checkout
    env = {**os.environ, "PYTHONPATH": str(repo / "src") if (repo / "src").is_dir() else "", "CI": "true"}
    res = subprocess.run(cmd, cwd=repo, env=env, capture_output=True, text=True, check=False)
    assert res.returncode == 0, f"{' '.join(cmd)} exited {res.returncode}\n{res.stdout[-6000:]}\n{res.stderr[-4000:]}"
    return res.stdout + res.stderr


def make(repo: Path, *args: str) -> str:
    # -o: the shared .venv counts as installed, so make never reinstalls it from the copy
    return sh(repo, "make", f"VENV={VENV}", "-o", f"{VENV}/.installed", *args)


def test_a_fork_with_its_own_data_passes_its_own_test_suite(tmp_path: Path) -> None:
    fork = tmp_path / "fork"
    shutil.copytree(ROOT, fork, ignore=lambda d, names: [n for n in names if n in SKIP or n.endswith(".egg-info")])
    (fork / "models").mkdir()
    sh(fork, "git", "init", "-q", "-b", "main")
    sh(fork, "git", "config", "user.email", "fork@example.com")
    sh(fork, "git", "config", "user.name", "fork")

    # 1. their files into data/ (three exports of one table, no time column)
    contract = parse_contract(INCOME)
    rows = synthesise(contract, 6000, seed=11, positive_rate=0.3)
    rows.insert(0, "person_id", [f"P-{i:06d}" for i in range(len(rows))])  # a text key instead of a number
    rows = rows.drop(columns=["person"])
    (fork / "data").mkdir()
    for i in range(3):
        rows.iloc[i * 2000 : (i + 1) * 2000].to_csv(fork / "data" / f"export_{i + 1}.csv", index=False)
    (fork / "data.dvc").unlink()

    # 2. make contract drafts the contract; it refuses to overwrite the example's without FORCE
    refused = subprocess.run(["make", f"VENV={VENV}", "-o", f"{VENV}/.installed", "contract", "DATA=data",
                              "TARGET=income"], cwd=fork, capture_output=True, text=True, check=False)  # fmt: skip
    assert refused.returncode != 0
    assert "--force" in refused.stderr + refused.stdout
    make(fork, "contract", "DATA=data", "TARGET=income", "FORCE=1")
    drafted = yaml.safe_load((fork / "contract.yaml").read_text())
    assert drafted["id"] == "person_id"
    assert drafted["columns"]["person_id"] == {"dtype": "str"}
    assert drafted["positive"] == ">50K"
    assert "time" not in drafted or drafted["time"] is None
    assert drafted["columns"]["workclass"]["nullable"] is True

    # 3. review: the README's edits (sensitive attributes, the split, the gate's bars, no example section)
    drafted["sensitive"] = {"sex": {}}
    (fork / "contract.yaml").write_text(yaml.safe_dump(drafted, sort_keys=False))
    params = yaml.safe_load((fork / "params.yaml").read_text())
    del params["example_data"]
    params["split"]["strategy"] = "stratified"
    params["gate"].update(minimums={}, maximums={}, max_slice_gap={})
    (fork / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))

    # 4. track the data, run the pipeline, re-record the golden rows, commit
    sh(fork, str(VENV / "bin/dvc"), "add", "-q", "data")
    make(fork, "repro")
    make(fork, "golden")
    sh(fork, "git", "add", "-A")
    sh(fork, "git", "commit", "-qm", "our data")

    # 5. the template's own suite, untouched, on the fork's data
    out = make(fork, "test")
    assert " passed" in out
    assert " failed" not in out
    assert "error" not in out.split("short test summary info")[-1].lower()
