"""What one task reads: a file, a folder or a glob of CSV/parquet files cut into partitions. No Dask here.

Parquet files split at row-group boundaries (groups gathered up to ``rows`` rows); plain CSV files
split into byte blocks that end at a line end (about ``rows`` rows each, estimated from the first
megabyte); a compressed CSV is one partition. A partition is read in chunks, so a worker holds one
chunk of rows at a time however large the file. CSV fields with line breaks inside quotes cannot be
cut by bytes: such files need parquet or ``ENGINE=pandas``.
"""

from __future__ import annotations

import glob
import io
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import pandas as pd
import pyarrow.parquet as pq

from mlpipe.errors import DataError
from mlpipe.io.files import as_text, read_csv

PARQUET = (".parquet", ".pq")
CSV = (".csv", ".txt")
COMPRESSED_CSV = (".gz", ".bz2", ".zst", ".xz")
SAMPLE_BYTES = 1 << 20


@dataclass(frozen=True)
class Part:
    index: int
    path: str
    kind: Literal["parquet", "csv"]
    row_groups: tuple[int, ...] = ()  # parquet: the groups this part reads
    start: int = 0  # csv: the byte range [start, end) of whole lines after the header; -1: to the end
    end: int = -1
    first_row: int | None = 0  # rows of the file before this part; None: a CSV block's, counted on demand
    rows: int | None = None  # known up front for parquet

    @property
    def name(self) -> str:
        return f"part-{self.index:05d}"


def source_files(source: str | Path) -> list[Path]:
    """The data files of a file, a folder (recursively, hidden files skipped) or a glob, sorted."""
    text = str(source)
    p = Path(text)
    if p.is_file():
        if _kind(p) is None:
            raise DataError(f"{p}: can score .csv or .parquet files, not {p.suffix!r}")
        return [p]
    if p.is_dir():
        found = [
            f for f in p.rglob("*")
            if f.is_file() and not any(s.startswith((".", "_")) for s in f.relative_to(p).parts)
        ]  # fmt: skip
    elif any(ch in text for ch in "*?["):
        found = [Path(f) for f in glob.glob(text, recursive=True) if Path(f).is_file()]
    else:
        raise DataError(f"{text}: no such file, folder or glob")
    files = sorted(f for f in found if _kind(f) is not None)
    if not files:
        raise DataError(f"{text}: no .csv or .parquet files there")
    return files


def _kind(path: Path) -> Literal["parquet", "csv"] | None:
    suffixes = [s.lower() for s in path.suffixes[-2:]]
    if suffixes and suffixes[-1] in PARQUET:
        return "parquet"
    if suffixes and (
        suffixes[-1] in CSV or (suffixes[-1] in COMPRESSED_CSV and len(suffixes) == 2 and suffixes[0] in CSV)
    ):
        return "csv"
    return None


def plan(files: Sequence[Path], rows: int) -> list[Part]:
    """Partitions of ``files`` in order, of about ``rows`` rows each."""
    parts: list[Part] = []
    for f in files:
        if _kind(f) == "parquet":
            parts.extend(_parquet_parts(f, rows, len(parts)))
        elif f.suffix.lower() in COMPRESSED_CSV:
            parts.append(Part(len(parts), str(f), "csv"))
        else:
            parts.extend(_csv_parts(f, rows, len(parts)))
    return parts


