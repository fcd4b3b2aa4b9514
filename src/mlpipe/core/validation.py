"""The checks of the ``validate`` stage that are ours, not great-expectations', and its report. Pure.

Each data file is checked on its own first (readable, rows, the exact column set, every cell of
the contract's type), so a broken file is reported against its own name and never shows up as
failures on other files' rows. Files that pass those checks are then compared with their
siblings (a file far smaller than the others, a category that collapsed to one value, a
distribution far from the other files') and stacked for the whole-data checks (unique ids, row
count, leakage). Great-expectations runs the contract's column expectations per file
(:mod:`mlpipe.io.gx`); the type check is ours because pandas 3 reads text as ``StringDtype``,
which great-expectations 1.x's type-list expectation does not recognise.
"""

from __future__ import annotations

import decimal
import functools
import itertools
import math
import re
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from mlpipe.config import INT64_MAX, INT64_MIN, Contract, FileChecks, whole_int64
from mlpipe.core.expectations import LEAKAGE, leakage_findings
from mlpipe.core.features import is_positive
from mlpipe.core.profile import psi

EXAMPLES = 5
TYPE_CHECK = "expect_column_values_to_have_contract_dtype"
COLUMNS_CHECK = "expect_file_columns_to_match_contract"
ROWS_CHECK = "expect_file_to_have_rows"
READ_CHECK = "expect_file_to_be_readable"
TRUNCATED_CHECK = "expect_file_to_end_with_a_complete_row"
SHORT_ROWS_CHECK = "expect_rows_to_have_every_field"
SMALL_CHECK = "expect_file_row_count_to_be_comparable_to_siblings"
COLLAPSE_CHECK = "expect_column_to_keep_more_than_one_value"
SHIFT_CHECK = "expect_file_distribution_to_match_siblings"
TARGET_CHECK = "expect_target_to_be_binary_with_the_positive_class"

MAX_SHIFT_CATEGORIES = 50
MAX_PEERS = 10
COLLAPSE_P = 1e-6
# Half a row added to every bin's count before a PSI: a bin a small file happens to leave empty (likely
# for 24 categories in 50 rows) would otherwise count as a share of 1e-4 and alone push PSI past 0.25.
SMOOTHING = 0.5
# A file's PSI counts as a shift only when it exceeds what sampling gives by this many of sampling's
# standard deviations (as well as validation.max_psi): 12 files of 50 rows of one distribution raised
# false shifts in 7 runs of 20 without it, none with it; files of thousands of rows are unaffected.
NOISE_SD = 5.0
SHIFT_ROWS = 20_000  # enough for a PSI over ten bins; keeps many-file checks quick
_INT = re.compile(r"^\s*[+-]?[0-9]+\s*$")  # ASCII digits: \d also takes other scripts' digits
_INT_HINT = f": an int is a whole number from {INT64_MIN} to {INT64_MAX}, written as digits"
_BOOL_TEXT = {"true", "false"}


def check(expectation: str, column: str | None, success: bool, **extra: Any) -> dict[str, Any]:
    return {"expectation": expectation, "column": column, "success": success, **extra}


def plain(v: Any) -> Any:
    """numpy scalars and NaN -> JSON-friendly Python values."""
    if v is None or v is pd.NA or (isinstance(v, float) and math.isnan(v)):
        return None
    if hasattr(v, "item"):
        return v.item()
    if isinstance(v, decimal.Decimal):  # a parquet decimal column (SQL NUMERIC exports)
        return float(v) if v.is_finite() else str(v)
    if isinstance(v, list | tuple):
        return [plain(x) for x in v]
    if isinstance(v, dict):
        return {str(k): plain(x) for k, x in v.items()}
    return v


