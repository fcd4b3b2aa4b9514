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
