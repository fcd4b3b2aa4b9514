from __future__ import annotations

import pandas as pd
import pytest
from pydantic import ValidationError

from mlpipe.config import Contract, parse_contract
from mlpipe.core.schema import batch_model, frame_problems, record_model, target_values
from mlpipe.core.synth import synthesise
from mlpipe.core.validation import plain

pytestmark = pytest.mark.unit


def other_contract() -> Contract:
    """A different dataset: the API follows the contract with no code edit."""
    return parse_contract(
        {
            "name": "churn",
            "id": "customer",
            "target": "churned",
            "positive": "yes",
            "columns": {
                "customer": {"dtype": "str"},
                "tenure": {"dtype": "float", "min": 0},
                "plan": {"dtype": "str", "allowed": ["basic", "pro"]},
                "churned": {"dtype": "str", "allowed": ["yes", "no"]},
            },
            "features": ["tenure", "plan"],
        }
    )


def test_record_model_follows_the_contract() -> None:
    Record = record_model(other_contract())
    assert set(Record.model_fields) == {"tenure", "plan", "customer"}
    ok = Record.model_validate({"tenure": 3.5, "plan": "pro"})
    assert ok.customer is None  # type: ignore[attr-defined]
    with pytest.raises(ValidationError, match="plan"):
        Record.model_validate({"tenure": 3.5, "plan": "gold"})
    with pytest.raises(ValidationError, match="greater than or equal to 0"):
        Record.model_validate({"tenure": -1, "plan": "pro"})
    with pytest.raises(ValidationError, match="Extra inputs"):
        Record.model_validate({"tenure": 1, "plan": "pro", "churned": "yes"})  # the target is not an input
    Batch = batch_model(Record, 2)
    with pytest.raises(ValidationError, match="at most 2"):
        Batch.model_validate({"records": [{"tenure": 1, "plan": "pro"}] * 3})
    assert target_values(other_contract()) == ("no", "yes")


def test_frame_problems_name_column_problem_and_rows() -> None:
    c = other_contract()
    df = pd.DataFrame({"tenure": [1.0, -2.0, None], "plan": ["pro", "gold", "basic"]})
    found = frame_problems(df, c, first_row=100)
    assert any(p.startswith("tenure: 2 values empty or outside [0.0, None]") and "row 102" in p for p in found), found
    assert any(p.startswith("plan: 1 values not one of ['basic', 'pro']") and "row 102: 'gold'" in p for p in found)
    assert frame_problems(df.drop(columns="plan"), c) == ["missing feature columns ['plan'] (found ['tenure'])"]
    assert frame_problems(pd.DataFrame({"tenure": [1.0], "plan": ["pro"]}), c) == []


def test_frame_problems_refuse_a_fraction_in_an_int_column() -> None:
    """46.5 in an int column is what validate stops; batch scoring must not score it silently."""
    c = other_contract()
    c = c.model_copy(
        update={"columns": {**c.columns, "tenure": c.columns["tenure"].model_copy(update={"dtype": "int"})}}
    )
    df = pd.DataFrame({"tenure": [1.0, 46.5, 3.0, 46.0], "plan": ["pro", "pro", "basic", "pro"]})
    (found,) = frame_problems(df, c)
    assert found.startswith("tenure: 1 values not a whole number (int)"), found
    assert "row 2: 46.5" in found


def test_an_int_field_takes_a_whole_float_and_refuses_a_fraction(contract: Contract) -> None:
    """JSON Schema's ``integer`` allows ``22.0``, and a CSV int column with blanks reads as floats (what
    the smoke test records); a fraction, a boolean or text is still refused, codes included."""
    ints = [n for n in contract.features if contract.columns[n].dtype == "int"]
    if not ints:
        pytest.skip("the contract has no int feature")
    Record = record_model(contract)
    row = synthesise(contract, 1, seed=1).iloc[0]
    record = {n: plain(row[n]) for n in [contract.id, *contract.features]}
    for name in ints:
        value = record[name]
        if value is None:
            continue
        ok = Record.model_validate({**record, name: float(value)})
        assert getattr(ok, name) == value
        assert type(getattr(ok, name)) is int
        for bad in (value + 0.5, True, str(value)):
            with pytest.raises(ValidationError, match=name):
                Record.model_validate({**record, name: bad})


