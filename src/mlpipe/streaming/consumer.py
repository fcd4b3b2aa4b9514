"""The broker-independent part of the consumer: a batch of payloads in, predictions and dead letters out.

Scoring is the service's (``Scorer``, its fast path, the same frame); every published prediction gets
one prediction-log row (source ``stream``, the event key as its request id), so ``make monitor``
covers streamed traffic unchanged.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import numpy as np
import orjson

from mlpipe.io.predlog import PredictionLog, utc_now
from mlpipe.serving.scorer import Scorer, records_frame
from mlpipe.streaming.events import Bad, Checker, Good, Message

log = logging.getLogger(__name__)


@dataclass
class Scored:
    """One batch's results: ``outputs`` are ``(key, body)`` to publish, ``dead`` the events refused, in
    arrival order; ``predictions`` the classes of ``good``."""

    outputs: list[tuple[str, bytes]] = field(default_factory=list)
    dead: list[Bad] = field(default_factory=list)
    good: list[Good] = field(default_factory=list)
    frame: Any = None
    proba: np.ndarray | None = None
    predictions: list[Any] = field(default_factory=list)


class BatchScorer:
    def __init__(self, scorer: Scorer, checker: Checker, plog: PredictionLog | None) -> None:
        self.scorer, self.checker, self.plog = scorer, checker, plog

    def score(self, messages: list[Message]) -> Scored:
        """``messages``: as the broker delivered them."""
        out = Scored()
        for payload, key in messages:
            checked = self.checker.check(payload, key)
            if isinstance(checked, Bad):
                out.dead.append(checked)
            else:
                out.good.append(checked)
        if not out.good:
            return out
        s = self.scorer
        out.frame = records_frame([g.row for g in out.good], self.checker.columns, s.contract)
        out.proba = s.proba(out.frame)
        out.predictions = preds = s.predictions(out.proba).tolist()
        at = self.checker.columns.index(s.contract.id)
        now = utc_now()
        for g, p, y in zip(out.good, out.proba.tolist(), preds, strict=True):
            body = {"event_id": g.key, "id": g.row[at], "model_version": s.version, "probability": p,
                    "prediction": y, "event_time": g.event_time, "scored_at": now}  # fmt: skip
            out.outputs.append((g.key, orjson.dumps(body, option=orjson.OPT_SERIALIZE_NUMPY)))
        return out

    def log_published(self, scored: Scored, fresh: list[bool]) -> int:
        """One log row per prediction the broker took as new (a redelivered event's duplicate is not a
        second prediction anyone received). Returns the rows logged."""
        if self.plog is None or scored.proba is None or not any(fresh):
            return 0
        frame, proba, keys = scored.frame, scored.proba, [g.key for g in scored.good]
        if not all(fresh):  # copies: only when a redelivered batch had some published already
            keep = np.asarray(fresh)
            frame, proba = frame[keep].reset_index(drop=True), proba[keep]
            keys = [k for k, f in zip(keys, fresh, strict=True) if f]
        self.plog.write(self.scorer.event(frame, proba, "stream", request_ids=keys))
        return len(keys)


def lag_seconds(event_time: str | None, now: float | None = None) -> float | None:
    """Seconds from the event's own time to now (None without one, or with a time zone-less one)."""
    if event_time is None:
        return None
    when = datetime.fromisoformat(event_time)
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return (now if now is not None else time.time()) - when.timestamp()
