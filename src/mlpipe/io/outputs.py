"""What the tasks that write a user-named file may replace (score, golden): their own earlier result only.

Kept apart from mlpipe.io.files, which every pipeline stage imports: a change here retrains nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path

from mlpipe.errors import DataError


def guard_output(dst: Path, inputs: Iterable[Path], earlier: Callable[[Path], bool], result: str) -> None:
    """Never replace what is not ours: an input (symlinks resolved), a folder, or a file that is not
    ``earlier`` output of the same command (``result`` names it in the message)."""
    target = dst.resolve()
    for f in inputs:
        if f.resolve() == target:
            raise DataError(f"{dst}: is the input {f}; write to another file")
    if dst.is_dir():
        raise DataError(f"{dst}: is a folder; name a file (e.g. {dst / 'out.csv'})")
    if dst.exists() and not earlier(dst):
        raise DataError(
            f"{dst}: exists and is not an earlier {result}; not replacing it: remove it or name another file"
        )


def csv_header(path: Path) -> list[str] | None:
    """The first line of a CSV file as column names, or None when it cannot be read as text."""
    try:
        with path.open(encoding="utf-8", newline="") as fh:
            return fh.readline().rstrip("\r\n").split(",")
    except (OSError, UnicodeDecodeError):
        return None
