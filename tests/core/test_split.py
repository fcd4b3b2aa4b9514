from __future__ import annotations

import pandas as pd
import pytest

from mlpipe.config import Contract, SplitParams
from mlpipe.core.features import TARGET, prepare
from mlpipe.core.split import split
from mlpipe.errors import DataError

pytestmark = pytest.mark.unit


@pytest.fixture(scope="module")
def prepared(raw_sample: pd.DataFrame, contract: Contract) -> pd.DataFrame:
    return prepare(raw_sample, contract)


def test_temporal_tests_on_the_latest_period(prepared: pd.DataFrame, contract: Contract) -> None:
    s = split(prepared, contract, SplitParams(strategy="temporal"))
    assert s.test["year"].min() > s.train["year"].max()
    assert not set(s.train["id"]) & set(s.test["id"])
    assert len(s.train) + len(s.test) == len(prepared)


def test_stratified_is_reproducible_and_balanced(prepared: pd.DataFrame, contract: Contract) -> None:
    p = SplitParams(strategy="stratified", test_size=0.3, seed=7)
    a, b = split(prepared, contract, p), split(prepared, contract, p)
    pd.testing.assert_frame_equal(a.test, b.test)
    assert not set(a.train["id"]) & set(a.test["id"])
    assert abs(a.test[TARGET].mean() - a.train[TARGET].mean()) < 0.01
    assert len(a.test) == pytest.approx(0.3 * len(prepared), abs=1)


def test_temporal_needs_a_period_left_for_training(prepared: pd.DataFrame, contract: Contract) -> None:
    one_year = prepared[prepared["year"] == prepared["year"].min()]
    with pytest.raises(DataError, match="needs more than 1 distinct 'year'"):
        split(one_year, contract, SplitParams(strategy="temporal"))
