"""Read-only git queries: the current commit, and files as committed on another revision."""

from __future__ import annotations

import subprocess
from pathlib import Path


def _git(*args: str) -> str | None:
    try:
        res = subprocess.run(["git", *args], capture_output=True, text=True, check=False)
    except FileNotFoundError:
        return None
    return res.stdout if res.returncode == 0 else None


def current_commit(repo: str | Path = ".") -> str | None:
    """HEAD of the checkout at ``repo``; None without git or outside a repository."""
    out = _git("-C", str(repo), "rev-parse", "HEAD")
    return out.strip() if out else None


def show(rev: str, path: str) -> str | None:
    """File content at ``rev``, or None when the revision or the file does not exist there."""
    return _git("show", f"{rev}:{path}")


def resolve(rev: str) -> str | None:
    out = _git("rev-parse", "--verify", "--quiet", f"{rev}^{{commit}}")
    return out.strip() if out else None
