"""``dvc.yaml`` tells the truth: each stage depends on every module of ours it imports (transitively).

Without this, editing a module that a stage imports but does not list leaves its outputs stale
while ``dvc status`` and ``make check-lock`` say all is well.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
import yaml

pytestmark = pytest.mark.unit
ROOT = Path(__file__).resolve().parents[1]
SRC = ROOT / "src"


def module_file(name: str) -> Path | None:
    base = SRC / Path(*name.split("."))
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.exists():
            return candidate
    return None


def imports(path: Path) -> set[Path]:
    """Our modules that ``path`` imports, at any depth (including the packages' __init__ files)."""
    seen: set[Path] = set()
    todo = [path]
    while todo:
        current = todo.pop()
        if current in seen:
            continue
        seen.add(current)
        for node in ast.walk(ast.parse(current.read_text())):
            names: list[str] = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
            for name in names:
                if not name.startswith("mlpipe"):
                    continue
                parts = name.split(".")
                for i in range(1, len(parts) + 1):  # the packages on the way are imported too
                    found = module_file(".".join(parts[:i]))
                    if found is not None and found not in seen:
                        todo.append(found)
    return seen


def stages() -> dict[str, dict[str, object]]:
    return dict(yaml.safe_load((ROOT / "dvc.yaml").read_text())["stages"])


@pytest.mark.parametrize("stage", sorted(stages()))
def test_every_imported_module_is_a_dependency(stage: str) -> None:
    spec = stages()[stage]
    module = str(spec["cmd"]).split("python -m ", 1)[1].split()[0]
    entry = module_file(module)
    assert entry is not None, module
    needed = {p.relative_to(ROOT).as_posix() for p in imports(entry)}
    declared = {str(d) for d in spec["deps"]}  # type: ignore[attr-defined]
    missing = sorted(needed - declared)
    assert not missing, f"dvc.yaml stage {stage!r} imports but does not depend on {missing}"


def test_the_checker_sees_a_missing_import(tmp_path: Path) -> None:
    found = {p.relative_to(ROOT).as_posix() for p in imports(SRC / "mlpipe/stages/validate.py")}
    assert "src/mlpipe/core/validation.py" in found
    assert "src/mlpipe/io/gx.py" in found
    assert "src/mlpipe/config.py" in found  # transitively, through core.validation
