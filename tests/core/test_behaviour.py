from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from mlpipe.config import BehaviourCheck, parse_contract
from mlpipe.core import behaviour
from mlpipe.errors import ConfigError

pytestmark = pytest.mark.unit
RAW = pd.DataFrame({"age": np.arange(100), "school": [1, 24] * 50})


def by_age(rows: pd.DataFrame) -> np.ndarray:
    """A stand-in model: probability grows with age, a doctorate adds 0.1."""
    p: np.ndarray = np.clip(rows["age"].to_numpy() / 100 + (rows["school"].to_numpy() == 24) * 0.1, 0, 1)
    return p


def test_minimum_functionality() -> None:
    young = BehaviourCheck(name="young", rows={"age": {"max": 4}}, max_probability=0.15, min_rows=5)
    assert behaviour.run(young, RAW, by_age).passed
    older = BehaviourCheck(name="older", rows={"age": {"max": 20}}, max_probability=0.15, min_rows=5)
    out = behaviour.run(older, RAW, by_age)
    assert not out.passed
    assert "of rows have probability ≤ 0.15" in out.detail


def test_directional_per_row_and_on_average() -> None:
    younger = BehaviourCheck(name="younger", set={"age": 1}, direction="decrease", share=0.9, min_rows=10)
    assert behaviour.run(younger, RAW[RAW["age"] > 10], by_age).passed
    assert not behaviour.run(younger.model_copy(update={"direction": "increase"}), RAW[RAW["age"] > 10], by_age).passed
    doc = BehaviourCheck(name="doc", set={"school": 24}, compare={"school": 1}, direction="increase", by=0.05)
    assert behaviour.run(doc, RAW, by_age).passed
    assert not behaviour.run(doc.model_copy(update={"by": 0.2}), RAW, by_age).passed


def test_too_few_rows_fail_rather_than_pass_vacuously() -> None:
    check = BehaviourCheck(name="none", rows={"age": {"min": 1000}}, max_probability=0.5)
    assert not behaviour.run(check, RAW, by_age).passed


def test_bad_declarations_are_refused() -> None:
    with pytest.raises(ValueError, match="needs 'direction'"):
        BehaviourCheck(name="x", set={"age": 1})
    columns = {"i": {"dtype": "int"}, "age": {"dtype": "int"}, "y": {"dtype": "int", "allowed": [0, 1]}}
    base = {"name": "t", "id": "i", "target": "y", "features": ["age"], "columns": columns}
    with pytest.raises(ConfigError, match=r"behaviour.0 \(x\): rows names unknown columns \['height'\]"):
        parse_contract(base | {"behaviour": [{"name": "x", "rows": {"height": {"min": 1}}, "max_probability": 0.1}]})
