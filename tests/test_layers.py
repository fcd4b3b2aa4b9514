"""The package's layers: a module imports only from its own layer or below, and no import cycle.

The package itself (``mlpipe/__init__.py``: the version and the collector setting of commands) is
the bottom and imports nothing of ours; top-level modules (config, errors, env, logs, cli) next,
then core (pure: no I/O), io, then the process kinds (stages, serving, streaming, scale, tasks).
Read from the source (every import, also those inside functions), so a lazy import cannot hide a
layering break.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from tests.repos import ROOT

pytestmark = pytest.mark.unit
SRC = ROOT / "src"
# what each part may import from mlpipe (beyond itself)
ALLOWED = {
    "config": {"errors"},
    "errors": set(),
    "env": set(),
    "logs": {"env"},
    "cli": {"errors", "logs", "env"},
    "core": {"config", "errors"},
    "io": {"config", "errors", "env", "core"},
    "stages": {"config", "errors", "env", "logs", "cli", "core", "io"},
    "serving": {"config", "errors", "env", "logs", "cli", "core", "io"},
    "scale": {"config", "errors", "env", "logs", "cli", "core", "io", "serving"},
    "streaming": {"config", "errors", "env", "logs", "cli", "core", "io", "serving"},
    "tasks": {"config", "errors", "env", "logs", "cli", "core", "io", "serving", "scale", "streaming"},
}


def part(module: str) -> str:
    bits = module.split(".")
    return bits[1] if len(bits) > 1 else ""


def imports(tree: ast.AST) -> set[str]:
    out = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out |= {a.name for a in node.names if a.name.startswith("mlpipe.")}
        elif isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("mlpipe") and node.level == 0:
            # `from mlpipe import x`: the module mlpipe.x if there is one, else a name of the package itself
            out |= {node.module} if node.module != "mlpipe" else {_from_package(a.name) for a in node.names}
    return out


def _from_package(name: str) -> str:
    pkg = SRC / "mlpipe"
    return f"mlpipe.{name}" if (pkg / f"{name}.py").exists() or (pkg / name).is_dir() else "mlpipe"


def modules() -> dict[str, Path]:
    found = {}
    for path in (SRC / "mlpipe").rglob("*.py"):
        name = ".".join(path.relative_to(SRC).with_suffix("").parts)
        found[name.removesuffix(".__init__")] = path
    return found


def test_no_module_imports_upward() -> None:
    wrong = []
    for name, path in sorted(modules().items()):
        mine = part(name)
        if mine not in ALLOWED and name != "mlpipe":
            continue
        for target in sorted(imports(ast.parse(path.read_text()))):
            theirs = part(target)
            if name == "mlpipe" or (theirs != mine and theirs and theirs not in ALLOWED[mine]):
                wrong.append(f"{name} imports {target}")
    assert not wrong, wrong


def test_no_import_cycle_between_modules() -> None:
    """Module-level imports only (a function-level import runs after both modules exist)."""
    mods = modules()
    graph: dict[str, set[str]] = {}
    for name, path in mods.items():
        tree = ast.parse(path.read_text())
        top = [n for n in tree.body if isinstance(n, ast.Import | ast.ImportFrom)]
        deps = set()
        for node in top:
            for imported in imports(node):
                owner = imported  # `from mlpipe.a import b`: b may be a name in mlpipe.a
                while owner and owner not in mods:
                    owner = owner.rpartition(".")[0]
                if owner and owner != name:
                    deps.add(owner)
        graph[name] = deps
    state: dict[str, int] = {}
    cycle: list[str] = []

    def visit(n: str, trail: list[str]) -> bool:
        state[n] = 1
        for m in graph.get(n, ()):
            if state.get(m) == 1:
                cycle.extend([*trail, n, m])
                return True
            if state.get(m) is None and visit(m, [*trail, n]):
                return True
        state[n] = 2
        return False

    for n in sorted(graph):
        if state.get(n) is None and visit(n, []):
            break
    assert not cycle, " -> ".join(cycle)
