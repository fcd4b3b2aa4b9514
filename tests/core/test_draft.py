"""The drafted contract: types, ranges, codes and roles guessed from data built here."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest

from mlpipe.config import parse_contract
from mlpipe.core.draft import MAX_MIN_ROWS, draft_contract, infer_dtype, round_out, split_period
from mlpipe.errors import ConfigError

pytestmark = pytest.mark.unit


def adult(n: int = 400, seed: int = 0) -> pd.DataFrame:
    """Census-income-like: text categories with blanks, an int column with blanks, no time column."""
    rng = np.random.default_rng(seed)
    df = pd.DataFrame(
        {
            "id": np.arange(n),
            "age": rng.integers(17, 91, n).astype(float),
            "workclass": rng.choice(["Private", "Self-emp", "State-gov", "Federal-gov"], n),
            "fnlwgt": rng.normal(190_000, 100_000, n).round(1),
            "occupation": [f"occ-{i}" for i in rng.integers(0, 40, n)],  # more than 20 distinct values
            "sex": rng.choice(["Male", "Female"], n),
            "race": rng.choice(["White", "Black", "Asian-Pac-Islander", "Other"], n),
            "hours-per-week": rng.normal(40, 12, n),
            "income": rng.choice([">50K", "<=50K"], n, p=[0.24, 0.76]),
        }
    )
    df.loc[rng.random(n) < 0.1, "age"] = np.nan  # as pandas reads an int column with blanks
    df["workclass"] = df["workclass"].where(rng.random(n) > 0.05)
    return df


def panel(n: int = 300, seed: int = 1) -> pd.DataFrame:
    """Customer-panel-like: a year column, integer codes, floats, a bool and a 0/1 target."""
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "customer_id": np.arange(1000, 1000 + n),
            "year": rng.choice([2019, 2020, 2021], n),
            "region": rng.choice([1, 2, 3, 4, 5], n),
            "balance": rng.gamma(2.0, 1234.5, n),
            "score": rng.uniform(-0.5, 0.75, n),
            "active": rng.choice([True, False], n),
            "churned": rng.choice([0, 1], n, p=[0.8, 0.2]),
        }
    )


def draft(df: pd.DataFrame, target: str, name: str = "test") -> tuple[dict[str, Any], list[str]]:
    contract, notes = draft_contract(df, target, name)
    parse_contract(contract)  # every draft must load as it is
    return contract, notes


def note(notes: list[str], text: str) -> str:
    found = [n for n in notes if text in n]
    assert len(found) == 1, f"no single note with {text!r} in {notes}"
    return found[0]


def test_adult_columns_types_missing_values_and_codes() -> None:
    df = adult()
    contract, notes = draft(df, "income", "adult")
    cols = contract["columns"]
    assert list(cols) == list(df.columns)
    assert cols["id"] == {"dtype": "int", "min": 0}
    assert cols["age"] == {"dtype": "int", "nullable": True, "min": int(df["age"].min()), "max": int(df["age"].max())}
    assert cols["workclass"] == {
        "dtype": "str",
        "nullable": True,
        "allowed": ["Federal-gov", "Private", "Self-emp", "State-gov"],
    }
    assert cols["sex"] == {"dtype": "str", "allowed": ["Female", "Male"]}
    assert cols["occupation"] == {"dtype": "str"}  # too many values for a list
    assert "occupation (40)" in note(notes, "no allowed list")
    assert cols["hours-per-week"]["dtype"] == "float"
    assert cols["income"] == {"dtype": "str", "allowed": ["<=50K", ">50K"]}
    assert note(notes, "min/max are the range").count("fnlwgt") == 1


def test_adult_roles_id_target_no_time_and_features_in_file_order() -> None:
    contract, notes = draft(adult(), "income", "adult")
    assert (contract["name"], contract["id"], contract["target"], contract["time"]) == ("adult", "id", "income", None)
    assert contract["positive"] == ">50K"  # the rarer label
    assert "'>50K'" in note(notes, "positive class")
    assert "stratified" in note(notes, "no time column")
    assert contract["features"] == ["age", "workclass", "fnlwgt", "occupation", "sex", "race", "hours-per-week"]
    assert contract["min_rows"] == 40
    assert "400 rows" in note(notes, "min_rows")
    assert contract["description"].startswith("Drafted by make contract from 400 rows in 1 file")
    big = draft(adult(60_000), "income")
    assert big[0]["min_rows"] == MAX_MIN_ROWS  # not 6,000: a large fork's own tests synthesise that many
    assert f"at most {MAX_MIN_ROWS:,} of the 60000 rows" in note(big[1], "min_rows")


def test_float_bounds_are_rounded_outward_to_a_few_digits() -> None:
    df = panel()
    cols = draft(df, "churned")[0]["columns"]
    for name in ("balance", "score"):
        lo, hi = cols[name]["min"], cols[name]["max"]
        assert lo <= df[name].min()
        assert hi >= df[name].max()
        assert hi - lo <= 1.02 * (df[name].max() - df[name].min())
        assert len(f"{abs(lo):e}".split("e")[0].rstrip("0").replace(".", "")) <= 3
    assert round_out(0.12345, down=True) == 0.123
    assert round_out(0.12345) == 0.124
    assert round_out(-12.34, down=True) == -12.4
    assert round_out(98_765.4) == 98_800.0
    assert round_out(0.0) == 0.0


def test_panel_id_time_codes_bool_and_positive() -> None:
    contract, notes = draft(panel(), "churned")
    cols = contract["columns"]
    assert (contract["id"], contract["time"], contract["positive"]) == ("customer_id", "year", 1)
    assert cols["customer_id"] == {"dtype": "int", "min": 0}
    assert cols["year"] == {"dtype": "int", "min": 2019, "max": 2021}
    assert cols["region"] == {"dtype": "int", "allowed": [1, 2, 3, 4, 5]}
    assert cols["active"] == {"dtype": "bool"}
    assert cols["churned"] == {"dtype": "int", "allowed": [0, 1]}
    assert contract["features"] == ["region", "balance", "score", "active"]
    assert "2021" in note(notes, "time column 'year'")
    assert not [n for n in notes if "positive class" in n]  # 0/1: nothing to check


def test_values_are_plain_python_not_numpy() -> None:
    contract = draft(panel(), "churned")[0]
    cols = contract["columns"]
    assert type(contract["positive"]) is int
    assert all(type(v) is int for v in cols["region"]["allowed"] + cols["churned"]["allowed"])
    assert type(cols["year"]["min"]) is int
    assert type(cols["balance"]["max"]) is float


def test_bool_target_is_positive_true_and_text_booleans_are_bool() -> None:
    df = panel().assign(
        churned=lambda d: d["churned"].astype(bool), flag=lambda d: np.where(d["active"], "TRUE", "false")
    )
    contract = draft(df, "churned")[0]
    assert contract["positive"] is True
    assert contract["columns"]["churned"] == {"dtype": "bool", "allowed": [False, True]}
    assert contract["columns"]["flag"] == {"dtype": "bool"}


def test_text_labels_tie_picks_the_later_label() -> None:
    df = pd.DataFrame({"id": range(4), "x": [1.5, 2.5, 3.5, 4.5], "y": ["no", "yes", "no", "yes"]})
    assert draft(df, "y")[0]["positive"] == "yes"


def test_dtype_inference() -> None:
    assert infer_dtype(pd.Series([1.0, np.nan, 3.0])) == "int"
    assert infer_dtype(pd.Series([1.5, np.nan])) == "float"
    assert infer_dtype(pd.Series([True, np.nan, False], dtype=object)) == "bool"
    assert infer_dtype(pd.Series(["True", "false", None])) == "bool"
    assert infer_dtype(pd.Series(["a", "b"])) == "str"
    assert infer_dtype(pd.Series(["a", 1], dtype=object)) == "str"
    # an int fits in 64 bits: unsigned 64-bit hashes are ids, kept exact as text; huge whole floats are floats
    assert infer_dtype(pd.Series(np.array([2**63, 1], dtype=np.uint64))) == "str"
    assert infer_dtype(pd.Series(np.array([2**63 - 1, 1], dtype=np.uint64))) == "int"
    assert infer_dtype(pd.Series([2.0**63, np.nan])) == "float"
    assert infer_dtype(pd.Series([-(2.0**63), np.nan])) == "int"


def test_iso_dates_as_text_are_the_time_column() -> None:
    rng = np.random.default_rng(2)
    df = panel().drop(columns="year").assign(month=rng.choice(["2023-11", "2023-12", "2024-01"], 300))
    contract = draft(df, "churned")[0]
    assert contract["time"] == "month"
    assert contract["columns"]["month"] == {"dtype": "str"}
    assert "month" not in contract["features"]


def test_a_daily_date_column_is_the_time_split_by_period_never_a_text_feature() -> None:
    """639 daily dates over 22 months: the time column, and the note says which split.period to set."""
    days = pd.date_range("2022-01-01", "2023-12-31", freq="D").strftime("%Y-%m-%d")
    df = panel(1200).drop(columns="year").assign(signup=lambda d: np.resize(days[:639], len(d)))
    contract, notes = draft(df, "churned")
    assert contract["time"] == "signup"
    assert "signup" not in contract["features"]
    assert contract["columns"]["signup"] == {"dtype": "str"}
    text = note(notes, "time column 'signup'")
    assert "639 dates, 22 months" in text
    assert "split.period: month" in text
    assert split_period(pd.Series(days)) == "month"  # 24 months
    five_years = pd.Series(pd.date_range("2019-01-01", "2023-12-31", freq="D").strftime("%Y-%m-%d"))
    assert split_period(five_years) == "quarter"  # 60 months, 20 quarters
    assert split_period(pd.Series(["2024-01-05", "2024-02-07"])) == "value"  # a few dates: each one a period


def test_a_year_column_with_too_many_values_is_not_the_time() -> None:
    df = panel().assign(year=lambda d: d["customer_id"] % 60 + 1960)
    assert draft(df, "churned")[0]["time"] is None


def test_sensitive_is_empty_and_a_note_says_how_to_declare() -> None:
    df = adult().assign(ethnicity_code=lambda d: np.arange(len(d)) % 3 + 1)
    contract, notes = draft(df, "income")
    assert contract["sensitive"] == {}
    text = note(notes, "protected attributes")
    assert "sex: {}" in text
    assert "race: {}" in text
    assert "age: {bins: [" in text
    assert "ethnicity_code: {} (after turning its 'allowed' codes into 'labels')" in text
    assert "workclass" not in text


def test_id_without_an_id_name_is_the_first_unique_integer_column_and_noted() -> None:
    df = panel().rename(columns={"customer_id": "row"})
    contract, notes = draft(df, "churned")
    assert contract["id"] == "row"
    assert "'row' is the id" in note(notes, "unique integers")


def test_target_with_three_values_is_refused_with_the_values() -> None:
    df = adult().assign(income=lambda d: np.where(d["id"] % 3 == 0, "unknown", d["income"]))
    with pytest.raises(ConfigError, match=r"exactly 2 distinct values.*it has 3: \['<=50K', '>50K', 'unknown'\]"):
        draft_contract(df, "income", "adult")


def test_a_continuous_target_shows_ten_values() -> None:
    df = panel().assign(churned=lambda d: d["balance"])
    with pytest.raises(ConfigError, match=r"it has 300: \[.*\] \(showing 10 of 300\)"):
        draft_contract(df, "churned", "x")


def test_unknown_target_names_the_columns() -> None:
    with pytest.raises(ConfigError, match=r"'salary' is not in the data; its columns are \['id', 'age'"):
        draft_contract(adult(), "salary", "adult")


def test_no_id_is_refused_and_says_how_to_add_one() -> None:
    df = adult().drop(columns="id")
    with pytest.raises(ConfigError, match=r"unique, never-missing values.*df\.insert\(0, 'id', range\(len\(df\)\)\)"):
        draft_contract(df, "income", "adult")


def test_a_text_key_named_like_an_id_is_the_id() -> None:
    df = adult().drop(columns="id")
    df.insert(0, "customer_key", [f"C-{i:05d}" for i in range(len(df))])
    contract, _ = draft(df, "income")
    assert contract["id"] == "customer_key"
    assert contract["columns"]["customer_key"] == {"dtype": "str"}
    assert "customer_key" not in contract["features"]


def test_missing_target_values_are_noted_and_not_declared_nullable() -> None:
    df = panel().astype({"churned": float})
    df.loc[:4, "churned"] = np.nan
    contract, notes = draft(df, "churned")
    assert contract["columns"]["churned"] == {"dtype": "int", "allowed": [0, 1]}
    assert "5 rows" in note(notes, "target 'churned' is missing")


@pytest.mark.parametrize(("names", "expected"), [
    (["paid", "customerId", "row"], "customerId"),
    (["valid", "PERSON_ID", "id"], "id"),
    (["row", "PERSONID"], "PERSONID"),
])  # fmt: skip
def test_id_prefers_id_names(names: list[str], expected: str) -> None:
    df = pd.DataFrame({name: range(i * 100, i * 100 + 50) for i, name in enumerate(names)})
    df["y"] = [0, 1] * 25
    assert draft(df, "y")[0]["id"] == expected
