"""Expectation results of partitions combined: as the whole window's (great-expectations runs in
tests/scale/test_monitor.py; here, the arithmetic on results shaped like mlpipe.io.gx's)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest

from mlpipe.core.expectations import Spec
from mlpipe.core.quality import PER_PARTITION, merge_checks

pytestmark = pytest.mark.unit


def rowwise(kind: str, unexpected: int, elements: int, missing: int, examples: list[Any]) -> dict[str, Any]:
    return {"expectation": kind, "column": "x", "success": unexpected == 0, "kwargs": {},
            "unexpected_count": unexpected, "element_count": elements, "missing_count": missing,
            "examples": examples}  # fmt: skip


def test_rowwise_counts_add_up_and_mostly_applies_to_the_sums() -> None:
    strict = Spec("expect_column_values_to_be_between", {"column": "x", "min_value": 0})
    loose = Spec("expect_column_values_to_be_between", {"column": "x", "min_value": 0, "mostly": 0.9})
    a = [rowwise(strict.type, 0, 100, 10, []), rowwise(loose.type, 0, 100, 10, [])]
    b = [rowwise(strict.type, 5, 100, 0, [-1, -2]), rowwise(loose.type, 5, 100, 0, [-1, -2])]
    s, lo = merge_checks([strict, loose], [a, b], 200, None, {})
    assert (s["success"], s["unexpected_count"], s["element_count"], s["missing_count"]) == (False, 5, 200, 10)
    assert s["examples"] == [-1, -2]
    assert s["unexpected_percent"] == pytest.approx(100 * 5 / 190)
    assert lo["success"]  # 185 of 190 (97%) >= mostly 0.9, though no part alone decides it


def test_ids_repeated_across_partitions_row_count_and_means() -> None:
    specs = [
        Spec("expect_column_values_to_be_unique", {"column": "id"}),
        Spec("expect_table_row_count_to_be_between", {"min_value": 150}),
        Spec("expect_column_mean_to_be_between", {"column": "x", "min_value": 1, "max_value": 2}),
    ]

    def part() -> list[dict[str, Any]]:
        return [{"expectation": s.type, "column": s.column, "success": True, "kwargs": {}} for s in specs]

    ids = [pd.Series(range(100)), pd.Series(range(95, 160))]  # 95..99 in both
    hashes = np.concatenate([pd.util.hash_pandas_object(i, index=False).to_numpy() for i in ids])
    unique, rows, mean = merge_checks(specs, [part(), part()], 165, hashes, {"x": (3.0, 100)})
    assert (unique["success"], unique["unexpected_count"]) == (False, 10)
    assert (rows["success"], rows["observed"]) == (True, 165)
    assert (mean["success"], mean["observed"]) == (False, 3.0)


def test_an_expectation_that_does_not_combine_is_judged_per_partition_and_says_so() -> None:
    spec = Spec("expect_column_median_to_be_between", {"column": "x", "min_value": 0, "max_value": 1})
    ok = {"expectation": spec.type, "column": "x", "success": True, "kwargs": {}, "observed": 0.5}
    bad = {**ok, "success": False, "observed": 3}
    (merged,) = merge_checks([spec], [[ok], [bad]], 10, None, {})
    assert not merged["success"]
    assert merged["observed"] == 3
    assert PER_PARTITION in merged["message"]


def test_a_check_that_raised_on_one_partition_is_reported_not_a_crash() -> None:
    """Text in a numeric column: great-expectations raises on that partition and gives no counts."""
    spec = Spec("expect_column_values_to_be_between", {"column": "x", "min_value": 0})
    raised = {"expectation": spec.type, "column": "x", "success": False, "kwargs": {},
              "message": "'>=' not supported between instances of 'str' and 'int'"}  # fmt: skip
    (merged,) = merge_checks([spec], [[rowwise(spec.type, 0, 10, 0, [])], [raised]], 20, None, {})
    assert not merged["success"]
    assert "not supported" in merged["message"]
    assert PER_PARTITION in merged["message"]


def test_a_mean_over_text_is_left_to_great_expectations() -> None:
    """No sums for a column with text in it: each partition's own verdict decides (it failed)."""
    spec = Spec("expect_column_mean_to_be_between", {"column": "x", "min_value": 0, "max_value": 9})
    ok = {"expectation": spec.type, "column": "x", "success": True, "kwargs": {}, "observed": 2.0}
    failed = {**ok, "success": False, "message": "Could not convert 'x' to numeric"}
    (merged,) = merge_checks([spec], [[ok], [failed]], 20, None, {})
    assert not merged["success"]
