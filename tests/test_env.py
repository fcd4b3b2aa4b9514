"""The environment is read in one place per process kind: mlpipe.env (stages, tasks, the server
process), the service's ServiceEnv and the stream consumer's StreamEnv. Elsewhere os.environ may be
written or handed on to a child process, never read."""

from __future__ import annotations

import ast

import pytest

from mlpipe.env import ProcessEnv, process_env
from tests.repos import ROOT

pytestmark = pytest.mark.unit
READERS = {"env.py", "serving/settings.py", "streaming/settings.py"}


def _is_environ(node: ast.AST) -> bool:
    return isinstance(node, ast.Attribute) and node.attr == "environ" and getattr(node.value, "id", None) == "os"


def _reads(node: ast.AST) -> bool:
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
        f = node.func
        getenv = f.attr == "getenv" and getattr(f.value, "id", None) == "os"
        return getenv or (f.attr == "get" and _is_environ(f.value))
    if isinstance(node, ast.Subscript):
        return _is_environ(node.value) and isinstance(node.ctx, ast.Load)
    return isinstance(node, ast.Compare) and any(_is_environ(c) for c in node.comparators)


def reads(tree: ast.AST) -> list[int]:
    """Lines that read a variable: os.getenv, os.environ.get, os.environ[...] loaded, `in os.environ`."""
    return sorted(node.lineno for node in ast.walk(tree) if _reads(node))  # type: ignore[attr-defined]


def test_nothing_else_reads_the_environment() -> None:
    src = ROOT / "src" / "mlpipe"
    found = []
    for path in sorted(src.rglob("*.py")):
        name = path.relative_to(src).as_posix()
        if name not in READERS:
            found += [f"{name}:{line}" for line in reads(ast.parse(path.read_text()))]
    assert not found, f"read these through mlpipe.env.process_env(): {found}"


def test_the_scanner_sees_each_way_of_reading() -> None:
    code = "import os\nos.getenv('A')\nos.environ.get('B')\nos.environ['C']\n'D' in os.environ\n"
    assert reads(ast.parse(code)) == [2, 3, 4, 5]
    written = "import os\nos.environ['A'] = '1'\nos.environ.setdefault('B', '')\nchild = {**os.environ}\n"
    assert reads(ast.parse(written)) == []


def test_variables_are_read_as_set_empty_as_unset() -> None:
    env = process_env({"LOG_FORMAT": "json", "GH_TOKEN": "", "GITHUB_TOKEN": "t", "MONITOR_RETRAIN": "TRUE", "X": "y"})
    assert env.log_format == "json"
    assert env.github_auth == "t"
    assert env.retrain_on_alert
    assert env.log_level == "INFO"
    assert process_env({}) == ProcessEnv()
