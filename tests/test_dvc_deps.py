"""``dvc.yaml`` tells the truth: each stage depends on every module of ours it imports (transitively).

Without this, editing a module that a stage imports but does not list leaves its outputs stale
while ``dvc status`` and ``make check-lock`` say all is well.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from mlpipe.io.code import PACKAGE_ROOT, source_files
from mlpipe.tasks.lockcheck import orphan_stages

pytestmark = pytest.mark.unit
ROOT = Path(__file__).resolve().parents[1]
SRC = ROOT / "src"
assert PACKAGE_ROOT == SRC, "the tests import this checkout's package"


def stages() -> dict[str, dict[str, object]]:
    return dict(yaml.safe_load((ROOT / "dvc.yaml").read_text())["stages"])


@pytest.mark.parametrize("stage", sorted(stages()))
def test_every_imported_module_is_a_dependency(stage: str) -> None:
    spec = stages()[stage]
    module = str(spec["cmd"]).split("python -m ", 1)[1].split()[0]
    needed = {p.relative_to(ROOT).as_posix() for p in source_files(module)}
    declared = {str(d) for d in spec["deps"]}  # type: ignore[attr-defined]
    missing = sorted(needed - declared)
    assert not missing, f"dvc.yaml stage {stage!r} imports but does not depend on {missing}"


def test_the_checker_sees_a_missing_import(tmp_path: Path) -> None:
    found = {p.relative_to(ROOT).as_posix() for p in source_files("mlpipe.stages.validate")}
    assert "src/mlpipe/core/validation.py" in found
    assert "src/mlpipe/io/gx.py" in found
    assert "src/mlpipe/config.py" in found  # transitively, through core.validation


def test_the_lock_records_only_stages_the_pipeline_has() -> None:
    """A stage removed or renamed by editing ``dvc.yaml`` keeps its ``dvc.lock`` entry, unseen by
    ``dvc status``, still naming its old command and files (``make check-lock`` names it)."""
    orphans = orphan_stages(
        yaml.safe_load((ROOT / "dvc.yaml").read_text()), yaml.safe_load((ROOT / "dvc.lock").read_text())
    )
    assert not orphans, f"dvc.lock records stages {orphans} that dvc.yaml lacks"
