"""Rows that satisfy a data contract, with a learnable signal: test data for any dataset.

The template's tests must pass for whatever data a fork describes in ``contract.yaml``, so they
cannot be written against the example's columns. :func:`synthesise` reads only the contract:
types, ranges, allowed values and labels, nullable columns (a few nulls each), the id (unique),
the time column (a few periods, so a temporal split works) and a target whose two classes depend
on the features (so a model learns something and the gate has something to compare). Extra
expectations of the form ``expect_column_mean_to_be_between`` are honoured; others are the
contract author's and are not guessed at (:func:`honoured` tells which). Pure: numpy and pandas.
"""

from __future__ import annotations

import itertools
from typing import Any

import numpy as np
import pandas as pd

from mlpipe.config import Column, Contract, Scalar, SplitParams
from mlpipe.core.split import PERIOD_FREQ, PERIOD_MONTHS

#: Extra expectations the generated rows are built to satisfy.
HONOURED = frozenset({"expect_column_mean_to_be_between"})
NULL_RATE = 0.05
LEVELS = 5  # categories invented for a text column without an allowed list
PERIODS = 3  # time values by default, so a temporal split has training periods left


def honoured(contract: Contract) -> Contract:
    """The contract without the extra expectations synthetic rows are not built to satisfy."""
    kept = [e for e in contract.expectations if e.type in HONOURED]
    return contract.model_copy(update={"expectations": kept})


def target_labels(contract: Contract) -> tuple[Scalar, Scalar]:
    return contract.target_labels()


def _mean_targets(contract: Contract) -> dict[str, float]:
    out = {}
    for e in contract.expectations:
        if e.type == "expect_column_mean_to_be_between" and "column" in e.kwargs:
            lo, hi = e.kwargs.get("min_value"), e.kwargs.get("max_value")
            if lo is not None and hi is not None:
                out[str(e.kwargs["column"])] = (float(lo) + float(hi)) / 2
            elif lo is not None or hi is not None:
                out[str(e.kwargs["column"])] = float(lo if lo is not None else hi)  # type: ignore[arg-type]
    return out


def _range(col: Column, width: float = 100.0) -> tuple[float, float]:
    lo = col.min if col.min is not None else (col.max - width if col.max is not None else 0.0)
    hi = col.max if col.max is not None else lo + width
    return float(lo), float(hi)


def _numeric(col: Column, n: int, rng: np.random.Generator, mean: float | None) -> np.ndarray:
    lo, hi = _range(col)
    # uniform over the declared range, or centred on the declared mean and clipped to the range
    values = rng.uniform(lo, hi, n) if mean is None else np.clip(rng.normal(mean, (hi - lo) / 6 or 1.0, n), lo, hi)
    if col.dtype == "int":
        values = np.clip(np.round(values), np.ceil(lo), np.floor(hi))
        if mean is not None:  # rounding and clipping move the mean a little: nudge it back
            values = np.clip(values + round(mean - values.mean()), np.ceil(lo), np.floor(hi))
        return values.astype(np.int64)
    return np.round(values, 4)


def _levels(name: str, col: Column) -> list[Any]:
    if col.value_set is not None:
        return list(col.value_set)
    if col.dtype == "bool":
        return [False, True]
    return [f"{name}_{k}" for k in range(LEVELS)]


def _periods(col: Column, n: int, split: SplitParams | None = None) -> list[Any]:
    """Time values spanning ``n`` periods as ``split`` counts them: ``n`` values, or for a text column
    split by month/quarter/year (or at a cutoff) three ISO dates in each of ``n`` consecutive periods,
    the last one starting at the cutoff when there is one (daily data, as exported)."""
    if col.value_set is not None:
        return sorted(col.value_set, key=str)[-n:]
    if split is not None and col.dtype == "str" and (split.period != "value" or split.cutoff is not None):
        months, freq = PERIOD_MONTHS.get(split.period, 1), PERIOD_FREQ.get(split.period, "M")  # value: months
        last = (
            pd.Timestamp(split.cutoff)
            if split.cutoff is not None
            else pd.Timestamp("2000-01-01") + pd.DateOffset(months=months * (n - 1))
        )
        if split.cutoff is None:
            last = last.to_period(freq).start_time
        starts = [last - pd.DateOffset(months=months * (n - 1 - k)) for k in range(n)]
        return [(s + pd.Timedelta(days=d)).strftime("%Y-%m-%d") for s in starts for d in (0, 10, 20)]
    if col.dtype == "str":
        return [f"{2000 + k // 12}-{k % 12 + 1:02d}" for k in range(n)]  # ISO months sort as text
    lo, hi = _range(col, width=n)
    start = max(lo, hi - n + 1)
    return [int(start + k) if col.dtype == "int" else float(start + k) for k in range(n)]


