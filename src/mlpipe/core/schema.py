"""The service's request/response models, generated from the data contract.

A request record has exactly the contract's feature columns (plus, optionally, the id column),
with the contract's types, bounds and allowed codes, so the OpenAPI document is exact and a new
dataset changes the API with no code edit. Pure: pydantic only.
"""

from __future__ import annotations

import operator
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any, Literal

import pandas as pd
from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, create_model
from pydantic_core import PydanticCustomError

from mlpipe.config import INT64_MAX, INT64_MIN, Column, Contract
from mlpipe.core.features import scalar

_PY_TYPES: dict[str, type] = {"int": int, "float": float, "str": str, "bool": bool}
_TYPE_ERRORS = {
    "int": ("int_type", "Input should be a valid integer"),
    "float": ("float_type", "Input should be a valid number"),
    "str": ("string_type", "Input should be a valid string"),
    "bool": ("bool_type", "Input should be a valid boolean"),
}


def _exact_type(dtype: str) -> Any:
    """A coded column's value must have the column's JSON type: Literal[1] alone takes true and 1.0."""

    allowed = {"int": (int,), "float": (int, float), "str": (str,), "bool": (bool,)}[dtype]
    problem = _TYPE_ERRORS[dtype]

    def check(v: Any) -> Any:  # on every coded field of every record: kept cheap
        if type(v) not in allowed and v is not None:
            raise PydanticCustomError(*problem)
        return v

    return BeforeValidator(check)


def whole_number(v: Any) -> Any:
    """``22.0`` is an integer to JSON Schema (and to a CSV column with blanks, read as floats, which is
    what the smoke test records); ``22.5`` and ``true`` are not."""
    if type(v) is float and v.is_integer():
        return int(v)
    return v


def _utf8(v: Any) -> Any:
    """A lone surrogate ("\\ud800") is valid JSON but no text: it cannot be logged or echoed."""
    if isinstance(v, str):
        try:
            v.encode()
        except UnicodeEncodeError:
            raise PydanticCustomError("string_unicode", "Input should be valid Unicode text") from None
    return v


@dataclass(frozen=True)
class _Order:
    """Tells apart ``Literal``s of the same values in another order (pydantic ignores it).

    Such Literals are equal, and typing caches ``Annotated[...]`` by equal arguments: without it a
    record model built later in the process got the earlier contract's Literal, its enum in that order.
    """

    values: tuple[Any, ...]


def _field(col: Column, required: bool) -> tuple[Any, Any]:
    values = col.value_set
    annotation: Any = _PY_TYPES[col.dtype]
    if values is not None:
        annotation = Annotated[Literal[tuple(values)], _Order(tuple(values))]
    if col.dtype == "str":
        annotation = Annotated[annotation, AfterValidator(_utf8)]
    if values is not None:
        annotation = Annotated[annotation, _exact_type(col.dtype)]
    if values is None and col.dtype in ("int", "float"):
        # on the number itself, not the field: on an optional field pydantic would write them into the
        # OpenAPI document as "ge"/"le" (not JSON Schema: clients and fuzzers would not see the bounds)
        low, high = col.min, col.max
        bounds: dict[str, Any] = {}
        if col.dtype == "int":
            low = INT64_MIN if low is None else max(low, INT64_MIN)
            high = INT64_MAX if high is None else min(high, INT64_MAX)
        else:
            bounds["allow_inf_nan"] = False
        annotation = Annotated[annotation, Field(ge=low, le=high, **bounds)]
    if col.dtype == "int":
        annotation = Annotated[annotation, BeforeValidator(whole_number)]  # runs before the type checks above
    if col.nullable:
        annotation = annotation | None
    desc = col.description
    if col.labels is not None:
        desc = f"{desc}. Codes: " + "; ".join(f"{k} = {v}" for k, v in col.labels.items())
    default: Any = ... if required else None
    return annotation, Field(default, description=desc)


class Record(BaseModel):
    """Base of the generated record model: unknown fields are an error naming the field.

    Strict: a number column refuses true and "30", a string column refuses 30; nothing is guessed.
    """

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


def record_model(contract: Contract) -> type[Record]:
    fields: dict[str, Any] = {name: _field(contract.columns[name], True) for name in contract.features}
    if contract.id not in fields:
        fields[contract.id] = _field(contract.columns[contract.id], False)
    return create_model("Record", __base__=Record, __doc__=contract.description or None, **fields)


def row_getter(columns: list[str]) -> Callable[[BaseModel], tuple[Any, ...]]:
    """A record's values in column order: one C call, not a Python loop per field. Read from the
    record's ``__dict__`` (where pydantic keeps the fields): ``attrgetter`` took a column named
    ``age.years`` as ``.age.years`` and failed on every request."""
    get = operator.itemgetter(*columns)
    if len(columns) == 1:
        return lambda r: (get(r.__dict__),)
    return lambda r: get(r.__dict__)