def _parquet_parts(path: Path, rows: int, first_index: int) -> list[Part]:
    """Whole row groups, spread evenly over as few parts as keep each near ``rows`` (no small last part)."""
    try:
        meta = pq.ParquetFile(path).metadata
    except Exception as err:  # pyarrow raises several types for a file that is not parquet
        raise DataError(f"{path}: cannot be read as parquet: {err}") from None
    total = meta.num_rows
    target = total / max(-(-total // rows), 1)  # ceil(total / rows) parts of equal share
    out: list[Part] = []
    groups: list[int] = []
    n = before = 0
    for g in range(meta.num_row_groups):
        groups.append(g)
        n += meta.row_group(g).num_rows
        if before + n >= target * (len(out) + 1) - 0.5 or g == meta.num_row_groups - 1:
            out.append(Part(first_index + len(out), str(path), "parquet", tuple(groups), first_row=before, rows=n))
            before, groups, n = before + n, [], 0
    return out or [Part(first_index, str(path), "parquet", (), rows=0)]


def _csv_parts(path: Path, rows: int, first_index: int) -> list[Part]:
    size = path.stat().st_size
    with path.open("rb") as fh:
        header_end = len(fh.readline())
        sample = fh.read(SAMPLE_BYTES)
        per_row = len(sample) / max(sample.count(b"\n"), 1)
        block = max(int(rows * per_row), 1)
        out: list[Part] = []
        start = header_end
        while start < size:
            end = size
            if start + block < size:
                fh.seek(start + block - 1)
                fh.readline()  # to the end of the line the block's last byte is in
                end = min(fh.tell(), size)
            first = 0 if start == header_end else None
            out.append(Part(first_index + len(out), str(path), "csv", start=start, end=end, first_row=first))
            start = end
    return out or [Part(first_index, str(path), "csv", start=header_end, end=size)]


def read_part(part: Part, chunk_rows: int, text: Sequence[str]) -> Iterator[pd.DataFrame]:
    """The part's rows, ``chunk_rows`` at a time; CSV ``text`` columns stay text ("007" keeps its zeros).

    A file that cannot be read (not UTF-8, not CSV, a broken parquet file) raises a DataError naming it.
    """
    try:
        yield from _read(part, chunk_rows, text)
    except DataError:
        raise
    except Exception as err:  # pandas/pyarrow raise many types; the file's name is what matters
        raise DataError(f"{part.path}: cannot be read: {type(err).__name__}: {str(err)[:300]}") from None


def _read(part: Part, chunk_rows: int, text: Sequence[str]) -> Iterator[pd.DataFrame]:
    if part.kind == "parquet":
        pf = pq.ParquetFile(part.path)
        for batch in pf.iter_batches(batch_size=chunk_rows, row_groups=list(part.row_groups)):
            yield as_text(batch.to_pandas(), text)
        return
    if part.start == 0 and part.end == -1:  # a whole (compressed) file
        yield from read_csv(part.path, text, chunksize=chunk_rows)
        return
    with Path(part.path).open("rb") as fh:
        header = fh.readline()
        block = io.BufferedReader(_Block(fh, header, part.start, part.end), buffer_size=1 << 20)
        yield from read_csv(block, text, chunksize=chunk_rows)  # type: ignore[arg-type]


def rows_before(part: Part) -> int:
    """Rows of the file before ``part`` (for messages naming rows): known, or the line ends counted."""
    if part.first_row is not None:
        return part.first_row
    count = 0
    with Path(part.path).open("rb") as fh:
        fh.readline()
        left = part.start - fh.tell()
        while left > 0:
            buf = fh.read(min(left, 1 << 24))
            if not buf:
                break
            count += buf.count(b"\n")
            left -= len(buf)
    return count


class _Block(io.RawIOBase):
    """The header line, then bytes [start, end) of an open file: a CSV block pandas can parse alone."""

    def __init__(self, fh: io.BufferedReader, header: bytes, start: int, end: int) -> None:
        self._fh, self._head, self._left = fh, header, end - start
        fh.seek(start)

    def readable(self) -> bool:
        return True

    def readinto(self, buf: memoryview) -> int:  # type: ignore[override]
        if self._head:
            n = min(len(buf), len(self._head))
            buf[:n] = self._head[:n]
            self._head = self._head[n:]
            return n
        if self._left <= 0:
            return 0
        data = self._fh.read(min(len(buf), self._left))
        buf[: len(data)] = data
        self._left -= len(data)
        return len(data)
