from __future__ import annotations

import pandas as pd
import pytest

from mlpipe.config import Contract
from mlpipe.core.expectations import leakage_findings, suite_specs

pytestmark = pytest.mark.unit


def test_suite_covers_every_column(contract: Contract) -> None:
    specs = suite_specs(contract)
    types = {(s.type, s.column) for s in specs}
    for name in contract.columns:
        assert ("expect_column_values_to_not_be_null", name) in types
        assert ("expect_column_values_to_be_in_type_list", name) in types
    assert ("expect_column_values_to_be_unique", "id") in types
    assert ("expect_column_values_to_be_in_set", "SEX") in types
    assert ("expect_column_values_to_be_between", "AGEP") in types
    assert ("expect_column_mean_to_be_between", "employed") in types  # an extra from the contract
    in_set = next(s for s in specs if s.type == "expect_column_values_to_be_in_set" and s.column == "SEX")
    assert in_set.kwargs["value_set"] == [1, 2]


def test_leakage_flags_a_copy_of_the_target_only(raw_sample: pd.DataFrame, contract: Contract) -> None:
    assert leakage_findings(raw_sample, contract) == {}
    leaked = raw_sample.assign(MIL=raw_sample["employed"] + 1)
    assert set(leakage_findings(leaked, contract)) == {"MIL"}


def test_nonconforming_finds_the_cells_that_break_a_dtype() -> None:
    from mlpipe.core.expectations import nonconforming

    col = pd.Series(["1", "2", "abc", None, "2.5"], dtype=object)
    assert nonconforming(col, "int").tolist() == ["abc", "2.5"]
    assert nonconforming(col, "float").tolist() == ["abc"]
    assert nonconforming(pd.Series(["x"]), "str").empty
