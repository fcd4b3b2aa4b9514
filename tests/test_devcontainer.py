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


def test_devcontainer_image_and_features_are_pinned() -> None:
    text = (ROOT / ".devcontainer" / "devcontainer.json").read_text()
    doc = json.loads("\n".join(line for line in text.splitlines() if not line.lstrip().startswith("//")))
    assert re.search(r"@sha256:[0-9a-f]{64}$", doc["image"]), f"image not pinned by digest: {doc['image']}"
    for feature in doc["features"]:
        assert re.search(r":\d+\.\d+\.\d+$", feature), f"feature not pinned to an exact version: {feature}"
    dependabot = yaml.safe_load((ROOT / ".github" / "dependabot.yml").read_text())
    ecosystems = {u["package-ecosystem"] for u in dependabot["updates"]}
    assert {"docker", "devcontainers"} <= ecosystems, "Dependabot keeps the digests fresh"


def test_pre_commit_runs_the_same_lint_as_ci() -> None:
    doc = yaml.safe_load((ROOT / ".pre-commit-config.yaml").read_text())
    hooks = [h for repo in doc["repos"] for h in repo["hooks"]]
    assert any(h["entry"] == "make lint" for h in hooks)
