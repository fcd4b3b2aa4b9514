from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from mlpipe.config import Contract
from mlpipe.core.expectations import Spec, _majority_rows, file_specs, leakage_findings, suite_specs, whole_specs
from mlpipe.core.validation import type_problems
from tests.datasets import coded_feature

pytestmark = pytest.mark.unit


def test_suite_covers_every_column(contract: Contract) -> None:
    types = {(s.type, s.column) for s in suite_specs(contract)}
    for name, col in contract.columns.items():
        assert (("expect_column_values_to_not_be_null", name) in types) is not col.nullable
        if col.value_set is not None:
            assert ("expect_column_values_to_be_in_set", name) in types
        if col.dtype in ("int", "float") and (col.min is not None or col.max is not None):
            assert ("expect_column_values_to_be_between", name) in types
    assert ("expect_column_values_to_be_unique", contract.id) in types
    for extra in contract.expectations:
        assert (extra.type, extra.kwargs.get("column")) in types
    name, values = coded_feature(contract)
    in_set = next(
        s for s in suite_specs(contract) if s.type == "expect_column_values_to_be_in_set" and s.column == name
    )
    assert in_set.kwargs["value_set"] == values


def test_file_and_whole_scopes(contract: Contract) -> None:
    whole = {s.type for s in whole_specs(contract)}
    assert {"expect_table_row_count_to_be_between", "expect_column_values_to_be_unique"} <= whole
    skipped = file_specs(contract, frozenset(contract.columns))
    assert all(s.column is None for s in skipped)  # a mistyped column gets no bounds checks (noise)


def test_a_window_needs_rows_not_the_training_minimum(contract: Contract) -> None:
    """The monitor's window (suite_specs) must not be empty; the training data (whole_specs) must have
    the contract's min_rows. A drafted contract asks for a tenth of the rows seen: a week of traffic has fewer."""
    big = contract.model_copy(update={"min_rows": 10**9})

    def row_min(specs: list[Spec]) -> object:
        return next(s.kwargs["min_value"] for s in specs if s.type == "expect_table_row_count_to_be_between")

    assert row_min(whole_specs(big)) == 10**9
    assert row_min(suite_specs(big)) == 1


def test_leakage_flags_a_copy_of_the_target_only(sample: pd.DataFrame, contract: Contract) -> None:
    assert leakage_findings(sample, contract) == {}
    victim = contract.features[0]
    leaked = sample.assign(**{victim: sample[contract.target].astype(str) + "!"})
    assert set(leakage_findings(leaked, contract)) == {victim}


def test_type_problems_find_the_cells_that_break_a_dtype() -> None:
    col = pd.Series(["1", "2", "abc", None, "2.5"], dtype=object)
    assert type_problems(col, "int").tolist() == ["abc", "2.5"]
    assert type_problems(col, "float").tolist() == ["abc"]
    assert type_problems(pd.Series(["x"], dtype="str"), "str").empty
    assert type_problems(pd.Series([1.0, None, 3.0]), "int").empty  # an int column with a blank reads as floats
    as_written = pd.Series(["1", "", "46.0"])
    assert type_problems(pd.Series([1.0, None, 46.0]), "int", as_written).tolist() == ["46.0"]
    assert type_problems(pd.Series([1.5, 2.0]), "int").tolist() == [1.5]
    assert type_problems(pd.Series(["true", "False", "yes"]), "bool").tolist() == ["yes"]
    assert type_problems(pd.Series([0, 1, 2]), "bool").tolist() == [2]
    assert type_problems(pd.Series([True, False]), "int").tolist() == [True, False]


def test_a_rare_target_is_not_leakage() -> None:
    import numpy as np

    from mlpipe.config import parse_contract
    from tests.datasets import INCOME

    c = parse_contract(INCOME)
    rng = np.random.default_rng(0)
    n = 5000
    df = pd.DataFrame({"sex": rng.choice(["Female", "Male"], n), "age": rng.integers(17, 90, n),
                       "income": np.where(rng.random(n) < 0.003, ">50K", "<=50K")})  # fmt: skip
    assert leakage_findings(df, c) == {}  # every feature "predicts" 99.7% by guessing the majority
    rarer = df.assign(income=np.where(np.arange(n) < 40, ">50K", "<=50K"), age=np.where(np.arange(n) < 40, 18, 60))
    assert set(leakage_findings(rarer, c)) == {"age"}  # but a real leak of a rare class is still found


@pytest.mark.parametrize("seed", range(5))
def test_majority_rows_counts_as_a_crosstab_would(seed: int) -> None:
    """The leakage check's count, against pandas' own crosstab, with missing values on both sides."""
    rng = np.random.default_rng(seed)
    n = 500
    levels: list[str | None] = ["a", "b", "c", None]
    values = pd.Series([levels[i] for i in rng.integers(0, 4, n)], dtype="object")
    classes: list[str | None] = ["yes", "no", "no", None]
    target = pd.Series([classes[i] for i in rng.integers(0, 4, n)], dtype="object")
    codes, seen = pd.factorize(target)
    assert _majority_rows(values, codes, len(seen)) == pd.crosstab(values, target).max(axis=1).sum()
    numbers = pd.Series(rng.integers(0, 7, n)).astype("Int64")
    assert _majority_rows(numbers, codes, len(seen)) == pd.crosstab(numbers, target).max(axis=1).sum()
