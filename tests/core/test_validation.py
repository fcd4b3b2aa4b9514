from __future__ import annotations

import decimal

import numpy as np
import pandas as pd
import pytest

from mlpipe.config import Contract, parse_contract
from mlpipe.core import validation as v
from mlpipe.core.synth import synthesise
from tests.datasets import INCOME, bounded_numeric, numeric_feature

pytestmark = pytest.mark.unit


def test_peers_are_all_others_or_the_nearest_by_name() -> None:
    names = [f"day_{i:03d}.csv" for i in range(40)]
    assert v.peers("day_002.csv", names[:5]) == ["day_000.csv", "day_001.csv", "day_003.csv", "day_004.csv"]
    near = v.peers("day_020.csv", names)
    assert len(near) == v.MAX_PEERS
    assert set(near) == {f"day_{i:03d}.csv" for i in (15, 16, 17, 18, 19, 21, 22, 23, 24, 25)}


def files(df: pd.DataFrame, rows: int, name: str) -> dict[str, pd.DataFrame]:
    """``df`` cut into files of ``rows`` rows, named ``name.format(k)`` for the k-th."""
    return {name.format(k): df.iloc[k * rows : (k + 1) * rows].reset_index(drop=True) for k in range(len(df) // rows)}


def test_many_files_one_shifted_only_that_one_is_blamed() -> None:
    contract = parse_contract(INCOME)
    df = synthesise(contract, 40 * 300, seed=0)
    frames = files(df, 300, "day_{:03d}.csv")
    frames["day_017.csv"] = frames["day_017.csv"].assign(age=88)
    found = {(c["expectation"], c["column"], c["file"]) for c in v.sibling_checks(frames, contract)}
    assert found == {(v.SHIFT_CHECK, "age", "day_017.csv")}


def test_small_samples_of_one_population_are_not_called_shifted() -> None:
    contract = parse_contract(INCOME)
    df = synthesise(contract, 3 * 120, seed=1)
    frames = files(df, 120, "f{}.csv")
    assert v.sibling_checks(frames, contract) == []


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_a_dozen_files_of_fifty_rows_of_one_population_are_not_called_shifted(
    synth_contract: Contract, seed: int
) -> None:
    """Weekly exports of a few dozen rows: a category a file happens to miss, or one it has a few of,
    is sampling, not a shift (every run of 20 raised one before the noise bound and the smoothing)."""
    df = synthesise(synth_contract, 12 * 50, seed=seed).sample(frac=1, random_state=seed).reset_index(drop=True)
    frames = files(df, 50, "week_{:02d}.csv")
    assert [v.describe(c) for c in v.sibling_checks(frames, synth_contract) if c["expectation"] == v.SHIFT_CHECK] == []


def test_a_gross_shift_in_a_small_file_is_still_found(synth_contract: Contract) -> None:
    name, col = bounded_numeric(synth_contract)
    df = synthesise(synth_contract, 12 * 60, seed=3).sample(frac=1, random_state=3).reset_index(drop=True)
    frames = files(df, 60, "week_{:02d}.csv")

    def shifts() -> set[tuple[str, str]]:
        checks = v.sibling_checks(frames, synth_contract)
        return {(c["column"], c["file"]) for c in checks if c["expectation"] == v.SHIFT_CHECK}

    before = shifts()  # 60 random rows may differ by chance in some column (a fork's data): not this test's concern
    frames["week_07.csv"] = frames["week_07.csv"].assign(**{name: col.max})
    assert shifts() - before == {(name, "week_07.csv")}


def test_describe_names_expectation_file_column_and_values() -> None:
    c = v.check(v.TYPE_CHECK, "age", False, file="b.csv", unexpected_count=1, examples=["forty"], message="not int")
    assert v.describe(c) == (
        "expect_column_values_to_have_contract_dtype on column 'age' in b.csv — 1 bad rows, e.g. ['forty']; not int"
    )
    assert v.plain(float("nan")) is None
    assert v.plain(pd.NA) is None
    assert v.plain(decimal.Decimal("1.50")) == 1.5  # a parquet decimal column: its report is JSON


def test_a_type_failure_names_the_rows() -> None:
    contract = parse_contract(INCOME)
    df = synthesise(contract, 40, seed=1)
    name = numeric_feature(contract)
    df[name] = df[name].astype(object)
    df.loc[[6, 30], name] = ["forty", "x"]
    (bad,) = [c for c in v.file_checks("b.csv", df, contract, {}) if not c["success"]]
    assert (bad["column"], bad["rows"], bad["examples"]) == (name, [7, 31], ["forty", "x"])  # data rows, from 1
    assert "e.g. row 7: 'forty', row 31: 'x'" in v.describe(bad)


def test_ints_read_as_floats_in_one_file_are_the_same_categories() -> None:
    contract = parse_contract(INCOME)
    df = synthesise(contract, 3 * 400, seed=2)
    frames = {f"f{i}.csv": df.iloc[i * 400 : (i + 1) * 400].copy() for i in range(3)}
    frames["f1.csv"]["education_num"] = frames["f1.csv"]["education_num"].astype(float)  # a blank elsewhere
    assert v.sibling_checks(frames, contract) == []


def test_a_rare_class_all_absent_from_a_small_file_is_not_a_collapse() -> None:
    rare = pd.Series([0] * 120)
    others = pd.Series([0] * 990 + [1] * 10)
    assert not v._collapsed(rare, others)  # 0.99 ** 120 = 0.3: quite possible by chance
    assert v._collapsed(pd.Series(["a"] * 200), pd.Series(list("abcde") * 100))  # 0.2 ** 200: not chance


@pytest.mark.parametrize(
    ("values", "ok"),
    [
        ([">50K", "<=50K"], True),
        (["<=50K", "<=50K"], False),
        ([">50K", "<=50K", "n/a"], False),
        ([">50k", "<=50K"], False),
    ],
)
def test_the_target_is_binary_with_the_positive_class(values: list[str], ok: bool) -> None:
    c = parse_contract(INCOME)
    assert v.target_check(pd.DataFrame({"income": values}), c)["success"] is ok


def test_file_order_reads_numbers_as_numbers() -> None:
    names = [f"day_{i}.csv" for i in range(1, 25)]  # unpadded: day_9 comes before day_10
    assert sorted(names, key=v.natural)[8:10] == ["day_9.csv", "day_10.csv"]
    assert set(v.peers("day_10.csv", names, most=2)) == {"day_9.csv", "day_11.csv"}


def test_repeated_ids_are_found_across_files_whatever_pandas_read_them_as() -> None:
    """An int id column with a blank reads as float: 3.0 in one file is the 3 of another."""
    frames = {"a.csv": pd.DataFrame({"k": [1, 2, 3]}), "b.csv": pd.DataFrame({"k": [3.0, None, 5.0]})}
    assert v.repeated_ids(frames, "k") == (2, ["3 in a.csv row 3, b.csv row 1"])
    text = {"a.csv": pd.DataFrame({"k": ["P-1", "P-2"]}), "b.csv": pd.DataFrame({"k": ["P-3", None]})}
    assert v.repeated_ids(text, "k") == (0, [])
    numbers = {"a.csv": pd.DataFrame({"k": [1, 2, 3]}), "b.csv": pd.DataFrame({"k": [4.0, None, 5.5]})}
    assert v.repeated_ids(numbers, "k") == (0, [])
    mixed = {"a.csv": pd.DataFrame({"k": [1, 2, 3]}), "b.csv": pd.DataFrame({"k": ["x", "2", None]})}
    assert v.repeated_ids(mixed, "k") == (2, ["2 in a.csv row 2, b.csv row 2"])
    large = {"a.csv": pd.DataFrame({"k": [2**53]}), "b.csv": pd.DataFrame({"k": [2**53 + 1, 0.5]})}
    assert v.repeated_ids(large, "k") == (0, [])  # equal as floats, not as ids
    narrow = {"a.parquet": pd.DataFrame({"k": np.array([0.1], dtype=np.float32)}), "b.csv": pd.DataFrame({"k": [0.1]})}
    assert v.repeated_ids(narrow, "k") == (2, ["0.1 in a.parquet row 1, b.csv row 1"])
    huge = {"a.csv": pd.DataFrame({"k": [1e20, np.inf]}), "b.csv": pd.DataFrame({"k": [1e20]})}
    assert v.repeated_ids(huge, "k")[0] == 2


@pytest.mark.parametrize(
    ("values", "dtype", "bad"),
    [
        (pd.Series(np.array([2**63, 1], dtype=np.uint64)), "int", [2**63]),  # CSV: pandas reads it as uint64
        (pd.Series(np.array([2**63 - 1, 1], dtype=np.uint64)), "int", []),
        (pd.Series([10**23, 1], dtype=object), "int", [10**23]),  # CSV: beyond uint64, Python ints
        (pd.Series([-(2**63), 2**63 - 1], dtype=object), "int", []),
        (pd.Series([-(2**63) - 1, 7], dtype=object), "int", [-(2**63) - 1]),
        (pd.Series([9.3e18, 1.0, np.nan]), "int", [9.3e18]),
        (pd.Series([2.0**63, -(2.0**63)]), "int", [2.0**63]),
        (pd.Series([1.0, 2.5, None], dtype="double[pyarrow]"), "int", [2.5]),  # parquet from a pyarrow-backed frame
        (pd.Series([2**63, 2], dtype="uint64[pyarrow]"), "int", [2**63]),
        (pd.Series(["46", "forty"], dtype=object), "int", ["forty"]),  # CSV: only the cells that are not
        (pd.Series(["46", "٤٦"], dtype=object), "int", ["٤٦"]),  # ASCII digits only
        (pd.Series(["9223372036854775807", "-9223372036854775808", "+0009"], dtype="str"), "int", []),
        (
            pd.Series(["9223372036854775808", "-9223372036854775809"], dtype="str"),
            "int",
            ["9223372036854775808", "-9223372036854775809"],
        ),
        (pd.Series(["1.5", "x"], dtype=object), "float", ["x"]),
        (pd.Series([1.5, np.nan]), "float", []),
    ],
)
def test_an_int_is_a_whole_number_within_64_bits_and_numbers_are_not_text(
    values: pd.Series, dtype: str, bad: list[object]
) -> None:
    assert v.type_problems(values, dtype).tolist() == bad


def test_an_int_column_read_as_floats_is_judged_by_its_text() -> None:
    text = pd.Series(["9223372036854775808", "", "3", "4.0"])
    floats = pd.Series([2.0**63, np.nan, 3.0, 4.0])
    assert v.type_problems(floats, "int", text).tolist() == ["9223372036854775808", "4.0"]


@pytest.mark.parametrize("dtype", ["int", "float"])
def test_numbers_stored_as_text_in_a_parquet_file_are_refused_as_a_column(dtype: str) -> None:
    """A parquet file stores types: a text column of digits is text. In a CSV file everything is text,
    and only cells that are not numbers are wrong."""
    contract = parse_contract(INCOME)
    name = next(n for n in contract.features if contract.columns[n].dtype == dtype and not contract.columns[n].labels)
    df = synthesise(contract, 40, seed=1)
    df[name] = df[name].astype("str")
    (bad,) = [c for c in v.file_checks("b.parquet", df, contract, {}) if not c["success"]]
    present = [i + 1 for i in range(len(df)) if pd.notna(df[name].iloc[i])]
    assert (bad["column"], bad["unexpected_count"], bad["rows"]) == (name, len(present), present[:5])
    assert f"stored as text (str): store it as numbers ({dtype})" in v.describe(bad)
    assert [c for c in v.file_checks("b.csv", df, contract, {}) if not c["success"]] == []


def test_a_repeated_index_is_no_trouble_and_rows_are_positions() -> None:
    """pandas reads back the index a parquet file was written with: it may repeat."""
    contract = parse_contract(INCOME)
    df = synthesise(contract, 40, seed=1)
    name = numeric_feature(contract)
    df[name] = df[name].astype(object)
    df.loc[df.index[12], name] = "forty"
    df.index = [7] * len(df)
    (bad,) = [c for c in v.file_checks("b.parquet", df, contract, {}) if not c["success"]]
    assert (bad["rows"], bad["examples"]) == ([13], ["forty"])
