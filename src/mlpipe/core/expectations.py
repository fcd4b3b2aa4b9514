"""The expectation suite as plain data, derived from the contract.

Kept free of great-expectations imports (about 5 s) so it is unit-testable and cheap;
``mlpipe.stages.validate`` turns these specs into gx expectations. The leakage check is
ours: gx has no "column must not determine the target" expectation.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from mlpipe.config import Contract

#: pandas dtype names accepted for each contract dtype (pandas 2 and 3 spell strings differently).
DTYPES: dict[str, list[str]] = {
    "int": ["int8", "int16", "int32", "int64", "Int64", "uint8", "uint16", "uint32", "uint64"],
    "float": ["float32", "float64", "Float64", "int8", "int16", "int32", "int64", "Int64"],
    "str": ["object", "str", "string"],
    "bool": ["bool", "boolean"],
}


@dataclass(frozen=True)
class Spec:
    type: str
    kwargs: dict[str, Any] = field(default_factory=dict)

    @property
    def column(self) -> str | None:
        col = self.kwargs.get("column")
        return str(col) if col is not None else None


def suite_specs(contract: Contract) -> list[Spec]:
    specs = [
        Spec("expect_table_columns_to_match_set", {"column_set": list(contract.columns), "exact_match": True}),
        Spec("expect_table_row_count_to_be_between", {"min_value": contract.min_rows}),
        Spec("expect_column_values_to_be_unique", {"column": contract.id}),
    ]
    for name, col in contract.columns.items():
        if not col.nullable:
            specs.append(Spec("expect_column_values_to_not_be_null", {"column": name}))
        specs.append(Spec(TYPE_CHECK, {"column": name, "type_list": DTYPES[col.dtype]}))
        if col.min is not None or col.max is not None:
            specs.append(
                Spec("expect_column_values_to_be_between", {"column": name, "min_value": col.min, "max_value": col.max})
            )
        if col.value_set is not None:
            specs.append(Spec("expect_column_values_to_be_in_set", {"column": name, "value_set": col.value_set}))
    specs.extend(Spec(e.type, dict(e.kwargs)) for e in contract.expectations)
    return specs


LEAKAGE = "expect_column_to_not_determine_target"
TYPE_CHECK = "expect_column_values_to_be_in_type_list"


def leakage_findings(df: pd.DataFrame, contract: Contract, purity: float = 0.999) -> dict[str, float]:
    """Features whose values alone predict the target for at least ``purity`` of rows.

    Such a feature is almost always the target (or something computed from it) leaking
    into the inputs; a genuinely perfect predictor deserves a human look anyway.
    """
    found: dict[str, float] = {}
    if contract.target not in df or df.empty:
        return found
    target = df[contract.target]
    if target.nunique() < 2:
        return found
    for name in contract.features:
        if name not in df or df[name].nunique() < 2:
            continue
        majority = pd.crosstab(df[name], target).max(axis=1).sum()
        share = float(majority) / len(df)
        if share >= purity:
            found[name] = share
    return found


def nonconforming(values: pd.Series, dtype: str) -> pd.Series:
    """The values that stop a column from having the contract's dtype (nulls excluded).

    When one cell of an integer column reads ``abc``, pandas types the whole column as
    strings and great-expectations reports every row; this finds the cells to blame.
    """
    present = values.dropna()
    if dtype in ("int", "float"):
        numbers = pd.to_numeric(present, errors="coerce")
        bad = numbers.isna()
        if dtype == "int":
            bad |= numbers.notna() & (numbers % 1 != 0)
        return present[bad]
    if dtype == "bool":
        return present[~present.astype(str).str.lower().isin(["true", "false", "0", "1"])]
    return present.iloc[0:0]
