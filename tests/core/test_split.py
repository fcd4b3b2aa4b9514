from __future__ import annotations

import pandas as pd
import pytest

from mlpipe.config import Contract, SplitParams
from mlpipe.core.features import TARGET, prepare
from mlpipe.core.split import split
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
