"""The prediction log: every prediction the service or batch scoring makes, append-only.

Format (documented in the README, read back by :func:`read_prediction_log`): a directory of
JSON-lines files ``predictions-<UTC time>-<pid>-<n>.jsonl``. Each line is one scoring call (a
request, a micro-batch of requests, or a chunk of a batch file), stored by column so logging a
50,000-row chunk costs a fraction of scoring it::

    {"ts": "2026-11-23T21:40:00.123456Z", "source": "api" | "batch", "role": "champion",
     "model_version": "2af99940de46", "model_sha256": "...", "data_sha256": "...",
     "rows": 3, "request_ids": ["..", "..", ".."], "ids": [..] | null,
     "features": {"AGEP": [..], ...}, "probability": [..], "prediction": [..]}

Batch scoring writes ``"request_ids": null`` and ``"batch": {"run": "<uuid>", "offset": n}``
instead (row ``offset + i`` of that run). Each process writes its own file (pid in the name),
so several workers never interleave lines; a file is closed and a new one started at
``max_bytes``; with ``keep_files`` set, the oldest files beyond that count are deleted.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

import numpy as np
import orjson
import pandas as pd

from mlpipe.errors import DataError

log = logging.getLogger(__name__)
_OPTS = orjson.OPT_SERIALIZE_NUMPY | orjson.OPT_APPEND_NEWLINE


def utc_now() -> str:
    return datetime.now(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


class PredictionLog:
    """Thread-safe appender; one line per scoring call, flushed as it is written."""

    def __init__(self, directory: str | Path, max_bytes: int, keep_files: int | None = None) -> None:
        self.dir = Path(directory)
        self.max_bytes = max_bytes
        self.keep_files = keep_files
        self._lock = threading.Lock()
        self._fh: IO[bytes] | None = None
        self._seq = 0
        self.dir.mkdir(parents=True, exist_ok=True)

    def write(self, event: Mapping[str, Any]) -> None:
        line = orjson.dumps(event, option=_OPTS, default=_default)
        with self._lock:
            fh = self._fh if self._fh is not None and self._fh.tell() < self.max_bytes else self._rotate()
            fh.write(line)
            fh.flush()

    def _rotate(self) -> IO[bytes]:
        if self._fh is not None:
            self._fh.close()
        self._seq += 1
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
        path = self.dir / f"predictions-{stamp}-{os.getpid()}-{self._seq}.jsonl"
        self._fh = path.open("ab")
        log.info("prediction log: writing %s", path)
        if self.keep_files is not None:
            for old in log_files(self.dir)[: -self.keep_files]:
                old.unlink(missing_ok=True)
        return self._fh

    def close(self) -> None:
        with self._lock:
            if self._fh is not None:
                self._fh.close()
                self._fh = None


def _default(o: Any) -> Any:
    """orjson writes C-contiguous numeric arrays natively; column views and objects come here."""
    if isinstance(o, np.ndarray):
        return o.tolist() if o.dtype.kind in "OUSM" else np.ascontiguousarray(o)
    if isinstance(o, np.generic):
        return o.item()
    if isinstance(o, pd.Series | pd.Index):
        return o.to_numpy()
    raise TypeError(f"cannot log a {type(o).__name__}")


def log_files(directory: str | Path) -> list[Path]:
    """Oldest first (the name starts with the UTC time the file was opened)."""
    return sorted(Path(directory).glob("predictions-*.jsonl"))


def iter_events(directory: str | Path) -> Iterator[dict[str, Any]]:
    for path in log_files(directory):
        with path.open("rb") as fh:
            for n, line in enumerate(fh, 1):
                if not line.endswith(b"\n"):
                    log.warning("%s:%d: skipping a partly written last line", path, n)
                    continue
                try:
                    yield orjson.loads(line)
                except orjson.JSONDecodeError as err:
                    raise DataError(f"{path}:{n}: not a prediction-log line ({err})") from None


def read_prediction_log(directory: str | Path) -> pd.DataFrame:
    """One row per prediction: ts, source, role, model_version, request_id, id, features, probability, prediction."""
    frames = []
    for ev in iter_events(directory):
        n = ev["rows"]
        rids = ev.get("request_ids")
        if rids is None:
            batch = ev["batch"]
            rids = [f"{batch['run']}:{batch['offset'] + i}" for i in range(n)]
        cols: dict[str, Any] = {
            "ts": [ev["ts"]] * n,
            "source": [ev["source"]] * n,
            "role": [ev.get("role", "champion")] * n,
            "model_version": [ev["model_version"]] * n,
            "request_id": rids,
            "id": ev.get("ids") or [None] * n,
            **ev["features"],
            "probability": ev["probability"],
            "prediction": ev["prediction"],
        }
        frames.append(pd.DataFrame(cols))
    if not frames:
        return pd.DataFrame()
    return pd.concat(frames, ignore_index=True)
