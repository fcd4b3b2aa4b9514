"""The contract's suite on real data, and on deliberately broken copies of it."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from mlpipe.config import Contract
from mlpipe.core.expectations import TYPE_CHECK
from mlpipe.errors import ValidationFailed
from mlpipe.stages import validate as stage

pytestmark = pytest.mark.data


def write_years(df: pd.DataFrame, data_dir: Path) -> Path:
    data_dir.mkdir(parents=True, exist_ok=True)
    for year, part in df.groupby("year"):
        part.to_csv(data_dir / f"acs_ma_{year}.csv", index=False, lineterminator="\n")
    return data_dir


def failed(report: dict) -> set[tuple[str, str | None]]:  # type: ignore[type-arg]
    return {(c["expectation"], c["column"]) for c in report["checks"] if not c["success"]}


def test_real_data_passes(paths: dict[str, str], root: Path, contract: Contract) -> None:
    report = stage.validate(root / paths["data"], contract)
    assert report["success"], [stage.describe(c) for c in report["checks"] if not c["success"]]
    assert report["rows"] > 100_000
    assert report["profile"]["files"] == {"acs_ma_2015.csv": 68785, "acs_ma_2016.csv": 69126}
    assert report["profile"]["columns"]["SEX"]["kind"] == "categorical"
    assert report["evaluated"] > 50


def _set(col: str, rows: slice, value: Any) -> Callable[[pd.DataFrame], pd.DataFrame]:
    def f(df: pd.DataFrame) -> pd.DataFrame:
        df = df.copy()
        if not isinstance(value, int | float) or isinstance(value, bool):
            df[col] = df[col].astype(object)
        df.loc[df.index[rows], col] = value
        return df

    return f


BAD: dict[str, tuple[Callable[[pd.DataFrame], pd.DataFrame], tuple[str, str | None]]] = {
    "nulls": (_set("AGEP", slice(0, 3), np.nan), ("expect_column_values_to_not_be_null", "AGEP")),
    "unknown_category": (_set("SCHL", slice(5, 7), 99), ("expect_column_values_to_be_in_set", "SCHL")),
    "out_of_range": (_set("AGEP", slice(0, 1), 150), ("expect_column_values_to_be_between", "AGEP")),
    "wrong_type": (_set("AGEP", slice(0, 1), "forty"), ("expect_column_values_to_be_in_type_list", "AGEP")),
    "bad_target_value": (_set("employed", slice(0, 4), 2), ("expect_column_values_to_be_in_set", "employed")),
    "negative_id": (_set("id", slice(0, 1), -5), ("expect_column_values_to_be_between", "id")),
    "year_out_of_range": (_set("year", slice(0, 1), 1999), ("expect_column_values_to_be_between", "year")),
    "missing_column": (lambda df: df.drop(columns=["DIS"]), ("expect_table_columns_to_match_set", None)),
    "extra_column": (lambda df: df.assign(income=1), ("expect_table_columns_to_match_set", None)),
    "duplicate_ids": (
        lambda df: df.assign(id=df["id"].where(df.index != df.index[1], df["id"].iloc[0])),
        ("expect_column_values_to_be_unique", "id"),
    ),
    "target_leaked_as_feature": (
        lambda df: df.assign(MIL=df["employed"] + 1),
        ("expect_column_to_not_determine_target", "MIL"),
    ),
    "target_rate_shift": (lambda df: df.assign(employed=1), ("expect_column_mean_to_be_between", "employed")),
    "too_few_rows": (lambda df: df.head(20), ("expect_table_row_count_to_be_between", None)),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_input_fails_on_the_expected_expectation(
    case: str, raw_sample: pd.DataFrame, contract: Contract, tmp_path: Path
) -> None:
    corrupt, expected = BAD[case]
    report = stage.validate(write_years(corrupt(raw_sample), tmp_path / "data"), contract)
    assert not report["success"]
    assert expected in failed(report), failed(report)


def test_empty_file(raw_sample: pd.DataFrame, contract: Contract, tmp_path: Path) -> None:
    data = write_years(raw_sample, tmp_path / "data")
    (data / "acs_ma_2016.csv").write_bytes(b"")
    report = stage.validate(data, contract)
    bad = [c for c in report["checks"] if not c["success"]]
    assert [(c["expectation"], Path(c["file"]).name) for c in bad] == [("expect_file_to_have_rows", "acs_ma_2016.csv")]


def test_truncated_file(raw_sample: pd.DataFrame, contract: Contract, tmp_path: Path) -> None:
    data = write_years(raw_sample, tmp_path / "data")
    f = data / "acs_ma_2015.csv"
    content = f.read_bytes()
    f.write_bytes(content[: len(content) // 2 - 7])  # cut mid-line
    report = stage.validate(data, contract)
    assert ("expect_column_values_to_not_be_null", "year") in failed(report)


def test_a_wrong_type_names_the_offending_cells(raw_sample: pd.DataFrame, contract: Contract, tmp_path: Path) -> None:
    report = stage.validate(write_years(_set("AGEP", slice(7, 8), "forty")(raw_sample), tmp_path / "d"), contract)
    check = next(c for c in report["checks"] if c["expectation"] == TYPE_CHECK and not c["success"])
    assert check["column"] == "AGEP"
    assert check["examples"] == ["forty"]
    assert check["unexpected_count"] == 1


def test_stage_writes_both_reports_then_fails_naming_each_problem(
    raw_sample: pd.DataFrame, contract: Contract, tmp_path: Path, root: Path
) -> None:
    broken = _set("SCHL", slice(0, 2), 99)(_set("AGEP", slice(3, 4), np.nan)(raw_sample))
    data = write_years(broken, tmp_path / "data")
    out_json, out_md = tmp_path / "r" / "v.json", tmp_path / "r" / "v.md"
    argv = ["--data", str(data), "--contract", str(root / "contract.yaml"),
            "--out-json", str(out_json), "--out-md", str(out_md)]  # fmt: skip
    with pytest.raises(ValidationFailed) as err:
        stage.main(argv)
    msg = str(err.value)
    assert "expect_column_values_to_be_in_set on column 'SCHL'" in msg
    assert "99" in msg
    assert "expect_column_values_to_not_be_null on column 'AGEP'" in msg
    assert json.loads(out_json.read_text())["success"] is False
    assert "`expect_column_values_to_be_in_set` | SCHL" in out_md.read_text()