def batch_model(record: type[Record], max_rows: int) -> type[BaseModel]:
    return create_model(
        "BatchRequest",
        __config__=ConfigDict(extra="forbid"),
        records=(list[record], Field(min_length=1, max_length=max_rows)),  # type: ignore[valid-type]
    )


def target_values(contract: Contract) -> tuple[Any, Any]:
    """(negative, positive) target values, for answering with the label a user knows."""
    return contract.target_labels()


class Prediction(BaseModel):
    request_id: str
    id: Any = None
    prediction: Any = Field(description="the target value predicted at the configured threshold")
    probability: float = Field(description="probability of the positive class")
    model_version: str


class BatchItem(BaseModel):
    id: Any = None
    prediction: Any
    probability: float


class BatchPrediction(BaseModel):
    request_id: str
    model_version: str
    predictions: list[BatchItem]


class Problem(BaseModel):
    model_config = ConfigDict(extra="forbid")
    field: str = Field(description="what the problem is about: a field such as records[2].AGEP, or (body), (path)")
    problem: str
    input: Any = Field(default=None, description="the value sent, when it was a single value")


class ErrorBody(BaseModel):
    """Every 4xx answer: declared in the OpenAPI document so clients (and the fuzz test) can check it."""

    model_config = ConfigDict(extra="forbid")
    error: str
    problems: list[Problem] = Field(min_length=1)


class ServiceError(BaseModel):
    """A 5xx answer: not ready (503), or an unexpected error (500, with the request id to find it in the log)."""

    model_config = ConfigDict(extra="forbid")
    error: str
    request_id: str | None = None


class Ready(BaseModel):
    model_config = ConfigDict(extra="forbid")
    ready: bool
    model_version: str | None = None
    reason: str | None = Field(default=None, description="why not ready; no file paths (the log has them)")


class Version(BaseModel):
    """What ``/version`` answers: the model's identity, as its card records it, and the commit serving it."""

    model_version: str
    model_sha256: str
    model_kind: str
    role: str
    dataset: str | None = None
    data_sha256: str | None = None
    train_sha256: str | None = None
    train_rows: int | None = None
    contract_sha256: str | None = None
    code_sha256: str | None = None
    git_commit: str | None = None
    libraries: dict[str, str] | None = Field(default=None, description="only when /version needs the API key")
    challenger: dict[str, Any] | None = Field(default=None, description="the second model, when one is configured")


def frame_problems(
    df: pd.DataFrame, contract: Contract, first_row: int = 0, examples: int = 3, domain: bool = True
) -> list[str]:
    """What stops a frame of raw records from being scored, one line per column, naming rows.

    The batch-scoring counterpart of the request model's validation (same rules: the features
    must be present, typed, in range and among the allowed codes). ``domain=False`` checks only what
    makes scoring impossible, text in a number column: the monitor reports missing values, unknown
    codes, fractions and out-of-range numbers as data quality.
    """
    problems = []
    missing = [f for f in contract.features if f not in df.columns]
    if missing:
        return [f"missing feature columns {missing} (found {list(df.columns)})"]
    for name in contract.features:
        values = df[name]
        bad = pd.Series(False, index=df.index)
        reasons = []
        for mask, reason in _cell_checks(values, contract.columns[name], domain):
            if mask.any():
                bad |= mask
                reasons.append(reason)
        if bad.any():
            pos = [i for i, b in enumerate(bad.to_numpy()) if b][:examples]
            shown = ", ".join(f"row {first_row + i + 1}: {_shown(scalar(values.iloc[i]))}" for i in pos)
            problems.append(f"{name}: {int(bad.sum())} values {' or '.join(reasons)} (e.g. {shown})")
    return problems


# What an error repeats of a value (the service's answers too): a 30 MB cell made a 30 MB log line.
ECHO_CHARS = 200


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= ECHO_CHARS else f"{text[:ECHO_CHARS]}... ({len(text):,} characters)"


def _cell_checks(values: pd.Series, col: Column, domain: bool) -> list[tuple[pd.Series, str]]:
    """(cells failing, why) per rule of ``col``."""
    present = values.notna()
    checks: list[tuple[pd.Series, str]] = []
    if domain and not col.nullable:
        checks.append((values.isna(), "empty"))
    if col.dtype in ("int", "float"):
        # one text cell makes a CSV column text: each cell is judged as a number, codes included
        numbers = pd.to_numeric(values, errors="coerce")
        checks.append((present & numbers.isna(), f"not a number ({col.dtype})"))
        if domain and col.dtype == "int":
            checks.append((numbers.notna() & (numbers != numbers.round()), "not a whole number (int)"))
        if domain and col.value_set is not None:
            checks.append((numbers.notna() & ~numbers.isin(col.value_set), f"not one of {col.value_set}"))
        elif domain and (col.min is not None or col.max is not None):
            low = numbers < col.min if col.min is not None else False
            high = numbers > col.max if col.max is not None else False
            checks.append((pd.Series(low | high, index=values.index), f"outside [{col.min}, {col.max}]"))
    elif domain and col.value_set is not None:
        checks.append((present & ~values.isin(col.value_set), f"not one of {col.value_set}"))
    return checks
