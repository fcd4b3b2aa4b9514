"""The frame checked records become: exactly the frame pandas infers from the records, built faster."""

from __future__ import annotations

import math
import random
from typing import Any

import orjson
import pandas as pd
import pytest

from mlpipe.config import Contract, parse_contract
from mlpipe.core.schema import record_model
from mlpipe.serving.scorer import records_frame
from tests.datasets import INCOME, SENSORS
from tests.repos import ROOT

pytestmark = pytest.mark.unit
OMIT = object()  # a field the record leaves out


def inferred(rows: list[tuple[Any, ...]], columns: list[str], contract: Contract) -> pd.DataFrame:
    """What pandas makes of the records, with the id rule: an int id some records left out is Int64."""
    frame = pd.DataFrame.from_records(rows, columns=columns)
    key = contract.id
    if contract.columns[key].dtype == "int" and key not in contract.features and frame[key].dtype != "int64":
        frame[key] = pd.array([r[columns.index(key)] for r in rows], dtype="Int64")
    return frame


def value(contract: Contract, name: str, rng: random.Random, missing: bool, whole: bool) -> Any:
    """A value the record model takes for the column (its bounds, its codes); None or left out when
    ``missing`` and the column allows it; whole numbers in a float column when ``whole``."""
    col = contract.columns[name]
    if missing and (col.nullable or (name == contract.id and name not in contract.features)):
        return None if col.nullable else OMIT
    if col.value_set is not None:
        return rng.choice(sorted(col.value_set, key=str))
    low = col.min if col.min is not None else (col.max - 100 if col.max is not None else 0)
    high = col.max if col.max is not None else low + 100
    if col.dtype == "int":
        return rng.randint(math.ceil(low), math.floor(high))
    if col.dtype == "float":  # JSON 3 and 3.5 alike; 3 becomes 3.0 in the check
        wholes = [v for v in (math.ceil(low), math.floor(high)) if low <= v <= high]
        return rng.choice(wholes if whole and wholes else [*wholes, float(low), float(high), (low + high) / 2])
    if col.dtype == "bool":
        return rng.random() < 0.5
    return rng.choice(["a", "b", "é"])


@pytest.mark.parametrize("which", ["repository", "income", "sensors"])
@pytest.mark.parametrize("missing", [0.0, 0.3])
@pytest.mark.parametrize("n", [0, 1, 40])
@pytest.mark.parametrize("whole", [False, True])
def test_the_frame_is_what_pandas_infers(which: str, missing: float, n: int, whole: bool) -> None:
    import yaml

    raw = {"income": INCOME, "sensors": SENSORS}.get(which) or yaml.safe_load((ROOT / "contract.yaml").read_text())
    contract = parse_contract(raw)
    model = record_model(contract)
    columns = list(model.model_fields)
    rng = random.Random(f"{which}{missing}{n}")
    records = [{c: value(contract, c, rng, rng.random() < missing, whole) for c in columns} for _ in range(n)]
    checked = [model.model_validate_json(orjson.dumps({k: v for k, v in r.items() if v is not OMIT})) for r in records]
    rows = [tuple(getattr(r, c) for c in columns) for r in checked]  # as the service's check leaves them
    got, want = records_frame(rows, columns, contract), inferred(rows, columns, contract)
    pd.testing.assert_frame_equal(got, want, check_exact=True)
    assert list(got.dtypes) == list(want.dtypes)
