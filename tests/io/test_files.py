"""Reading a data file as every part of the pipeline reads it."""

from __future__ import annotations

from pathlib import Path

import pytest

from mlpipe.io.files import read_table

pytestmark = pytest.mark.unit


def test_a_csv_blank_is_missing_even_beside_a_number_beyond_int64(tmp_path: Path) -> None:
    """pandas 3 reads such a column as text and keeps its blanks as "": validation would show them, not the
    number, as the bad cells."""
    f = tmp_path / "a.csv"
    f.write_text("id,h\n1,\n2,-3\n3,12345678901234567890\n4,\n")
    h = read_table(f)["h"]
    assert h.isna().tolist() == [True, False, False, True]
    assert h.dropna().tolist() == ["-3", "12345678901234567890"]
