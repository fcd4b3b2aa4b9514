from __future__ import annotations

import pandas as pd
import pytest

from mlpipe.config import Column, Contract, SplitParams
from mlpipe.core.features import TARGET, prepare
from mlpipe.core.split import periods_of, split
from mlpipe.core.synth import synthesise
from mlpipe.errors import DataError

pytestmark = pytest.mark.unit


@pytest.fixture(scope="module")
def prepared(sample: pd.DataFrame, contract: Contract) -> pd.DataFrame:
    return prepare(sample, contract)


def test_temporal_tests_on_the_latest_period(prepared: pd.DataFrame, contract: Contract) -> None:
    if contract.time is None:
        pytest.skip("the contract names no time column")
    s = split(prepared, contract, SplitParams(strategy="temporal"))
    assert s.test[contract.time].min() > s.train[contract.time].max()
    assert not set(s.train[contract.id]) & set(s.test[contract.id])
    assert len(s.train) + len(s.test) == len(prepared)


def test_stratified_is_reproducible_and_balanced(prepared: pd.DataFrame, contract: Contract) -> None:
    p = SplitParams(strategy="stratified", test_size=0.3, seed=7)
    a, b = split(prepared, contract, p), split(prepared, contract, p)
    pd.testing.assert_frame_equal(a.test, b.test)
    assert not set(a.train[contract.id]) & set(a.test[contract.id])
    assert abs(a.test[TARGET].mean() - a.train[TARGET].mean()) < 0.01
    assert len(a.test) == pytest.approx(0.3 * len(prepared), abs=1)


def test_temporal_needs_a_period_left_for_training(prepared: pd.DataFrame, contract: Contract) -> None:
    if contract.time is None:
        pytest.skip("the contract names no time column")
    one = prepared[prepared[contract.time] == prepared[contract.time].min()]
    with pytest.raises(DataError, match=f"needs more than 1 distinct '{contract.time}'"):
        split(one, contract, SplitParams(strategy="temporal"))


def daily(contract: Contract, periods: int, split_params: SplitParams) -> tuple[pd.DataFrame, Contract]:
    """The contract's rows with an ISO-date time column, whatever the repository's contract says."""
    c = contract.model_copy(update={"time": "day", "columns": {**contract.columns, "day": Column(dtype="str")}})
    return prepare(synthesise(c, 2000, seed=1, periods=periods, split=split_params), c), c


@pytest.mark.parametrize("period", ["month", "quarter", "year"])
def test_a_date_column_is_split_by_period(contract: Contract, period: str) -> None:
    params = SplitParams.model_validate({"strategy": "temporal", "period": period, "test_periods": 2})
    df, c = daily(contract, 6, params)
    assert df["day"].nunique() == 18  # three dates in each of six periods: daily data
    s = split(df, c, params)
    per = periods_of(df["day"], period, "day")
    last_two = sorted(per.unique())[-2:]
    assert set(periods_of(s.test["day"], period, "day")) == set(last_two)
    assert s.test["day"].min() > s.train["day"].max()
    assert f"test on {last_two}" in s.description  # periods, not 6 dates


def test_a_cutoff_date_splits_before_and_from_it(contract: Contract) -> None:
    params = SplitParams(strategy="temporal", cutoff="2024-07-15")
    df, c = daily(contract, 5, params)
    s = split(df, c, params)
    assert s.test["day"].min() >= "2024-07-15" > s.train["day"].max()
    assert "before 2024-07-15, test from 2024-07-15" in s.description
    with pytest.raises(DataError, match="every 'day' value is on one side of it"):
        split(df, c, SplitParams(strategy="temporal", cutoff="2031-01-01"))


def test_many_periods_are_summarised_and_bad_dates_named(contract: Contract) -> None:
    params = SplitParams(strategy="temporal")
    df, c = daily(contract, 12, SplitParams(strategy="temporal", period="month"))
    s = split(df, c, params)  # period: value, 36 dates
    assert "(35 periods)" in s.description
    assert s.description.count("-") < 20, s.description  # not every date
    broken = df.assign(day=df["day"].where(df.index != 5, "31/12/2024"))
    with pytest.raises(DataError, match=r"split.period: month needs ISO dates in 'day'.*'31/12/2024'") as err:
        split(broken, c, SplitParams(strategy="temporal", period="month"))
    assert f"(id {broken[c.id].tolist()[5]!r}) in 1 of {len(df)} rows" in str(err.value)  # to find it in the files
    assert "np." not in str(err.value)
    with pytest.raises(ValueError, match="cutoff must be an ISO date"):
        SplitParams(cutoff="July 2024")