def type_problems(values: pd.Series, dtype: str, text: pd.Series | None = None) -> pd.Series:  # noqa: PLR0911 - one case per (contract dtype, pandas dtype)
    """The cells that stop a column from having the contract's dtype (nulls excluded).

    ``text`` is the column as written in a CSV file, when pandas read it as floats: an int column
    with blanks reads as float64 either way, and only the text tells ``46`` from ``46.0``.
    """
    present = values.dropna()
    if dtype == "str":
        return present.iloc[0:0]
    if dtype == "bool":
        if pd.api.types.is_bool_dtype(present):
            return present.iloc[0:0]
        if pd.api.types.is_numeric_dtype(present):
            return present[~present.isin([0, 1])]
        return present[~present.astype(str).str.strip().str.lower().isin(_BOOL_TEXT)]
    if pd.api.types.is_bool_dtype(present):
        return present
    if dtype == "float":
        if pd.api.types.is_numeric_dtype(present):
            return present.iloc[0:0]
        return present[pd.to_numeric(present, errors="coerce").isna()]
    # int: a whole number that fits in 64 bits (what prepare, parquet and the service hold)
    if pd.api.types.is_integer_dtype(present):
        return present[present > INT64_MAX] if present.dtype.kind == "u" else present.iloc[0:0]
    if pd.api.types.is_float_dtype(present):
        if text is not None:
            written = text.loc[present.index].astype(str)
            return written[~_whole_int64(written)]
        wrong: pd.Series = present[~whole_int64(present.to_numpy(dtype=np.float64))]  # double[pyarrow] has no %
        return wrong
    return present[~_whole_int64(present.astype(str))]


def _whole_int64(text: pd.Series) -> pd.Series:
    """Which cells are written as a whole number within int64 (-9223372036854775808 to ...807)."""
    s = text.str.strip()
    ok = s.str.match(_INT).fillna(False).astype(bool)
    digits = s.str.lstrip("+-").str.lstrip("0")
    n = digits.str.len()
    edge = ok & (n == len(str(INT64_MAX)))  # as many digits as the bound: compared as text (same length)
    ok &= n <= len(str(INT64_MAX))
    if edge.any():
        limit = np.where(s[edge].str.startswith("-"), str(INT64_MIN)[1:], str(INT64_MAX))
        ok[edge] = (digits[edge].to_numpy(dtype=object) <= limit).astype(bool)
    return ok


def file_checks(name: str, df: pd.DataFrame, contract: Contract, text: dict[str, pd.Series]) -> list[dict[str, Any]]:
    """Rows, column set and types of one file. ``text``: float-read int columns as written."""
    out = []
    rules = contract.validation
    if df.empty:
        return [check(ROWS_CHECK, None, False, file=name, message="header only: no rows")]
    few = rules.min_file_rows is not None and len(df) < rules.min_file_rows
    message = f"{len(df)} rows, fewer than validation.min_file_rows = {rules.min_file_rows}" if few else None
    out.append(check(ROWS_CHECK, None, not few, file=name, observed=len(df), message=message))
    expected, found = list(contract.columns), [str(c) for c in df.columns]
    missing = [c for c in expected if c not in found]
    extra = [c for c in found if c not in contract.columns]
    if missing or extra:
        parts = ([f"missing {missing}"] if missing else []) + ([f"unexpected {extra}"] if extra else [])
        hint = " (one column named like several? check the delimiter)" if len(found) == 1 and len(expected) > 1 else ""
        out.append(check(COLUMNS_CHECK, ",".join(missing + extra), False, file=name, message="; ".join(parts) + hint))
    else:
        out.append(check(COLUMNS_CHECK, None, True, file=name))
    typed = name.lower().endswith(".parquet")  # the file stores types: text is text, not numbers written out
    for col_name, col in contract.columns.items():
        if col_name not in df:
            continue
        values = df[col_name].reset_index(drop=True)  # positions: a parquet file may bring a repeated index
        if typed and col.dtype in ("int", "float") and pd.api.types.is_string_dtype(values.dropna()):
            bad, message = values.dropna(), f"stored as text ({values.dtype}): store it as numbers ({col.dtype})"
        else:
            bad = type_problems(values, col.dtype, text.get(col_name))
            message = f"not {col.dtype} (read as {values.dtype}){_INT_HINT if col.dtype == 'int' else ''}"
        if bad.empty:
            out.append(check(TYPE_CHECK, col_name, True, file=name))
            continue
        shown = bad.head(EXAMPLES)
        out.append(
            check(
                TYPE_CHECK,
                col_name,
                False,
                file=name,
                unexpected_count=len(bad),
                examples=[plain(v) for v in shown.tolist()],
                rows=[int(i) + 1 for i in shown.index],  # data rows, from 1
                message=message,
            )
        )
    return out


