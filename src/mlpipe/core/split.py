"""Train/test split. The test set is a pure function of the data and params, so it is frozen."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from mlpipe.config import Contract, SplitParams
from mlpipe.core.features import TARGET
from mlpipe.errors import DataError


@dataclass(frozen=True)
class Split:
    train: pd.DataFrame
    test: pd.DataFrame
    description: str


def split(df: pd.DataFrame, contract: Contract, params: SplitParams) -> Split:
    if params.strategy == "temporal":
        assert contract.time is not None  # checked when the config was loaded
        periods = sorted(df[contract.time].unique().tolist())
        if len(periods) <= params.test_periods:
            raise DataError(
                f"temporal split needs more than {params.test_periods} distinct '{contract.time}' values "
                f"to keep some for training; the data has {periods}"
            )
        test_periods = periods[-params.test_periods :]
        is_test = df[contract.time].isin(test_periods)
        train, test = df[~is_test], df[is_test]
        desc = f"temporal: train on {contract.time} {periods[: -params.test_periods]}, test on {test_periods}"
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
