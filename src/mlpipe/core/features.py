"""What the model sees, derived from the contract: labels, types, slices. pandas only (fast import)."""

from __future__ import annotations

import itertools
from typing import Any

import numpy as np
import pandas as pd

from mlpipe.config import Contract

TARGET = "__target__"


def prepare(raw: pd.DataFrame, contract: Contract) -> pd.DataFrame:
    """Validated raw rows -> model-ready rows.

    Coded categories become their readable labels (strings), numeric features float64,
    the target a 0/1 int in ``TARGET``; the id, time and sensitive columns are kept for
    splitting and slicing. Rows are sorted by id so the output does not depend on file order.
    """
    keep = [contract.id]
    if contract.time is not None:
        keep.append(contract.time)
    for name in [*contract.features, *contract.sensitive]:
        if name not in keep:
            keep.append(name)
    out = encode_columns(raw, contract, keep)
    out[TARGET] = is_positive(raw[contract.target], contract).astype(np.int8)
    return out.sort_values(contract.id, kind="mergesort").reset_index(drop=True)


def is_positive(values: pd.Series, contract: Contract) -> pd.Series:
    """Which target values are the positive class (``true``/``True``/``1`` alike for a boolean target)."""
    if isinstance(contract.positive, bool) or contract.columns[contract.target].dtype == "bool":
        return values.map(_bool_text) == _bool_text(contract.positive)
    return values == contract.positive


def encode_columns(raw: pd.DataFrame, contract: Contract, names: list[str]) -> pd.DataFrame:
    """Raw values -> what the model sees: codes become labels, other categories text, numbers float64.

    Missing values stay missing (NaN) whatever the column's type. Booleans become ``"true"`` /
    ``"false"`` however they were written (``True``, ``"TRUE"``, ``1``). Training (via
    ``prepare``), batch scoring and the service all go through this one function, which is what
    makes their predictions identical for the same rows.
    """
    out = pd.DataFrame(index=raw.index)
    for name in names:
        col = contract.columns[name]
        values = raw[name]
        if name in (contract.id, contract.time):
            out[name] = values
        elif col.labels is not None:
            out[name] = _text(values.map(col.labels))
        elif col.dtype == "bool":
            out[name] = _text(values.map(_bool_text))
        elif col.categorical:
            out[name] = _text(values)
        else:
            out[name] = pd.Series(as_float(values), index=values.index)
    return out


def as_float(values: pd.Series) -> np.ndarray:
    """Numbers as float64, every kind of missing (None, NaN, ``pd.NA`` in a nullable or object column:
    an int column with blanks, or records built from rows) as NaN; ``astype`` raises on ``pd.NA``."""
    return values.to_numpy(dtype=np.float64, na_value=np.nan)


def _bool_text(v: object) -> object:
    if v is None or v is pd.NA or (isinstance(v, float) and np.isnan(v)):
        return None
    return "true" if str(v).strip().lower() in ("true", "1", "1.0") else "false"


def _text(values: pd.Series) -> pd.Series:
    """Text with missing values as NaN (``astype(str)`` would turn ``None`` into ``"None"``).

    pandas' ``str`` columns (text read from a file, codes mapped to labels) are that already and stay
    as they are: through Python objects and back, the prepare stage spent 0.2 s making them and 0.4 s
    writing them to parquet on the example.
    """
    if isinstance(values.dtype, pd.StringDtype) and values.dtype.na_value is not pd.NA:  # missing: NaN
        return values
    present = values.notna()
    return values.astype(object).where(~present, values[present].astype(str)).where(present, np.nan)


def model_input(raw: pd.DataFrame, contract: Contract) -> pd.DataFrame:
    """Raw records (as in the data files or a request) -> the model's input columns."""
    return encode_columns(raw, contract, contract.features)


def scalar(v: Any) -> Any:
    """A numpy scalar as the Python value (``101``, not ``np.int64(101)``, in a message)."""
    return v.item() if hasattr(v, "item") else v


def feature_frame(df: pd.DataFrame, contract: Contract) -> pd.DataFrame:
    return df[contract.features]


def bands(values: pd.Series, bins: list[float]) -> pd.Series:
    """Left-closed bands like ``[16, 25)``; values outside the edges become ``other``."""
    labels = [f"[{_num(lo)}, {_num(hi)})" for lo, hi in itertools.pairwise(bins)]
    banded = pd.cut(values, bins=bins, right=False, labels=labels)
    return banded.astype(str).where(banded.notna(), "other")


def _num(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else str(x)


def slice_groups(df: pd.DataFrame, contract: Contract) -> dict[str, pd.Series]:
    """One grouping series per sensitive attribute (binned when the contract gives bins)."""
    out = {}
    for name, attr in contract.sensitive.items():
        out[name] = bands(df[name], attr.bins) if attr.bins is not None else df[name].astype(str)
    return out
