"""Reading one raw data file for validation: what pandas made of it, and what it could not read.

Unreadable files (binary garbage, a parser error, an empty file) and a last row cut short are
reported, not raised, so the ``validate`` stage can name every broken file in one run.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

import pandas as pd

from mlpipe.config import Contract
from mlpipe.errors import DataError
from mlpipe.io.files import read_csv_as_written, read_table, text_columns

_TAIL = 1 << 16


@dataclass
class DataFile:
    path: Path
    frame: pd.DataFrame | None = None
    error: str | None = None  # why it could not be read at all
    truncated: str | None = None  # why the last row looks cut short
    short_rows: str | None = None  # rows with fewer fields than the header (pandas fills them with blanks)
    text: dict[str, pd.Series] = field(default_factory=dict)  # int columns read as floats, as written

    @property
    def name(self) -> str:
        return self.path.name


def load(path: Path, contract: Contract) -> DataFile:
    out = DataFile(path)
    try:
        out.frame = read_table(path, text_columns(contract))
    except pd.errors.EmptyDataError:
        out.error = "file is empty (no header, no rows)"
        return out
    except UnicodeDecodeError as err:
        out.error = f"not UTF-8 text (byte {err.start}): binary or another encoding?"
        return out
    except DataError as err:  # a header naming a column twice
        out.error = str(err).removeprefix(f"{path}: ")
        return out
    except Exception as err:  # pandas/pyarrow raise many types; the message is what helps
        out.error = f"{type(err).__name__}: {' '.join(str(err).split())[:300]}"
        return out
    if path.suffix.lower() == ".csv":
        out.truncated = _short_last_row(path)
        out.short_rows = _short_rows(path, out.frame, skip_last=out.truncated is not None)
        floats = [
            n for n, c in contract.columns.items()
            if c.dtype == "int" and n in out.frame and pd.api.types.is_float_dtype(out.frame[n])
        ]  # fmt: skip
        if floats:  # only the text tells `46` (a blank elsewhere made it float) from `46.0`
            raw = read_csv_as_written(path, floats)
            out.text = {n: raw[n] for n in floats}
    return out


def _short_last_row(path: Path) -> str | None:
    """A file cut mid-row: no final line end, and a last line with fewer fields than the header.

    A complete file ends with a line end (so a quoted field spanning lines in the last row is fine);
    one without it is judged by its last line.
    """
    with path.open("rb") as fh:
        header = fh.readline()
        fh.seek(0, io.SEEK_END)
        size = fh.tell()
        fh.seek(max(0, size - _TAIL))
        tail = fh.read()
    lines = [ln for ln in tail.decode("utf-8", errors="replace").splitlines() if ln.strip()]
    if not lines or size <= len(header) or tail.endswith((b"\n", b"\r")):
        return None
    n_header = len(next(csv.reader([header.decode("utf-8-sig", errors="replace")])))
    n_last = len(next(csv.reader([lines[-1]])))
    if n_last < n_header:
        return f"the last row has {n_last} of {n_header} fields: the file was cut short"
    return None


class _Lines:
    """A file's lines, remembering the last one read (the csv module hides what a row was written as)."""

    def __init__(self, fh: TextIO) -> None:
        self.fh, self.last = fh, ""

    def __iter__(self) -> _Lines:
        return self

    def __next__(self) -> str:
        self.last = next(self.fh)
        return self.last


_BLANK = re.compile(r"[ \t]*\r?\n?")  # what pandas skips as a blank line: spaces and tabs only


def _short_rows(path: Path, frame: pd.DataFrame, skip_last: bool, most: int = 5) -> str | None:
    """Rows with fewer fields than the header, which pandas reads with blanks for the missing ones (so
    they would show only as nulls, without a row). A short row leaves the last column blank: a file with
    no blank there has none, and is not read twice (0.04 s for the example's 68,785 rows when it is).
    Rows are counted as pandas counts them (a line of nothing but spaces and tabs is skipped, before the
    header too; a quoted field is a row); ``line`` is where the row ends. A file the csv module cannot
    parse where pandas could is left to the other checks."""
    if frame.empty or not frame[frame.columns[-1]].isna().any():
        return None
    found: list[tuple[int, int, int]] = []  # (data row from 1, line, fields)
    count = 0
    n_header: int | None = None
    limit = csv.field_size_limit()
    csv.field_size_limit(2**31 - 1)  # pandas reads fields of any length; the csv module stops at 128 KB
    try:
        with path.open(newline="", encoding="utf-8-sig", errors="replace") as fh:
            lines = _Lines(fh)
            reader = csv.reader(lines)
            i = ended = 0
            for row in reader:
                one_line, ended = reader.line_num - ended == 1, reader.line_num
                if len(row) <= 1 and one_line and _BLANK.fullmatch(lines.last):
                    continue
                if n_header is None:
                    n_header = len(row)
                    continue
                i += 1
                if len(row) < n_header and not (skip_last and i == len(frame)):
                    count += 1
                    if len(found) < most:
                        found.append((i, reader.line_num, len(row)))
    except csv.Error:
        return None
    finally:
        csv.field_size_limit(limit)
    if not count:
        return None
    where = ", ".join(f"row {i} (line {line}: {n} fields)" for i, line, n in found)
    return f"{count} rows have fewer than the header's {n_header} fields, e.g. {where}"