def columns_ok(checks: list[dict[str, Any]]) -> bool:
    """Whether a file's structure is sound enough to run column expectations on it."""
    return not any(c["expectation"] in (COLUMNS_CHECK, ROWS_CHECK, READ_CHECK) and not c["success"] for c in checks)


def category_keys(values: pd.Series) -> pd.Series:
    """Values as comparable text: ``1`` and ``1.0`` (an int column read as floats because of a blank
    in one file) are one category, as are ``True`` and ``true``."""
    if pd.api.types.is_integer_dtype(values) and not pd.api.types.is_bool_dtype(values):
        return values.astype(str)  # what the general path gives integers, at a fraction of its cost
    numbers = pd.to_numeric(values, errors="coerce") if not pd.api.types.is_bool_dtype(values) else None
    if numbers is not None and numbers.notna().all():
        whole = numbers % 1 == 0
        return numbers.astype(object).where(~whole, numbers[whole].astype("int64")).astype(str)
    return values.astype(str).str.strip().str.lower()


def category_counts(values: pd.Series) -> dict[str, int]:
    """How often each category (as :func:`category_keys` reads it) occurs: keyed per distinct value,
    not per row, because turning 70,000 rows into text cost more than the rest of the file checks."""
    counts = values.value_counts()
    counts = counts[counts > 0]  # a categorical dtype lists its unused categories
    keys = category_keys(pd.Series(counts.index, dtype=counts.index.dtype))
    out: dict[str, int] = {}
    for key, n in zip(keys.tolist(), counts.tolist(), strict=True):
        out[key] = out.get(key, 0) + int(n)
    return out


class _Columns:
    """Each file's column summarised once (its first SHIFT_ROWS values, their category counts, the
    bins it gives as a reference, its size) and shared by every comparison it takes part in: recounted
    per pair, 16 files of 9,000 rows took 25 s, most of it counting the same categories again; pandas
    calls per pair (a null count, a dtype test, a conversion) were still most of the rest."""

    def __init__(self, frames: dict[str, pd.DataFrame], bins: int = 10) -> None:
        self.frames, self.bins = frames, bins
        self._values: dict[tuple[str, str], pd.Series] = {}
        self._numbers: dict[tuple[str, str], np.ndarray | None] = {}
        self._present: dict[tuple[str, str], int] = {}
        self._counts: dict[tuple[str, str], dict[str, int]] = {}
        self._whole_counts: dict[tuple[str, str], dict[str, int]] = {}
        self._reference: dict[tuple[str, str], tuple[np.ndarray, np.ndarray]] = {}

    def values(self, name: str, column: str) -> pd.Series:
        key = (name, column)
        if key not in self._values:
            self._values[key] = self.frames[name][column].head(SHIFT_ROWS).dropna()
        return self._values[key]

    def numbers(self, name: str, column: str) -> np.ndarray | None:
        """The values as float64, or None for a column that is not numeric."""
        key = (name, column)
        if key not in self._numbers:
            values = self.values(name, column)
            numeric = pd.api.types.is_numeric_dtype(values)
            self._numbers[key] = values.to_numpy(dtype=np.float64) if numeric else None
        return self._numbers[key]

    def present(self, name: str, column: str) -> int:
        """Non-null values in the whole column."""
        key = (name, column)
        if key not in self._present:
            self._present[key] = int(self.frames[name][column].notna().sum())
        return self._present[key]

    def counts(self, name: str, column: str) -> dict[str, int]:
        """Category counts as a plain dict: PSI over a few keys is then microseconds, not pandas calls."""
        key = (name, column)
        if key not in self._counts:
            self._counts[key] = category_counts(self.values(name, column))
        return self._counts[key]

    def whole_counts(self, name: str, column: str) -> dict[str, int]:
        """Category counts over the whole column (the same as :meth:`counts` for a file of at most
        SHIFT_ROWS rows)."""
        if len(self.frames[name]) <= SHIFT_ROWS:
            return self.counts(name, column)
        key = (name, column)
        if key not in self._whole_counts:
            self._whole_counts[key] = category_counts(self.frames[name][column].dropna())
        return self._whole_counts[key]

    def reference(self, name: str, column: str) -> tuple[np.ndarray, np.ndarray]:
        """Inner bin edges at the file's quantiles, and its own count per bin."""
        key = (name, column)
        if key not in self._reference:
            ref = self.numbers(name, column)
            assert ref is not None  # only numeric columns are binned
            inner = np.unique(np.quantile(ref, np.linspace(0, 1, self.bins + 1)))[1:-1]
            self._reference[key] = (
                inner,
                np.bincount(np.searchsorted(inner, ref, side="right"), minlength=len(inner) + 1),
            )
        return self._reference[key]

    def share_psi(self, mine: str, other: str, column: str, categorical: bool) -> float:
        """PSI of ``mine``'s column against ``other``'s (every bin's count plus SMOOTHING), less what
        sampling alone gives (about (k-1)(1/n_a + 1/n_b) for k bins); 0 within NOISE_SD of sampling.

        Without the correction two small samples of the same distribution over 25 categories score
        about 0.2: a fixed threshold would then blame small files for nothing.
        """
        n_a, n_b = len(self.values(mine, column)), len(self.values(other, column))
        if not n_a or not n_b:
            return float("nan")
        a = self.numbers(mine, column)
        if categorical or a is None or self.numbers(other, column) is None:
            ca, cb = self.counts(mine, column), self.counts(other, column)
            keys = sorted(ca.keys() | cb.keys())
            expected: np.ndarray = np.array([cb.get(x, 0) for x in keys], dtype=np.float64)
            actual: np.ndarray = np.array([ca.get(x, 0) for x in keys], dtype=np.float64)
        else:
            inner, expected = self.reference(other, column)
            actual = np.bincount(np.searchsorted(inner, a, side="right"), minlength=len(inner) + 1)
        k, inverse = len(expected), 1 / n_a + 1 / n_b
        excess = psi(np.add(expected, SMOOTHING), np.add(actual, SMOOTHING)) - (k - 1) * inverse
        # PSI of two samples of one distribution is about chi-square(k-1) * (1/n_a + 1/n_b): a shift
        # counts only beyond NOISE_SD of its spread (small files), and then only by what exceeds its mean
        return excess if excess > NOISE_SD * math.sqrt(2 * (k - 1)) * inverse else 0.0


