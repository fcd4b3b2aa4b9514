"""What the model sees, derived from the contract: labels, types, slices. pandas only (fast import)."""

from __future__ import annotations

import itertools

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
    out[TARGET] = (raw[contract.target] == contract.positive).astype(np.int8)
    return out.sort_values(contract.id, kind="mergesort").reset_index(drop=True)


def encode_columns(raw: pd.DataFrame, contract: Contract, names: list[str]) -> pd.DataFrame:
    """Raw values -> what the model sees: codes become labels, other categories strings, numbers float64.

    Training (via ``prepare``), batch scoring and the service all go through this one function,
    which is what makes their predictions identical for the same rows.
    """
    out = pd.DataFrame(index=raw.index)
    for name in names:
        col = contract.columns[name]
        values = raw[name]
        if col.labels is not None:
            out[name] = values.map(col.labels).astype(str)
        elif col.categorical:
            out[name] = values.astype(str)
        elif name in (contract.id, contract.time):
            out[name] = values
        else:
            out[name] = values.astype(np.float64)
    return out


def model_input(raw: pd.DataFrame, contract: Contract) -> pd.DataFrame:
    """Raw records (as in the data files or a request) -> the model's input columns."""
    return encode_columns(raw, contract, contract.features)


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
