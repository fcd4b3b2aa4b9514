"""A first data contract guessed from the data: what ``make contract`` writes for a person to review.

Writing ``contract.yaml`` by hand for a new dataset is the slowest step of adopting the template;
most of it (types, missing values, ranges, codes, which column is the id or the time) can be read
off the data. Every guess is only what this sample shows, so each comes with a note saying what to
check. Pure: pandas only; reading files and writing YAML is :mod:`mlpipe.tasks.contract`'s job.
"""

from __future__ import annotations

import math
import re
from typing import Any

import pandas as pd

from mlpipe.config import INT64_MAX, whole_int64
from mlpipe.core.split import PERIOD_FREQ
from mlpipe.errors import ConfigError

#: At most this many distinct values make a text or integer column a set of codes (``allowed``).
MAX_CODES = 20
#: The drafted ``min_rows`` is a tenth of the rows seen, at most this: it guards against an empty or cut-off
#: pull (each file's size against its siblings' guards the rest), and the template's own tests synthesise
#: ``min_rows`` rows and more for every run, so 70,000 of them would slow a large fork's suite for nothing.
MAX_MIN_ROWS = 5_000
#: A time column has this many distinct periods (fewer: nothing to split on; more: not periods).
MIN_PERIODS, MAX_PERIODS = 2, 50
#: Name parts that make an integer column a time column.
TIME_WORDS = frozenset({"year", "yr", "month", "period", "batch", "quarter", "week", "date"})
#: Name parts that suggest a protected attribute (a short word may carry one extra letter: AGEP).
SENSITIVE_WORDS = frozenset({"sex", "gender", "race", "age", "ethnicity", "ethnic", "religion", "religious",
                             "marital", "nationality", "citizenship", "citizen", "disability", "disabled",
                             "pregnancy", "pregnant", "orientation", "native", "caste"})  # fmt: skip
_ISO_DAY = re.compile(r"^\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])$")
_ISO_MONTH = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")


