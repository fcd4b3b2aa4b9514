"""The expectation suite as plain data, derived from the contract.

Kept free of great-expectations imports (1-2 s) so it is unit-testable and cheap;
``mlpipe.stages.validate`` turns these specs into gx expectations. The leakage check is
ours: gx has no "column must not determine the target" expectation.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from mlpipe.config import Contract


@dataclass(frozen=True)
class Spec:
    type: str
    kwargs: dict[str, Any] = field(default_factory=dict)

    @property
    def column(self) -> str | None:
        col = self.kwargs.get("column")
        return str(col) if col is not None else None


def file_specs(contract: Contract, skip: frozenset[str] = frozenset()) -> list[Spec]:
    """What every data file must satisfy on its own: nulls, bounds, allowed values, file-scoped extras.

    ``skip``: columns already failed by the type check in this file (bounds on text are noise).
    """
    specs = []
    for name, col in contract.columns.items():
        if name in skip:
            continue
        if not col.nullable:
            specs.append(Spec("expect_column_values_to_not_be_null", {"column": name}))
        if col.dtype in ("int", "float") and (col.min is not None or col.max is not None):
            specs.append(
                Spec("expect_column_values_to_be_between", {"column": name, "min_value": col.min, "max_value": col.max})
            )
        if col.value_set is not None:
            specs.append(Spec("expect_column_values_to_be_in_set", {"column": name, "value_set": col.value_set}))
    specs.extend(
        Spec(e.type, dict(e.kwargs))
        for e in contract.expectations
        if e.scope == "file" and str(e.kwargs.get("column")) not in skip
    )
    return specs


def whole_specs(contract: Contract, min_rows: int | None = None) -> list[Spec]:
    """What the stacked data must satisfy: row count (``min_rows``, default the contract's: what training
    needs), unique ids, extras with ``scope: all``."""
    specs = [
        Spec(
            "expect_table_row_count_to_be_between", {"min_value": contract.min_rows if min_rows is None else min_rows}
        ),
        Spec("expect_column_values_to_be_unique", {"column": contract.id}),
    ]
    specs.extend(Spec(e.type, dict(e.kwargs)) for e in contract.expectations if e.scope == "all")
    return specs


def suite_specs(contract: Contract) -> list[Spec]:
    """The whole suite on one frame (the monitor's window): column set, file and whole-data specs.

    A window is not a training set: it must not be empty, but the contract's ``min_rows`` (what
    training needs) would fail every week of a small service's traffic. Whether a window is large
    enough to judge drift is ``monitor.min_rows``'s call (the verdict says "not judged").
    """
    return [
        Spec("expect_table_columns_to_match_set", {"column_set": list(contract.columns), "exact_match": True}),
        *whole_specs(contract, min_rows=1),
        *file_specs(contract),
    ]


LEAKAGE = "expect_column_to_not_determine_target"
LEAK_BINS = 20
MIN_MINORITY = 10
MIN_ROWS_PER_VALUE = 20


def _majority_rows(values: pd.Series, t_codes: np.ndarray, n_targets: int) -> int:
    """Rows that guessing each value's most common target gets right (``pd.crosstab(values, target)
    .max(axis=1).sum()``, rows missing either left out, at a fraction of its cost)."""
    v_codes, v_levels = pd.factorize(values)
    both = (v_codes >= 0) & (t_codes >= 0)
    table = np.bincount(v_codes[both] * n_targets + t_codes[both], minlength=len(v_levels) * n_targets)
    return int(table.reshape(len(v_levels), n_targets).max(axis=1).sum()) if len(v_levels) else 0


def leakage_findings(df: pd.DataFrame, contract: Contract, purity: float = 0.999) -> dict[str, float]:
    """Features whose values alone predict the target for at least ``purity`` of rows.

    Such a feature is almost always the target (or something computed from it) leaking
    into the inputs; a genuinely perfect predictor deserves a human look anyway. A feature
    with many distinct values (a measurement, a near-unique code) would trivially "predict"
    every row by itself, so numbers are cut into LEAK_BINS quantile bins first, and text with
    fewer than MIN_ROWS_PER_VALUE rows per value on average is not judged.
    """
    found: dict[str, float] = {}
    if contract.target not in df or df.empty:
        return found
    target = df[contract.target]
    counts = target.value_counts()
    if len(counts) < 2 or counts.min() < MIN_MINORITY:
        return found  # too few of the rarer class to tell a leak from luck
    base = float(counts.max()) / len(df)  # what always guessing the majority class gets right
    t_codes, t_levels = pd.factorize(target)
    for name in contract.features:
        if name not in df:
            continue
        values = df[name]
        distinct = values.nunique()
        if distinct > LEAK_BINS and pd.api.types.is_numeric_dtype(values):
            # bin numbers (codes, not interval labels: the text of 70,000 intervals cost ~0.4 s a column);
            # a missing value is a bin of its own, as the text "nan" was
            values = pd.Series(pd.qcut(values, LEAK_BINS, labels=False, duplicates="drop"), index=values.index)
            values = values.fillna(-1)
            distinct = values.nunique()
        if distinct < 2 or distinct * MIN_ROWS_PER_VALUE > len(df):
            continue
        majority = _majority_rows(values, t_codes, len(t_levels))
        share = float(majority) / len(df)
        if (share - base) / (1 - base) >= purity:  # judged against the majority guess, so a rare target is fine
            found[name] = share
    return found
