"""The dev container and the pre-commit hook use the same task vocabulary as CI."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml

pytestmark = pytest.mark.unit
ROOT = Path(__file__).resolve().parents[1]


def test_devcontainer_runs_the_makefile_setup_on_ci_python() -> None:
    text = (ROOT / ".devcontainer" / "devcontainer.json").read_text()
    doc = json.loads("\n".join(line for line in text.splitlines() if not line.lstrip().startswith("//")))
    assert doc["postCreateCommand"] == "make setup"
    assert re.search(r":1-3\.11-", doc["image"]), "the Python CI runs (3.11)"
    assert any("node" in f for f in doc["features"]), "make cml needs node"


def test_pre_commit_runs_the_same_lint_as_ci() -> None:
    doc = yaml.safe_load((ROOT / ".pre-commit-config.yaml").read_text())
    hooks = [h for repo in doc["repos"] for h in repo["hooks"]]
    assert any(h["entry"] == "make lint" for h in hooks)
