"""Partitions: every row of every file in exactly one part, in order, read as the whole file reads."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from mlpipe.errors import DataError
from mlpipe.scale.parts import plan, read_part, rows_before, source_files

pytestmark = pytest.mark.unit


def frame(n: int) -> pd.DataFrame:
    rng = np.random.default_rng(n)
    return pd.DataFrame({"id": np.arange(n), "x": rng.normal(size=n).round(3), "code": rng.choice(["007", "1"], n)})


@pytest.mark.parametrize("rows", [1, 7, 50, 333, 10_000])
def test_csv_blocks_hold_every_line_once_and_know_their_first_row(tmp_path: Path, rows: int) -> None:
    df = frame(1000)
    df.to_csv(tmp_path / "a.csv", index=False)
    parts = plan([tmp_path / "a.csv"], rows)
    assert (len(parts) > 1) == (rows < 1000)
    got = [pd.concat(list(read_part(p, 64, ["code"])), ignore_index=True) for p in parts]
    assert [rows_before(p) for p in parts] == list(np.cumsum([0] + [len(g) for g in got[:-1]]))
    whole = pd.concat(got, ignore_index=True)
    pd.testing.assert_frame_equal(whole, pd.read_csv(tmp_path / "a.csv", dtype={"code": "str"}))
    assert whole["code"].iloc[0] in ("007", "1")  # text stays text


def test_parquet_row_groups_spread_evenly(tmp_path: Path) -> None:
    frame(1000).to_parquet(tmp_path / "a.parquet", row_group_size=100)
    parts = plan([tmp_path / "a.parquet"], 450)
    assert [p.rows for p in parts] == [400, 300, 300]  # not 500 + 500 with the last one small
    assert [p.first_row for p in parts] == [0, 400, 700]
    whole = pd.concat([c for p in parts for c in read_part(p, 64, [])], ignore_index=True)
    pd.testing.assert_frame_equal(whole, frame(1000))


def test_sources_files_folders_globs_and_what_is_refused(tmp_path: Path) -> None:
    (tmp_path / "in" / "sub").mkdir(parents=True)
    for name in ("b.csv", "a.parquet", "sub/c.csv.gz", ".hidden.csv", "notes.txt.bak"):
        (tmp_path / "in" / name).write_text("id\n1\n")
    assert [p.name for p in source_files(tmp_path / "in")] == ["a.parquet", "b.csv", "c.csv.gz"]
    assert [p.name for p in source_files(str(tmp_path / "in" / "*.csv"))] == ["b.csv"]
    with pytest.raises(DataError, match="no such file, folder or glob"):
        source_files(tmp_path / "nope.csv")
    with pytest.raises(DataError, match=r"no \.csv or \.parquet files"):
        source_files(str(tmp_path / "in" / "*.json"))
    (tmp_path / "x.xlsx").write_text("x")
    with pytest.raises(DataError, match=r"can score \.csv or \.parquet files, not '\.xlsx'"):
        source_files(tmp_path / "x.xlsx")


def test_a_file_that_cannot_be_read_is_named(tmp_path: Path) -> None:
    (tmp_path / "empty.csv").write_bytes(b"")
    (tmp_path / "latin1.csv").write_bytes(b"a,b\n\xff\xfe,1\n")
    (tmp_path / "x.parquet").write_bytes(b"not parquet at all")
    for name in ("empty.csv", "latin1.csv"):
        (part,) = plan([tmp_path / name], 100)
        with pytest.raises(DataError, match=f"{name}: cannot be read"):
            list(read_part(part, 10, []))
    with pytest.raises(DataError, match=r"x\.parquet: cannot be read as parquet"):
        plan([tmp_path / "x.parquet"], 100)


@pytest.mark.parametrize(
    "text",
    [
        "\ufeffid,x\n1,a\n2,b\n3,c\n4,d\n",  # byte-order mark
        "id,x\r\n1,a\r\n2,b\r\n3,c\r\n4,d\r\n",  # CRLF
        "id,x\n1,a\n2,b\n3,c\n4,d",  # no newline at the end
        'id,x\n1,"a, and b"\n2,b\n3,"c"\n4,d\n',  # quoted commas
    ],
)
def test_csv_blocks_of_odd_files_read_as_the_whole_file(tmp_path: Path, text: str) -> None:
    (tmp_path / "a.csv").write_bytes(text.encode())
    for rows in (1, 2, 3):
        parts = plan([tmp_path / "a.csv"], rows)
        got = pd.concat([c for p in parts for c in read_part(p, 2, [])], ignore_index=True)
        pd.testing.assert_frame_equal(got, pd.read_csv(tmp_path / "a.csv", encoding="utf-8-sig"))


def test_hidden_folders_are_not_input(tmp_path: Path) -> None:
    """A job's own staging folder (.OUT.<job>.tmp) or .git under IN is never read as data."""
    (tmp_path / ".scored.1.tmp").mkdir()
    (tmp_path / ".scored.1.tmp" / "part-00000.parquet").write_text("x")
    (tmp_path / "_logs").mkdir()
    (tmp_path / "_logs" / "a.csv").write_text("id\n1\n")
    (tmp_path / "b.csv").write_text("id\n1\n")
    assert [p.name for p in source_files(tmp_path)] == ["b.csv"]
