"""Train/test split. The test set is a pure function of the data and params, so it is frozen."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pandas as pd

from mlpipe.config import Contract, SplitParams
from mlpipe.core.features import TARGET, scalar
from mlpipe.errors import DataError


@dataclass(frozen=True)
class Split:
    train: pd.DataFrame
    test: pd.DataFrame
    description: str


#: split.period -> its pandas period frequency, and its length in months (synthesised dates step by it)
PERIOD_FREQ = {"month": "M", "quarter": "Q", "year": "Y"}
PERIOD_MONTHS = {"month": 1, "quarter": 3, "year": 12}
#: A description lists at most this many periods; more are shown as first … last (n periods).
LISTED = 8


def periods_of(values: pd.Series, period: str, column: str, ids: pd.Series | None = None) -> pd.Series:
    """The period each time value falls in: the value itself, or the month, quarter or year of an ISO date."""
    if period == "value":
        return values
    dates = as_dates(values, column, f"split.period: {period}", ids)
    return pd.Series(dates.dt.to_period(PERIOD_FREQ[period]).astype(str), index=values.index)


def as_dates(values: pd.Series, column: str, why: str, ids: pd.Series | None = None) -> pd.Series:
    """ISO dates (``2024-03-31``, ``2024-03``) as timestamps; anything else is an error naming one, how
    many there are and (given ``ids``) a row's id, to find it in the data files."""
    dates = pd.to_datetime(values.astype(str), format="ISO8601", errors="coerce")
    bad = dates.isna() & values.notna()
    if bad.any():
        first = int(bad.to_numpy().argmax())  # a position: the index may repeat
        where = f" (id {scalar(ids.iloc[first])!r})" if ids is not None else ""
        raise DataError(
            f"{why} needs ISO dates in '{column}', e.g. 2024-03-31; found {scalar(values.iloc[first])!r}{where} "
            f"in {int(bad.sum())} of {len(values)} rows (make them ISO dates, or split by split.period: value)"
        )
    return dates


def span(values: list[Any]) -> str:
    """Periods for a log line or summary: all of a few, or the first and last of many."""
    if len(values) <= LISTED:
        return str(values)
    return f"[{values[0]} … {values[-1]}] ({len(values)} periods)"


def split(df: pd.DataFrame, contract: Contract, params: SplitParams) -> Split:
    if params.strategy == "temporal":
        assert contract.time is not None  # checked when the config was loaded
        time = df[contract.time]
        if params.cutoff is not None:
            cutoff = pd.Timestamp(params.cutoff)
            is_test = as_dates(time, contract.time, "split.cutoff", df[contract.id]) >= cutoff
            if is_test.all() or not is_test.any():
                raise DataError(
                    f"split.cutoff {params.cutoff}: every '{contract.time}' value is on one side of it "
                    f"({time.min()} to {time.max()}); the split needs rows before and from it"
                )
            desc = f"temporal: train on {contract.time} before {params.cutoff}, test from {params.cutoff}"
        else:
            per = periods_of(time, params.period, contract.time, df[contract.id])
            periods = sorted(per.unique().tolist())
            unit = "distinct" if params.period == "value" else f"{params.period}s of"
            if len(periods) <= params.test_periods:
                raise DataError(
                    f"temporal split needs more than {params.test_periods} {unit} '{contract.time}' values "
                    f"to keep some for training; the data has {span(periods)}"
                )
            test_periods = periods[-params.test_periods :]
            is_test = per.isin(test_periods)
            by = contract.time if params.period == "value" else f"{contract.time} {params.period}"
            desc = f"temporal: train on {by} {span(periods[: -params.test_periods])}, test on {span(test_periods)}"
        train, test = df[~is_test], df[is_test]
    else:
        from sklearn.model_selection import train_test_split  # noqa: PLC0415 - keeps the temporal path light

        parts: list[pd.DataFrame] = train_test_split(
            df, test_size=params.test_size, stratify=df[TARGET], random_state=params.seed
        )
        train, test = parts[0].sort_values(contract.id), parts[1].sort_values(contract.id)
        desc = f"stratified: {params.test_size:.0%} test, seed {params.seed}"
    overlap = set(train[contract.id]) & set(test[contract.id])
    if overlap:  # ids are unique after validation, so this guards the split logic itself
        raise DataError(f"{len(overlap)} ids are in both train and test, e.g. {sorted(overlap)[:5]}")
    for name, part in (("train", train), ("test", test)):
        if part[TARGET].nunique() < 2:
            raise DataError(f"the {name} set has only one target class; cannot train or evaluate")
    return Split(train.reset_index(drop=True), test.reset_index(drop=True), desc)