def natural(name: str) -> list[Any]:
    """Sort key that reads numbers as numbers: ``day_9`` before ``day_10``."""
    return [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", name)]


def peers(name: str, names: list[str], most: int = MAX_PEERS) -> list[str]:
    """The files a file is compared with: all others, or its ``most`` nearest by name (by time, when
    files are named by period), so hundreds of daily files cost hundreds of comparisons, not their square."""
    order = sorted(names, key=natural)
    i = order.index(name)
    if len(order) - 1 <= most:
        return order[:i] + order[i + 1 :]
    before, after = order[max(0, i - most) : i][::-1], order[i + 1 : i + 1 + most]
    near = [n for pair in itertools.zip_longest(before, after) for n in pair if n is not None]
    return sorted(near[:most])


def _shifts(name: str, column: str, cols: _Columns, near: list[str], categorical: bool, min_rows: int) -> list[float]:
    """PSI of one file's column against each peer's (on at most SHIFT_ROWS rows of each); peers with
    fewer than ``min_rows`` values are too small to judge anyone by (they get their own size check)."""
    out = []
    for other in near:
        if column in cols.frames[other] and cols.present(other, column) >= min_rows:
            value = cols.share_psi(name, other, column, categorical)
            if not math.isnan(value):
                out.append(value)
    return out


def _collapsed(values: pd.Series, others: pd.Series, counted: Callable[[], dict[str, int]] | None = None) -> bool:
    """One value only, where the other files make that all but impossible by chance (p ** n < 1e-6):
    a 1% fraud flag may well be all zeros in 120 rows; a 25-level code all one level may not.
    ``counted``: gives the category counts of ``values`` when the caller keeps them already."""
    if values.nunique() > MAX_SHIFT_CATEGORIES:  # far from one category, however the keys merge
        return False
    mine = counted() if counted is not None else (category_counts(values))
    if len(mine) != 1:  # the usual answer: the other files need not be counted
        return False
    theirs = category_counts(others.dropna())
    if len(theirs) < 2:
        return False
    [(key, n)] = mine.items()
    share = theirs.get(key, 0) / sum(theirs.values())
    return share**n < COLLAPSE_P


def sibling_checks(frames: dict[str, pd.DataFrame], contract: Contract) -> list[dict[str, Any]]:
    """Each file against the others: size, collapsed categories, distribution shift.

    Thresholds come from ``validation`` in the contract; the reference is always the other files,
    so the defaults adapt to the data: nothing here needs a number that depends on the dataset.
    """
    rules: FileChecks = contract.validation
    out: list[dict[str, Any]] = []
    if len(frames) < 2:
        return out
    sizes = {n: len(f) for n, f in frames.items()}
    cols = _Columns(frames)
    for name, df in frames.items():
        others = [s for n, s in sizes.items() if n != name]
        median = float(np.median(others))
        if rules.min_share_of_median is not None and len(df) < rules.min_share_of_median * median:
            out.append(
                check(
                    SMALL_CHECK,
                    None,
                    False,
                    file=name,
                    observed=len(df),
                    message=f"{len(df)} rows, under {rules.min_share_of_median:.0%} of the other files' median "
                    f"({median:,.0f}): truncated or partial export?",
                )
            )
        near = peers(name, list(frames))
        rest = pd.concat([frames[n].head(SHIFT_ROWS) for n in near], ignore_index=True)
        for col_name in [*contract.features, contract.target]:
            col = contract.columns[col_name]
            if col_name not in df or col_name not in rest:
                continue
            values = df[col_name].dropna()
            categorical = col.categorical or col.value_set is not None or col_name == contract.target
            if (
                categorical
                and len(values) >= rules.collapse_min_rows
                and _collapsed(values, rest[col_name], functools.partial(cols.whole_counts, name, col_name))
            ):
                out.append(
                    check(
                        COLLAPSE_CHECK,
                        col_name,
                        False,
                        file=name,
                        examples=[plain(values.iloc[0])],
                        message=f"every one of {len(values):,} values is {plain(values.iloc[0])!r}; "
                        f"the other files have {rest[col_name].nunique()} values",
                    )
                )
                continue
            if rules.max_psi is None or len(values) < rules.collapse_min_rows:
                continue
            if categorical and rest[col_name].nunique() > MAX_SHIFT_CATEGORIES:
                continue  # near-unique text (names, free text): PSI over it measures nothing
            shifts = _shifts(name, col_name, cols, near, categorical, rules.collapse_min_rows)
            if len(shifts) == 1:  # two files: the newer (later by name) is judged against the older
                blamed = name == max(frames, key=natural) and shifts[0] > rules.max_psi
            else:  # several: a file is off when it is far from most of the others, not just from one
                blamed = sum(x > rules.max_psi for x in shifts) > len(shifts) / 2
            if blamed:
                worst = float(np.median(shifts))
                out.append(
                    check(
                        SHIFT_CHECK,
                        col_name,
                        False,
                        file=name,
                        observed=round(worst, 4),
                        message=f"PSI {worst:.3f} (median against the other {len(shifts)} files) > "
                        f"validation.max_psi {rules.max_psi}",
                    )
                )
    return out


def target_check(df: pd.DataFrame, contract: Contract) -> dict[str, Any]:
    """The stacked data has exactly two target values, one of them ``positive`` exactly as training will
    read it (``Yes`` is not ``yes``): otherwise every row would silently be one class."""
    values = df[contract.target].dropna() if contract.target in df else pd.Series(dtype=object)
    seen = sorted({plain(x) for x in values.unique()}, key=str)
    positives = int(is_positive(values, contract).sum())
    ok = len(seen) == 2 and 0 < positives < len(values)
    need = f"a binary target needs two values, one of them positive={contract.positive!r}"
    return check(TARGET_CHECK, contract.target, ok, observed=seen[:10], message=None if ok else f"{seen[:10]}: {need}")


def leakage_check(df: pd.DataFrame, contract: Contract, file: str) -> dict[str, Any]:
    """Per file, so a leak that arrives with one batch is named with that batch."""
    leaks = leakage_findings(df, contract)
    return check(
        LEAKAGE,
        ",".join(leaks) or None,
        not leaks,
        file=file,
        message=", ".join(f"{k} predicts the target for {v:.2%} of rows" for k, v in leaks.items()) or None,
    )


UNIQUE_CHECK = "expect_column_values_to_be_unique"


def repeated_ids(frames: dict[str, pd.DataFrame], key: str, most: int = 5) -> tuple[int, list[str]]:
    """Rows whose id another row has, across every readable file, and where the first few are:
    ``"100003 in a.csv row 4, b.csv row 2"`` (data rows, from 1). Compared as text, so a file whose
    other columns are broken still takes part."""
    columns = {name: f[key] for name, f in frames.items() if key in f}
    if not columns:
        return 0, []
    if all(_equal_as_text(c.dtype) for c in columns.values()):
        # none repeated as numbers, none as text: no text needed (0.3 s of the example's validate
        # stage went into these texts)
        numbers = pd.concat(list(columns.values()), ignore_index=True).dropna()
        if not numbers.duplicated().any():
            return 0, []
    parts = [
        pd.DataFrame({"id": _id_text(c), "file": name, "row": range(1, len(c) + 1)}) for name, c in columns.items()
    ]
    ids = pd.concat(parts, ignore_index=True).dropna(subset=["id"])
    dup = ids[ids["id"].duplicated(keep=False)]
    where = [
        f"{value} in " + ", ".join(f"{r.file} row {r.row}" for r in g.itertuples())
        for value, g in list(dup.groupby("id", sort=False))[:most]
    ]
    return len(dup), where


def _equal_as_text(dtype: Any) -> bool:
    """Integers and float64s (nullable too) that read the same are equal once pandas combines them.
    Not float32: its 0.1 widens to 0.100000001, which is not float64's 0.1, yet both read "0.1"."""
    numpy = getattr(dtype, "numpy_dtype", dtype)
    return isinstance(numpy, np.dtype) and (numpy.kind in "iu" or numpy == np.float64)


def _id_text(ids: pd.Series) -> pd.Series:
    """Ids as text, whole-number floats without ".0": an int id column with a blank reads as float."""
    if pd.api.types.is_float_dtype(ids):
        whole = ids.dropna()
        if (whole == whole.round()).all() and whole.abs().lt(2**63).all():  # Int64 holds them (not 1e20, inf)
            return ids.astype("Int64").astype("string")
    return ids.astype("string")


def describe(c: dict[str, Any]) -> str:
    """One line naming the expectation, column, file and a few offending values."""
    where = f" on column '{c['column']}'" if c.get("column") else ""
    where += f" in {c['file']}" if c.get("file") else ""
    parts = [f"{c['expectation']}{where}"]
    if c.get("unexpected_count"):
        examples = c.get("examples")
        if c.get("rows") and examples:
            examples = ", ".join(f"row {r}: {e!r}" for r, e in zip(c["rows"], examples, strict=False))
        parts.append(f"{c['unexpected_count']} bad rows, e.g. {examples}")
    if "observed" in c and not c.get("message"):
        parts.append(f"observed {c['observed']}")
    if c.get("message"):
        parts.append(str(c["message"]))
    if c.get("where"):
        parts.append("; ".join(c["where"]))
    return parts[0] + (" — " + "; ".join(parts[1:]) if parts[1:] else "")


def markdown(report: dict[str, Any]) -> str:
    status = "✅ passed" if report["success"] else f"❌ failed ({report['failed']} of {report['evaluated']} checks)"
    lines = [
        f"### Data validation: {status}",
        "",
        f"Dataset `{report['dataset']}`, {report['rows']:,} rows in {len(report['files'])} files, "
        f"sha256 `{report['data_sha256'][:12]}`.",
        "",
    ]
    failed = [c for c in report["checks"] if not c["success"]]
    if failed:
        lines += ["| expectation | file | column | problem |", "|---|---|---|---|"]
        for c in failed:
            problem = re.sub(r"\s+", " ", describe(c).split(" — ", 1)[-1]).replace("|", "\\|")
            file = str(c.get("file") or "all files").rsplit("/", 1)[-1]
            lines.append(f"| `{c['expectation']}` | {file} | {c.get('column') or ''} | {problem} |")
    else:
        lines.append(f"All {report['evaluated']} checks passed.")
    if report.get("warnings"):
        lines += ["", "Warnings:", "", *(f"- {w}" for w in report["warnings"])]
    return "\n".join(lines) + "\n"
