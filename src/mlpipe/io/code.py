"""The code a stage runs, as one hash: for provenance that changes when the code does, not per commit.

A stage's code is its module plus every ``mlpipe`` module it imports, at any depth: the same set
dvc.yaml lists as the stage's ``src`` dependencies (tests/io/test_code.py holds them equal), so
the hash changes exactly when ``dvc repro`` reruns the stage for a code change.
"""

from __future__ import annotations

import ast
import hashlib
from pathlib import Path

import mlpipe

PACKAGE_ROOT = Path(mlpipe.__file__).resolve().parent.parent  # the directory holding mlpipe/


def _module_file(name: str) -> Path | None:
    base = PACKAGE_ROOT.joinpath(*name.split("."))
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def source_files(module: str) -> list[Path]:
    """``module``'s file and those of the ``mlpipe`` modules it imports (packages' __init__ included)."""
    entry = _module_file(module)
    if entry is None:
        raise ModuleNotFoundError(module)
    seen: set[Path] = set()
    parts = module.split(".")  # running a.b.c runs a/__init__ and a/b/__init__ first
    todo = [entry, *(f for i in range(1, len(parts)) if (f := _module_file(".".join(parts[:i]))) is not None)]
    while todo:
        current = todo.pop()
        if current in seen:
            continue
        seen.add(current)
        for node in ast.walk(ast.parse(current.read_bytes())):
            names: list[str] = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
            for name in names:
                if name.split(".")[0] != "mlpipe":
                    continue
                parts = name.split(".")
                for i in range(1, len(parts) + 1):  # importing a.b.c imports a and a.b too
                    found = _module_file(".".join(parts[:i]))
                    if found is not None and found not in seen:
                        todo.append(found)
    return sorted(seen)


def code_sha256(module: str) -> str:
    """Hash of the relative paths and contents of :func:`source_files` (line endings as LF, so a
    Windows checkout hashes the same)."""
    h = hashlib.sha256()
    for path in source_files(module):
        h.update(path.relative_to(PACKAGE_ROOT).as_posix().encode() + b"\0")
        h.update(hashlib.sha256(path.read_bytes().replace(b"\r\n", b"\n")).digest())
    return h.hexdigest()