def synthesise(
    contract: Contract,
    rows: int,
    seed: int = 0,
    positive_rate: float | None = None,
    periods: int = PERIODS,
    world: int = 0,
    first_id: int | None = None,
    split: SplitParams | None = None,
) -> pd.DataFrame:
    """``rows`` raw records as they would appear in the data files, in the contract's column order.

    The target is ``positive`` for the rows with the highest score (per-category effects plus
    weighted numeric features plus noise), so its rate is exact and its signal learnable. ``world``
    fixes how features relate to the target and ``seed`` draws the rows, so two samples with one
    world and different seeds are new data from the same population (a monitoring window).
    ``split`` (params.yaml's): time values the temporal split can cut into ``periods`` periods.
    """
    rng = np.random.default_rng(seed)
    laws = np.random.default_rng(world)
    means = _mean_targets(contract)
    cols: dict[str, Any] = {}
    score = np.zeros(rows)
    signals: list[np.ndarray] = []
    for name, col in contract.columns.items():
        if name == contract.target:
            continue
        if name == contract.id:
            start = first_id if first_id is not None else int(col.min) if col.min is not None else 1
            ids = np.arange(start, start + rows)
            cols[name] = ids if col.dtype != "str" else [f"id{i:07d}" for i in ids]
            continue
        if name == contract.time:
            values_t = _periods(col, periods, split)
            cols[name] = [values_t[k] for k in np.sort(rng.integers(0, len(values_t), rows))]
            continue
        if col.categorical or col.value_set is not None:  # a closed set, whatever the dtype
            levels = _levels(name, col)
            picks = rng.integers(0, len(levels), rows)
            values: Any = pd.Series([levels[k] for k in picks], dtype=object)
            effect = laws.normal(0, 1, len(levels))
            signal = effect[picks]
        else:
            values = _numeric(col, rows, rng, means.get(name))
            spread = values.std() or 1.0
            z = (values - values.mean()) / spread
            # partly U-shaped, so a linear baseline cannot capture all of it and a tree model wins
            signal = 0.5 * z * laws.choice([-1.0, 1.0]) + (z**2 - 1)
            values = pd.Series(values)
        if name in contract.features:
            score += signal
            signals.append(signal)
        if col.nullable:
            values = values.astype(object).where(rng.random(rows) >= NULL_RATE, None)
        cols[name] = values
    for a, b in itertools.pairwise(signals):  # interactions, which only a non-linear model can use
        score += a * b
    rate = positive_rate if positive_rate is not None else means.get(contract.target, 0.5)
    score = score / max(np.sqrt(len(contract.features)), 1.0) * 2 + rng.logistic(0, 0.5, rows)
    cut = np.quantile(score, 1 - rate)
    negative, positive = target_labels(contract)
    cols[contract.target] = np.where(score > cut, positive, negative)
    df = pd.DataFrame({name: _column(cols[name], contract.columns[name]) for name in contract.columns})
    return df


def _column(values: Any, col: Column) -> pd.Series:
    s = pd.Series(values)
    if col.dtype == "int" and not col.nullable:
        return s.astype(np.int64)
    if col.dtype == "float" and not col.nullable:
        return s.astype(np.float64)
    if col.dtype == "int":
        return s.astype("Int64")
    if col.dtype == "float":
        return pd.to_numeric(s).astype(np.float64)
    if col.dtype == "bool" and not col.nullable:
        return s.astype(bool)
    return s.astype(object)
