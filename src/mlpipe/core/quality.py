"""The contract's expectation results of window partitions, combined into the whole window's. Pure.

Great-expectations validates each partition (:mod:`mlpipe.io.gx`); what it reports adds up for
most of the suite: row-wise expectations (nulls, bounds, allowed values: unexpected and missing
counts, ``mostly`` applied to the sums), the column set, the row count, unique ids (from hashes of
every partition's ids) and column means (from sums and counts). Any other expectation that looks
at a whole column (a median, a standard deviation) cannot be combined: it is judged on every
partition and fails if one does, which the check's message says.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from mlpipe.core.expectations import Spec
from mlpipe.core.validation import EXAMPLES, check

ROW_COUNT = "expect_table_row_count_to_be_between"
UNIQUE = "expect_column_values_to_be_unique"
MEAN = "expect_column_mean_to_be_between"
COLUMN_SET = "expect_table_columns_to_match_set"
PER_PARTITION = "judged on each partition of the window (this expectation does not combine across partitions)"


def merge_checks(
    specs: Sequence[Spec],
    partitions: Sequence[Sequence[dict[str, Any]]],
    rows: int,
    id_hashes: np.ndarray | None,
    sums: dict[str, tuple[float, int]],
) -> list[dict[str, Any]]:
    """One check per spec, as great-expectations would report it on the whole window.

    ``partitions``: each partition's checks, in spec order; ``id_hashes``: a hash of every non-null id
    (for uniqueness); ``sums``: per mean-checked column whose every value is a number, their mean and
    count (a column with text in it is left to great-expectations' own verdict per partition). A check
    that raised inside great-expectations on some partition (no counts) is judged per partition too.
    """
    out = []
    for i, spec in enumerate(specs):
        results = [p[i] for p in partitions]
        first = results[0]
        kw = spec.kwargs
        if spec.type == ROW_COUNT:
            out.append(check(spec.type, None, _between(rows, kw), kwargs=first["kwargs"], observed=rows))
        elif spec.type == UNIQUE:
            out.append(_unique(spec, first, id_hashes))
        elif spec.type == MEAN and spec.column in sums:
            mean, n = sums[spec.column]
            ok = n > 0 and _between(mean, kw)
            out.append(check(spec.type, spec.column, ok, kwargs=first["kwargs"], observed=mean if n else None))
        elif all("unexpected_count" in r for r in results):
            out.append(_rowwise(spec, results))
        elif spec.type == COLUMN_SET:
            failed = [r for r in results if not r["success"]]
            out.append(failed[0] if failed else first)
        else:
            failed = [r for r in results if not r["success"]]
            merged = dict(failed[0] if failed else first)
            merged["message"] = "; ".join(x for x in (merged.get("message"), PER_PARTITION) if x)
            out.append(merged)
    return out


def _between(value: float, kw: dict[str, Any]) -> bool:
    lo, hi = kw.get("min_value"), kw.get("max_value")
    if lo is not None and (value <= lo if kw.get("strict_min") else value < lo):
        return False
    return not (hi is not None and (value >= hi if kw.get("strict_max") else value > hi))


def _rowwise(spec: Spec, results: Sequence[dict[str, Any]]) -> dict[str, Any]:
    unexpected = sum(int(r["unexpected_count"] or 0) for r in results)
    elements = sum(int(r.get("element_count") or 0) for r in results)
    missing = sum(int(r.get("missing_count") or 0) for r in results)
    considered = elements - missing
    mostly = spec.kwargs.get("mostly")
    if considered == 0:
        ok = True
    elif mostly is None:
        ok = unexpected == 0
    else:
        ok = (considered - unexpected) / considered >= mostly
    examples = [x for r in results for x in r.get("examples") or []][:EXAMPLES]
    merged = {k: v for k, v in results[0].items() if k not in ("success", "expectation", "column")}
    merged.update(
        unexpected_count=unexpected,
        unexpected_percent=100 * unexpected / considered if considered else None,
        element_count=elements,
        missing_count=missing,
        examples=examples,
    )
    messages = sorted({r["message"] for r in results if r.get("message")})
    if messages:
        merged["message"] = "; ".join(messages)[:500]
    return check(spec.type, spec.column, ok, **merged)


def _unique(spec: Spec, first: dict[str, Any], hashes: np.ndarray | None) -> dict[str, Any]:
    if hashes is None or not len(hashes):
        return check(spec.type, spec.column, True, kwargs=first["kwargs"], unexpected_count=0)
    _, counts = np.unique(hashes, return_counts=True)
    dup = int(counts[counts > 1].sum())
    pct = 100 * dup / len(hashes)
    return check(spec.type, spec.column, dup == 0, kwargs=first["kwargs"], unexpected_count=dup,
                 unexpected_percent=None if math.isnan(pct) else pct, element_count=len(hashes))  # fmt: skip
