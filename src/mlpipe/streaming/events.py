"""An event's format, checked by the service's own record model, and what the consumer publishes.

An event is a JSON object with the contract's features and (optionally) its id, as ``/predict``
takes them, plus two optional envelope fields: ``event_id`` (the de-duplication key; else the
broker's message id or sequence) and ``event_time`` (ISO 8601, carried into the prediction so
latency from the event can be measured). The check is the service's: :func:`record_model` with the
two fields added, the same problems (``{"field", "problem"}``), the same duplicate-key rule.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, NamedTuple

import orjson
from pydantic import Field, ValidationError, create_model

from mlpipe.config import Contract
from mlpipe.core.schema import Record, record_model, row_getter
from mlpipe.errors import ConfigError
from mlpipe.serving.responses import problems_of, repeated_problem

ENVELOPE = ("event_id", "event_time")
#: A message as the broker delivered it: its payload, and how to name it when the event has no
#: ``event_id`` (called only then: reading a JetStream message's sequence costs ~2 us).
Message = tuple[bytes, Callable[[], str]]


class Good(NamedTuple):  # a tuple: built once per event, ~1 us less than a frozen dataclass
    key: str  # the de-duplication key of the event and of its prediction
    row: tuple[Any, ...]  # the record's values in Checker.columns order
    event_time: str | None


@dataclass(frozen=True)
class Bad:
    key: str
    payload: bytes
    error: str
    problems: list[dict[str, Any]]


class Checker:
    """Turns raw payloads into checked rows, or dead letters saying what is wrong and where."""

    def __init__(self, contract: Contract) -> None:
        record = record_model(contract)
        if clash := [n for n in ENVELOPE if n in record.model_fields]:
            raise ConfigError(f"contract.yaml: column(s) {clash} clash with the stream's envelope fields {ENVELOPE}")
        self.columns = list(record.model_fields)
        self.model: type[Record] = create_model(
            "Event",
            __base__=record,
            event_id=(str | None, Field(None, min_length=1, max_length=256)),
            event_time=(datetime | None, None),
        )
        self.row_of: Callable[[Any], tuple[Any, ...]] = row_getter(self.columns)

    def check(self, payload: bytes, fallback_key: Callable[[], str]) -> Good | Bad:
        try:
            event = self.model.model_validate_json(payload)
        except ValidationError as err:
            not_json = any(e["type"] == "json_invalid" for e in err.errors())
            return Bad(fallback_key(), payload, "not JSON" if not_json else "invalid event", problems_of(err))
        key = getattr(event, "event_id", None) or fallback_key()
        if (dup := repeated_problem(payload)) is not None:
            return Bad(key, payload, "invalid event", [dup])
        when = getattr(event, "event_time", None)
        return Good(key, self.row_of(event), when.isoformat() if when is not None else None)


#: The most of an event's payload a dead letter repeats (characters): a dead letter must stay under the
#: broker's message limit (1 MB by default on NATS and Kafka), or it would be refused, and its batch with it.
DEAD_PAYLOAD_MAX = 256 * 1024


def dead_letter(bad: Bad) -> bytes:
    """The original payload (as text when it is UTF-8, else with its bytes escaped) and its problems; a
    payload over DEAD_PAYLOAD_MAX characters is cut there and says so."""
    text = bad.payload.decode("utf-8", errors="backslashreplace")
    letter: dict[str, Any] = {"event_id": bad.key, "error": bad.error, "problems": bad.problems}
    if len(text) > DEAD_PAYLOAD_MAX:
        letter |= {"payload_truncated": True, "payload_bytes": len(bad.payload)}
        text = text[:DEAD_PAYLOAD_MAX]
    return orjson.dumps({**letter, "payload": text})