def draft_contract(
    df: pd.DataFrame, target: str, name: str, files: int = 1, written_as_float: frozenset[str] = frozenset()
) -> tuple[dict[str, Any], list[str]]:
    """(contract as plain data ready for YAML, notes for the reviewer) for the frame ``df``.

    ``written_as_float``: columns whose file text has decimals (``46.0``): typed ``float`` even when every
    value is whole, because validation reads an ``int`` column's text and would refuse ``46.0``.

    Raises :class:`ConfigError` when the target is missing or not binary, or no column can be
    the id: the pipeline cannot run on such data, so a draft would only hide the problem.
    """
    df = df.rename(columns=str)
    if target not in df.columns:
        raise ConfigError(f"target column {target!r} is not in the data; its columns are {list(df.columns)}")
    notes: list[str] = []
    dtypes = {col: "float" if col in written_as_float else infer_dtype(df[col]) for col in df.columns}
    target_values, positive = _target(df[target], dtypes[target], notes)
    id_col = _find_id(df, dtypes, target, notes)
    time_col = _find_time(df, dtypes, {id_col, target})
    features = [c for c in df.columns if c not in {id_col, target, time_col}]

    columns: dict[str, dict[str, Any]] = {}
    kinds: dict[str, list[str]] = {"range": [], "codes": [], "text": [], "constant": [], "empty": []}
    for col in df.columns:
        values = df[col].dropna()
        if col == id_col:
            nonnegative = dtypes[col] == "int" and bool((values >= 0).all())
            entry: dict[str, Any] = {"dtype": dtypes[col]} | ({"min": 0} if nonnegative else {})
        elif col == target:
            entry = {"dtype": dtypes[col], "allowed": target_values}  # never nullable: see _target
        elif col == time_col:
            entry = {"dtype": dtypes[col]}
            if dtypes[col] == "int":
                entry |= {"min": int(values.min()), "max": int(values.max())}
        else:
            entry, kind = _feature_entry(values, dtypes[col])
            if kind:
                kinds[kind].append(f"{col} ({values.nunique()})" if kind == "text" else col)
        if col not in (id_col, target) and len(values) < len(df):
            entry = {"dtype": entry.pop("dtype"), "nullable": True} | entry  # read next to its dtype
        columns[col] = entry

    rows = len(df)
    min_rows = max(1, min(rows // 10, MAX_MIN_ROWS))
    notes += _column_notes(kinds)
    notes.append(_time_note(df, dtypes, columns, time_col))
    share = "a tenth of" if min_rows == rows // 10 else f"at most {MAX_MIN_ROWS:,} of"
    notes.append(f"min_rows is {min_rows} ({share} the {rows} rows seen): validation refuses data with fewer "
                 "rows; set it to the fewest you would train on")  # fmt: skip
    sensitive = _sensitive_note(df, dtypes, columns, {id_col, target, time_col})
    if sensitive:
        notes.append(sensitive)

    plural = "file" if files == 1 else "files"
    contract: dict[str, Any] = {
        "name": name,
        "description": f"Drafted by make contract from {rows} rows in {files} {plural}: review every entry",
        "id": id_col,
        "target": target,
        "positive": positive,
        "time": time_col,
        "min_rows": min_rows,
        "features": features,
        "sensitive": {},
        "columns": columns,
    }
    return contract, notes


def _feature_entry(values: pd.Series, dtype: str) -> tuple[dict[str, Any], str]:
    """(column entry, which kind of guess it holds: a key of the notes) for a feature's non-missing ``values``."""
    entry: dict[str, Any] = {"dtype": dtype}
    if values.empty:
        return entry, "empty"
    n_distinct = values.nunique()
    codes = dtype in ("int", "str") and n_distinct <= MAX_CODES
    if codes:
        entry["allowed"] = sorted(_plain(v, dtype) for v in values.unique())
    elif dtype == "int":
        entry |= {"min": int(values.min()), "max": int(values.max())}
    elif dtype == "float":
        entry |= {"min": round_out(float(values.min()), down=True), "max": round_out(float(values.max()))}
    if n_distinct == 1:
        return entry, "constant"
    if codes:
        return entry, "codes"
    return entry, {"int": "range", "float": "range", "str": "text"}.get(dtype, "")


def _column_notes(kinds: dict[str, list[str]]) -> list[str]:
    """One note per kind of guess, naming the columns that hold it."""
    texts = {
        "range": "min/max are the range this sample shows ({}): widen them to what is valid, or new data outside "
        "them fails validation",
        "codes": "allowed lists hold only the values seen ({}): add valid values that did not occur; integer codes "
        "can get readable 'labels' (code: text) instead of 'allowed'",
        "text": f"text columns with more than {MAX_CODES} distinct values get no allowed list, so any text passes "
        "validation: {}",
        "constant": "columns with a single value carry no signal; drop them from features: {}",
        "empty": "columns with no values at all: drop them from the data: {}",
    }
    return [texts[kind].format(", ".join(cols)) for kind, cols in kinds.items() if cols]


def infer_dtype(values: pd.Series) -> str:
    """The contract dtype of a column as read from disk.

    A float column whose values are all whole numbers is ``int``: pandas reads an integer
    column with blanks as float. An ``int`` fits in 64 bits (what validation holds it to); whole numbers
    beyond are identifiers or codes in practice (hashes as unsigned 64-bit numbers), kept exact as ``str``.
    Text that is only true/false (any case) is ``bool``.
    """
    present = values.dropna()
    if pd.api.types.is_bool_dtype(values):
        return "bool"
    if pd.api.types.is_integer_dtype(values):
        return "str" if values.dtype.kind == "u" and bool((present > INT64_MAX).any()) else "int"
    if pd.api.types.is_float_dtype(values):
        return "int" if not present.empty and bool(whole_int64(present).all()) else "float"
    if pd.api.types.is_numeric_dtype(values) or present.empty:
        return "float"
    # object columns of Python booleans (pandas reads True/False with blanks so) or true/false text
    return "bool" if present.astype(str).str.lower().isin(["true", "false"]).all() else "str"


def round_out(x: float, down: bool = False, digits: int = 3) -> float:
    """``x`` rounded away from the data to ``digits`` significant digits (a bound, not a value)."""
    if x == 0 or not math.isfinite(x):
        return x
    exp = math.floor(math.log10(abs(x))) - digits + 1
    scale = 10.0**exp
    edge = (math.floor if down else math.ceil)(x / scale) * scale
    return float(round(edge, max(0, -exp)))


def _plain(value: Any, dtype: str) -> Any:
    """A numpy or pandas scalar as the Python value YAML and pydantic expect for ``dtype``."""
    if dtype == "int":
        return int(value)
    if dtype == "float":
        return float(value)
    if dtype == "bool":
        return value if isinstance(value, bool) else str(value).lower() == "true"
    return str(value)


def _target(values: pd.Series, dtype: str, notes: list[str]) -> tuple[list[Any], Any]:
    """(the two target values, the positive one); the model is a binary classifier."""
    present = values.dropna()
    distinct = sorted({_plain(v, dtype) for v in present.unique()})
    if len(distinct) != 2:
        shown = distinct[:10]
        more = f" (showing 10 of {len(distinct)})" if len(distinct) > 10 else ""
        raise ConfigError(
            f"target column {values.name!r} must have exactly 2 distinct values (binary classification); "
            f"it has {len(distinct)}: {shown}{more}"
        )
    missing = int(values.isna().sum())
    if missing:
        notes.append(f"target {values.name!r} is missing in {missing} rows: a row without a label cannot train, "
                     "and validation refuses it; remove those rows")  # fmt: skip
    if set(distinct) == {0, 1} and dtype == "int":
        return distinct, 1
    if dtype == "bool":
        return distinct, True
    counts = present.map(lambda v: _plain(v, dtype)).value_counts()
    low, high = distinct
    positive = high if counts[high] <= counts[low] else low
    notes.append(f"positive class is {positive!r}, the rarer of {distinct}: check it is the outcome the model "
                 "should detect (metrics such as recall and precision are about it)")  # fmt: skip
    return distinct, positive


def _find_id(df: pd.DataFrame, dtypes: dict[str, str], target: str, notes: list[str]) -> str:
    """The id: unique, never-missing integers; a column named ``id`` or ``..._id`` first."""
    unique = [c for c in df.columns if c != target and dtypes[c] == "int" and df[c].notna().all() and df[c].is_unique]
    named = [c for c in unique if c.lower() == "id"] + [c for c in unique if _parts(c)[-1:] == ["id"]]
    for col in named + [c for c in unique if c.lower().endswith("id")]:  # id, customer_id/customerId, PERSONID
        return col
    if unique:
        notes.append(f"{unique[0]!r} is the id because its values are unique integers: check it is an identifier "
                     "and not a feature")  # fmt: skip
        return unique[0]
    keys = [  # text keys such as "CUST-0001", when the name says so
        c for c in df.columns
        if c != target and dtypes[c] == "str" and _parts(c)[-1:] in (["id"], ["key"]) and df[c].notna().all()
        and df[c].is_unique
    ]  # fmt: skip
    if keys:
        return keys[0]
    raise ConfigError(
        "no column can be the id: the pipeline needs one column of unique, never-missing values (integers, or "
        "text named like `..._id`) to keep train and test apart and to trace predictions. Add one, e.g. the "
        "row number (in pandas: df.insert(0, 'id', range(len(df))))"
    )


def _find_time(df: pd.DataFrame, dtypes: dict[str, str], taken: set[str]) -> str | None:
    """ISO dates or months as text (any number of them: a daily date is split by month, quarter or
    year), else an integer column named like a period with a few distinct values."""
    for col in df.columns:
        values = df[col]
        if col in taken or values.isna().any() or values.nunique() < MIN_PERIODS or dtypes[col] != "str":
            continue
        text = values.astype(str)
        if text.str.match(_ISO_DAY).all() or text.str.match(_ISO_MONTH).all():
            return col
    for col in df.columns:
        values = df[col]
        if col in taken or values.isna().any() or not MIN_PERIODS <= values.nunique() <= MAX_PERIODS:
            continue
        if dtypes[col] == "int" and _words(col) & TIME_WORDS:
            return col
    return None


def _time_note(df: pd.DataFrame, dtypes: dict[str, str], columns: dict[str, dict[str, Any]], col: str | None) -> str:
    if col is None:
        return ("no time column found (ISO dates or months as text, or an integer year/month/period/batch column "
                f"with {MIN_PERIODS}-{MAX_PERIODS} values): set split.strategy: stratified in params.yaml")  # fmt: skip
    values = df[col]
    period = split_period(values) if dtypes[col] == "str" else "value"
    if period == "value":
        grow = f"; its max ({columns[col]['max']}) must grow as new periods arrive" if "max" in columns[col] else ""
        return (f"time column {col!r} ({values.nunique()} periods): the temporal split tests on the latest "
                f"(split.test_periods in params.yaml){grow}")  # fmt: skip
    n = pd.to_datetime(values.astype(str), format="ISO8601").dt.to_period(PERIOD_FREQ[period]).nunique()
    return (f"time column {col!r} ({values.nunique()} dates, {n} {period}s): set split.period: {period} in "
            f"params.yaml so the temporal split tests on the latest {period} (split.test_periods of them), "
            "or split.cutoff: an ISO date")  # fmt: skip


def split_period(values: pd.Series) -> str:
    """The ``split.period`` that gives a daily or monthly date column a handful of periods to test on:
    its values themselves when there are few, else the finest of month, quarter, year with at most
    MAX_PERIODS of them and at least two."""
    if values.nunique() <= MAX_PERIODS:
        return "value"
    dates = pd.to_datetime(values.astype(str), format="ISO8601")
    for period, freq in PERIOD_FREQ.items():
        n = dates.dt.to_period(freq).nunique()
        if MIN_PERIODS <= n <= MAX_PERIODS:
            return period
    return "year"


def _parts(name: str) -> list[str]:
    """Lower-case words of a column name: ``surveyYear`` and ``survey_year`` both end in ``year``."""
    spaced = re.sub(r"([a-z0-9])([A-Z])", r"\1 \2", name)
    return [w for w in re.split(r"[^a-z0-9]+", spaced.lower()) if w]


def _words(name: str) -> set[str]:
    return set(_parts(name))


def _is_sensitive(name: str) -> bool:
    for word in _words(name):
        if word in SENSITIVE_WORDS:
            return True
        if any(word.startswith(s) and len(word) == len(s) + 1 for s in ("sex", "age", "race", "rac")):
            return True  # ACS-style codes such as AGEP, RAC1P
    return False


def _sensitive_note(
    df: pd.DataFrame, dtypes: dict[str, str], columns: dict[str, dict[str, Any]], taken: set[Any]
) -> str:
    """Which columns look like protected attributes and how to declare each; the draft declares none.

    Which attributes to audit is a decision about people, not a property of the data.
    """
    hints = []
    for col in df.columns:
        if col in taken or not _is_sensitive(col):
            continue
        if dtypes[col] in ("str", "bool"):
            hints.append(f"{col}: {{}}")
        elif "allowed" in columns[col]:
            hints.append(f"{col}: {{}} (after turning its 'allowed' codes into 'labels')")
        else:
            hints.append(f"{col}: {{bins: {_bins(df[col])}}}")
    if not hints:
        return ""
    return (
        "columns that may be protected attributes; to report and gate metrics per group, declare under "
        "'sensitive' those that apply (numeric ones need bins: left-closed edges): " + "; ".join(hints)
    )


def _bins(values: pd.Series) -> list[int]:
    """Quartile edges (whole numbers) as a starting point for binning a numeric sensitive column."""
    present = values.dropna().astype(float)
    quartiles = present.quantile([0.25, 0.5, 0.75]).round().tolist()
    return sorted({math.floor(present.min()), *map(int, quartiles), math.floor(present.max()) + 1})