@pytest.mark.parametrize(
    ("dtype", "values"), [("str", ["b", "c", "a"]), ("int", [3, 1, 2]), ("float", [0.5, 2.5, 1.0])]
)
@pytest.mark.parametrize("nullable", [False, True])
def test_the_enum_follows_each_contracts_order(dtype: str, values: list[object], nullable: bool) -> None:
    """typing caches Annotated[...] by equal arguments and Literals of the same values in another order are
    equal: a model built later for a contract listing them otherwise got the first one's order."""

    def enum(vals: list[object]) -> list[object]:
        c = parse_contract({"name": "z", "id": "i", "target": "y", "features": ["w"], "columns": {
            "i": {"dtype": "int"}, "w": {"dtype": dtype, "allowed": vals, "nullable": nullable},
            "y": {"dtype": "int", "allowed": [0, 1]}}})  # fmt: skip
        prop = record_model(c).model_json_schema()["properties"]["w"]
        return list(prop.get("enum") or next(x["enum"] for x in prop["anyOf"] if "enum" in x))

    for order in (values, sorted(values), list(reversed(values))):  # type: ignore[type-var]
        assert enum(order) == order


def test_one_text_cell_in_a_coded_number_column_blames_that_row_only(contract: Contract) -> None:
    """One text cell makes a CSV column text ('21', 'x', ...): the valid codes must still be valid, and
    the monitor's types-only check stops on the text cell but leaves unknown codes to its quality report."""
    coded = [n for n in contract.features if contract.columns[n].dtype == "int" and contract.columns[n].value_set]
    if not coded:
        pytest.skip("the contract has no coded int feature")
    name = coded[0]
    df = synthesise(contract, 4, seed=3)[list(contract.features)]
    codes = contract.columns[name].value_set or []
    outside = max(int(v) for v in codes) + 1
    df[name] = [str(codes[0]), "x", str(codes[-1]), str(outside)]  # as read from the CSV
    (found,) = [p for p in frame_problems(df, contract) if p.startswith(f"{name}:")]
    assert found.startswith(f"{name}: 2 values not a number (int) or not one of"), found
    assert "row 2: 'x'" in found
    assert f"row 4: '{outside}'" in found
    assert "row 1" not in found
    (typed,) = [p for p in frame_problems(df, contract, domain=False) if p.startswith(f"{name}:")]
    assert typed == f"{name}: 1 values not a number (int) (e.g. row 2: 'x')"


def test_a_huge_bad_value_is_shown_cut(contract: Contract) -> None:
    """A 30 MB cell in a number column made a 30 MB log line."""
    name = next((f for f in contract.features if contract.columns[f].dtype in ("int", "float")), None)
    if name is None:
        pytest.skip("the contract has no number feature")
    df = synthesise(contract, 2, seed=3)[list(contract.features)].astype({name: object})
    df.loc[df.index[1], name] = "9" * 50 + "x" * 1_000_000
    (found,) = [p for p in frame_problems(df, contract) if p.startswith(f"{name}:")]
    assert len(found) < 400
    assert found.endswith("... (1,000,052 characters))")


def test_a_records_values_come_in_column_order_whatever_the_names(contract: Contract) -> None:
    """attrgetter read ``age.years`` as ``.age.years``: every request failed 500 for such a fork."""
    from mlpipe.core.schema import row_getter

    names = {f: n for f, n in zip(contract.features, ["age.years", "Monthly Fee", "2nd plan", "Région"], strict=False)}
    columns = {names.get(k, k): v for k, v in contract.columns.items()}
    renamed = contract.model_copy(update={"features": [names.get(f, f) for f in contract.features], "columns": columns})
    row = synthesise(contract, 1, seed=5).iloc[0]
    record = record_model(renamed).model_validate(
        {names.get(f, f): plain(row[f]) for f in contract.features if not pd.isna(row[f])}
        | {f: None for f in contract.features if pd.isna(row[f])}
    )
    expected = tuple(getattr(record, f) for f in renamed.features)
    assert row_getter(renamed.features)(record) == expected
    assert row_getter(renamed.features[:1])(record) == expected[:1]
