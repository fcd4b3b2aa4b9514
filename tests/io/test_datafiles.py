"""Rows with fewer fields than the header: pandas fills them with blanks, so only the file's text tells."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from mlpipe.config import Contract
from mlpipe.io.datafiles import _short_rows

pytestmark = pytest.mark.unit


def short(tmp_path: Path, content: bytes) -> str | None:
    f = tmp_path / "f.csv"
    f.write_bytes(content)
    frame = pd.read_csv(f, encoding="utf-8-sig")
    return _short_rows(f, frame, skip_last=False)


@pytest.mark.parametrize(
    "content",
    [
        b"a,b,c\n1,2,\n3,4,5\n",  # a blank in the last column is a value, not a short row
        b"a,b,c\n1,2,\n   \n3,4,5\n\t\n",  # lines of spaces: pandas skips them
        b"a,b,c\n1,2,\n3,4,5\n\n\n",  # trailing blank lines
        b'a,b,c\n1,"two\nlines",\n3,4,5\n',  # a quoted line break
        b"\xef\xbb\xbfa,b,c\r\n1,2,\r\n3,4,5\r\n",  # BOM and CRLF
    ],
)
def test_good_files_have_no_short_rows(tmp_path: Path, content: bytes) -> None:
    assert short(tmp_path, content) is None


def test_a_short_row_is_named_by_row_and_line_as_pandas_counts_rows(tmp_path: Path) -> None:
    content = b'\xef\xbb\xbfa,b,c\r\n1,"two\r\nlines",\r\n   \r\n3,4\r\n5,6,7\r\n'
    assert short(tmp_path, content) == "1 rows have fewer than the header's 3 fields, e.g. row 2 (line 5: 2 fields)"


def test_a_field_longer_than_the_csv_modules_limit_is_read(tmp_path: Path) -> None:
    content = b"a,b,c\n1," + b"x" * 200_000 + b",\n3,4\n"
    assert short(tmp_path, content) == "1 rows have fewer than the header's 3 fields, e.g. row 2 (line 3: 2 fields)"


TWO = "2 rows have fewer than the header's 3 fields, e.g. row 2 (line 3: 1 fields), row 3 (line 4: 2 fields)"


@pytest.mark.parametrize(
    ("content", "said"),
    [
        (b"a,b,c\n1,2,3\n\xc2\xa0\n4,5\n6,7,8\n", TWO),  # a no-break space: pandas keeps the line
        (b'a,b,c\n1,2,3\n"  "\n4,5\n', TWO),  # quoted spaces: a row
        (b"\n  \na,b,c\n1,2,3\n4,5\n", "1 rows have fewer than the header's 3 fields, e.g. row 2 (line 5: 2 fields)"),
    ],
)
def test_rows_are_the_rows_pandas_reads(tmp_path: Path, content: bytes, said: str) -> None:
    """Blank lines before the header are skipped as pandas skips them; the others are rows."""
    assert short(tmp_path, content) == said


def test_a_column_named_twice_in_the_header_is_named_not_renamed(tmp_path: Path, contract: Contract) -> None:
    """pandas reads the second ``a`` as ``a.1``: validate then spoke of a column the file lacks."""
    from mlpipe.errors import DataError
    from mlpipe.io.datafiles import load
    from mlpipe.io.files import read_table

    path = tmp_path / "x.csv"
    path.write_bytes(b"\xef\xbb\xbfa,b,a\r\n1,2,3\r\n")
    with pytest.raises(DataError, match=r"x\.csv: column 'a' appears twice in the header \(columns 1 and 3\)"):
        read_table(path)
    assert load(path, contract).error == "column 'a' appears twice in the header (columns 1 and 3)"
    path.write_bytes(b'a,"a ",b\n1,2,3\n')  # names differ: read as they are
    assert list(read_table(path).columns) == ["a", "a ", "b"]
