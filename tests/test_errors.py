"""One exception tree (mlpipe.errors), drawn in its docstring; the command-line edge maps each class
to its exit code and one log line."""

from __future__ import annotations

import ast
import inspect
import logging

import pytest

from mlpipe import errors
from mlpipe.cli import run_stage
from tests.repos import ROOT

pytestmark = pytest.mark.unit
TREE = [c for c in vars(errors).values() if inspect.isclass(c) and issubclass(c, Exception)]


def test_every_public_exception_class_is_in_errors_py() -> None:
    """Elsewhere only private control-flow exceptions (``_Name``) that never reach a user."""
    outside = []
    for path in (ROOT / "src" / "mlpipe").rglob("*.py"):
        if path.name == "errors.py" and path.parent.name == "mlpipe":
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ClassDef) and not node.name.startswith("_"):
                bases = {b.id if isinstance(b, ast.Name) else getattr(b, "attr", "") for b in node.bases}
                if any(b.endswith(("Error", "Exception", "Failed")) for b in bases):
                    outside.append(f"{path.relative_to(ROOT)}: {node.name}")
    assert not outside, f"define these in mlpipe/errors.py: {outside}"


def test_the_tree_is_drawn_and_rooted() -> None:
    doc = errors.__doc__ or ""
    for cls in TREE:
        assert issubclass(cls, errors.PipelineError), cls
        assert f" {cls.__name__} " in doc, f"{cls.__name__} is not in errors.py's drawing"


@pytest.mark.parametrize("cls", TREE, ids=lambda c: c.__name__)
def test_the_edge_gives_one_line_and_the_exit_code(
    cls: type[errors.PipelineError], capsys: pytest.CaptureFixture[str]
) -> None:
    def main() -> None:
        raise cls("what went wrong, and where")

    root = logging.getLogger()
    saved = root.handlers[:], root.level
    try:
        with pytest.raises(SystemExit) as exit_:
            run_stage(main)  # sets up logging to stderr, as every command does
    finally:
        root.handlers[:], root.level = saved[0], saved[1]
    assert exit_.value.code == cls.exit_code == 1
    lines = capsys.readouterr().err.splitlines()
    assert len(lines) == 1, lines
    assert "ERROR" in lines[0], lines
    assert lines[0].endswith("what went wrong, and where"), lines
