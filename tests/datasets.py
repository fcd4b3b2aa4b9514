"""Test data for any contract: where rows go on disk, params fit for a small sample, columns by role.

Also two datasets built here, shaped unlike the example and unlike each other, which prove that a
swap needs configuration only: ``INCOME`` (text categories with and without an allowed list,
missing values, no time column, a text target, a stratified split, CSV) and ``SENSORS`` (parquet
files, a text id, a text time column, a boolean target and feature, coded integers with labels, a
nullable integer, a float with an extra expectation).
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from mlpipe.config import Column, Contract, Params, SplitParams
from mlpipe.core.split import periods_of

EXAMPLE_NAME = "acs_employment_ma"


def uses_example(params: Params, contract: Contract) -> bool:
    """Whether the repository still runs on the example dataset (ACS Employment)."""
    return params.example_data is not None and contract.name == EXAMPLE_NAME


def sample_rows(contract: Contract) -> int:
    """Enough synthetic rows for the contract's minimums and a meaningful split."""
    per_file = contract.validation.min_file_rows or 0
    return max(3000, contract.min_rows + 500, 4 * per_file)


def write_data(
    df: pd.DataFrame, data_dir: Path, contract: Contract, fmt: str = "csv", split: SplitParams | None = None
) -> Path:
    """One file per period of the temporal split (as data arrives: a month of daily rows is one export),
    or three exports when there is no time column (three, so the file-against-siblings checks can
    tell which one is off)."""
    data_dir.mkdir(parents=True, exist_ok=True)
    if contract.time is not None:
        period = split.period if split is not None else "value"
        keys = periods_of(df[contract.time], period, contract.time)
        parts = [(str(k), p) for k, p in df.groupby(keys, sort=True)]
    else:
        third = len(df) // 3
        parts = [("1", df.iloc[:third]), ("2", df.iloc[third : 2 * third]), ("3", df.iloc[2 * third :])]
    for key, part in parts:
        path = data_dir / f"part_{key}.{fmt}"
        if fmt == "parquet":
            part.to_parquet(path, index=False)
        else:
            part.to_csv(path, index=False, lineterminator="\n")
    return data_dir


def small_sample_params(params: dict[str, Any]) -> dict[str, Any]:
    """params.yaml for a few thousand synthetic rows: the real bars are for the real data.

    The gate's absolute bounds and slice gaps are dropped, the bootstrap and the search are shortened, the monitor's
    metric-drop bounds widened to the noise of a small test set, and the smoke
    test's latency bound is lifted: tests check answers, not this machine's speed (the latency
    logic has a test of its own with a fake clock).
    """
    out = copy.deepcopy(params)
    out["gate"].update(minimums={}, maximums={}, max_slice_gap={})
    out["gate"].setdefault("bootstrap", {})["n_resamples"] = 20
    out.setdefault("serve", {}).setdefault("smoke", {})["max_latency_ms"] = 1e9
    # a test set of a few hundred rows: metrics move by a few points between samples of one population
    out.setdefault("monitor", {})["max_metric_drop"] = {"roc_auc": 0.1, "accuracy": 0.1}
    # a search of a few candidates, one process (the suite may run beside other work)
    out.setdefault("tune", {}).update(candidates=4, folds=2, top=3, jobs=1, resamples=100)
    return out


def _first(contract: Contract, wanted: Callable[[Column], bool], why: str) -> str:
    """The first feature the test can use, or a skip saying what the contract lacks."""
    for name in contract.features:
        if wanted(contract.columns[name]):
            return name
    pytest.skip(f"the contract has no {why}")


def bounded_numeric(contract: Contract) -> tuple[str, Column]:
    name = _first(contract, lambda c: not c.categorical and c.max is not None, "numeric feature with a 'max'")
    return name, contract.columns[name]


def numeric_feature(contract: Contract) -> str:
    return _first(contract, lambda c: not c.categorical, "numeric feature")


def coded_feature(contract: Contract) -> tuple[str, list[Any]]:
    """A feature with a closed set of values, and that set."""
    name = _first(contract, lambda c: len(c.value_set or []) >= 2, "feature with 'labels' or 'allowed'")
    return name, list(contract.columns[name].value_set or [])


def non_nullable_feature(contract: Contract) -> str:
    return _first(contract, lambda c: not c.nullable, "feature that is not nullable")


def unknown_value(values: list[Any]) -> Any:
    """A value not in ``values``, of the same kind."""
    if all(isinstance(v, int) and not isinstance(v, bool) for v in values):
        return max(values) + 99
    return "a value nobody declared"


# --------------------------------------------------------------------------- two more datasets

INCOME: dict[str, Any] = {
    "name": "census_income",
    "description": "Does a person earn more than 50K a year? (shaped like the UCI Adult data)",
    "id": "person",
    "target": "income",
    "positive": ">50K",
    "min_rows": 500,
    "features": ["age", "workclass", "education_num", "occupation", "sex", "hours_per_week", "capital_gain"],
    "sensitive": {"sex": {}, "age": {"bins": [17, 30, 50, 91]}},
    "columns": {
        "person": {"dtype": "int", "min": 1},
        "age": {"dtype": "int", "min": 17, "max": 90},
        "workclass": {"dtype": "str", "nullable": True, "allowed": ["Private", "Self-emp", "Government", "Unpaid"]},
        "education_num": {"dtype": "int", "min": 1, "max": 16},
        "occupation": {"dtype": "str", "nullable": True},
        "sex": {"dtype": "str", "allowed": ["Female", "Male"]},
        "hours_per_week": {"dtype": "float", "min": 1, "max": 99, "nullable": True},
        "capital_gain": {"dtype": "float", "min": 0},
        "income": {"dtype": "str", "allowed": ["<=50K", ">50K"]},
    },
}

SENSORS: dict[str, Any] = {
    "name": "machine_failures",
    "description": "Will a machine fail within a week of this reading?",
    "id": "reading_id",
    "target": "failed",
    "positive": True,
    "time": "month",
    "min_rows": 300,
    "features": ["temperature", "vibration", "line", "maintained", "shift"],
    "sensitive": {"line": {}},
    "columns": {
        "reading_id": {"dtype": "str"},
        "month": {"dtype": "str"},
        "temperature": {"dtype": "float", "min": -20, "max": 120},
        "vibration": {"dtype": "float", "min": 0, "max": 50, "nullable": True},
        "line": {"dtype": "int", "labels": {1: "North", 2: "South", 3: "East"}},
        "maintained": {"dtype": "bool"},
        "shift": {"dtype": "int", "min": 1, "max": 3, "nullable": True},
        "failed": {"dtype": "bool"},
    },
    "expectations": [
        {
            "type": "expect_column_mean_to_be_between",
            "kwargs": {"column": "temperature", "min_value": 40, "max_value": 80},
        }
    ],
}


def params_for(base: dict[str, Any], contract: dict[str, Any]) -> dict[str, Any]:
    """The repository's params.yaml adapted to another dataset, as a user would edit it."""
    out = small_sample_params(base)
    out.pop("example_data", None)
    out["split"] = {"strategy": "temporal" if contract.get("time") else "stratified", "test_size": 0.25, "seed": 3}
    out["train"]["model"] = {"kind": "hist_gradient_boosting", "max_iter": 40}
    out["train"]["baseline"] = {"kind": "prior"}
    out["evaluate"].update(min_slice_size=20, importance_rows=200)
    return out


OTHER_DATASETS = {"income_csv": (INCOME, "csv"), "sensors_parquet": (SENSORS, "parquet")}
