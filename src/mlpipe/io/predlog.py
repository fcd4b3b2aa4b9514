"""The prediction log: every prediction the service or batch scoring makes, append-only.

Format (documented in docs/serving.md, read back by :func:`read_prediction_log`): a directory of
JSON-lines files ``predictions-<UTC time>-<pid>-<n>.jsonl``. Each line is one scoring call (a
request, a micro-batch of requests, or a chunk of a batch file), stored by column so logging a
50,000-row chunk costs a fraction of scoring it::

    {"ts": "2026-11-23T21:40:00.123456Z", "source": "api" | "batch", "role": "champion",
     "model_version": "2af99940de46", "model_sha256": "...", "data_sha256": "...",
     "rows": 3, "request_ids": ["..", "..", ".."], "ids": [..] | null,
     "features": {"AGEP": [..], ...}, "probability": [..], "prediction": [..]}

The service adds ``"client_gone": [false, true, ..]`` to a line when a client had disconnected
before its answer was sent (its row is still a prediction made; read back as the ``client_gone``
column, false elsewhere). Batch scoring writes ``"request_ids": null`` and ``"batch": {"run": "<uuid>", "offset": n}``
instead (row ``offset + i`` of that run). Each process writes its own file (pid in the name),
so several workers never interleave lines; a file is closed and a new one started at
``max_bytes``; with ``keep_files`` set, the oldest files beyond that count are deleted.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections import deque
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from math import inf
from pathlib import Path
from typing import IO, Any

import numpy as np
import orjson
import pandas as pd

from mlpipe.errors import DataError

log = logging.getLogger(__name__)
_OPTS = orjson.OPT_SERIALIZE_NUMPY | orjson.OPT_APPEND_NEWLINE
MAX_PENDING_ROWS = 100_000  # rows kept in memory while the disk refuses them (about 100 MB at most)
REPORT_EVERY_S = 60.0  # a failing log says so once a minute, with a count, not on every request
_SCALAR_KEYS = frozenset({"ts", "source", "role", "model_version", "model_sha256", "data_sha256", "rows"})


def utc_now() -> str:
    return datetime.now(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


class PredictionLog:
    """Thread-safe appender; one line per scoring call, written whole or not at all.

    Writing never raises, so answering never depends on the log. A line that cannot be written
    (directory missing or unwritable, rotation failing, disk full) waits in a bounded in-memory
    queue, in order, and is written by the next write or :meth:`flush` once the disk takes it
    again; only beyond ``max_pending_rows`` are the oldest waiting lines dropped, and counted.
    A failed write is cut back off the file, so no torn line is ever left between good ones.
    """

    def __init__(
        self,
        directory: str | Path,
        max_bytes: int,
        keep_files: int | None = None,
        max_pending_rows: int = MAX_PENDING_ROWS,
    ) -> None:
        self.dir = Path(directory)
        self.max_bytes = max_bytes
        self.keep_files = keep_files
        self.max_pending_rows = max_pending_rows
        self._lock = threading.Lock()
        self._fh: IO[bytes] | None = None
        self._seq = 0
        self._pending: deque[tuple[bytes, int]] = deque()
        self.pending_rows = 0  # waiting for the disk
        self.written_rows = 0
        self.dropped_rows = 0  # lost: the queue was full
        self.errors = 0  # failed attempts to write
        self._failing = False
        self._last_report = -inf
        self._unreported = 0
        try:
            self.dir.mkdir(parents=True, exist_ok=True)
        except OSError as err:  # the service starts anyway; rows wait until the directory can be made
            self._failed(err)

    def write(self, event: Mapping[str, Any]) -> None:
        """Queue one scoring call's line (or, if one value cannot be serialised, a line per row) and flush."""
        lines = _lines(event)
        with self._lock:
            for line, rows in lines:
                self._pending.append((line, rows))
                self.pending_rows += rows
            while self.pending_rows > self.max_pending_rows and len(self._pending) > 1:
                _, rows = self._pending.popleft()
                self.pending_rows -= rows
                self.dropped_rows += rows
            self._flush()

    def flush(self) -> None:
        """Write what waits for the disk (the service calls it every second while rows wait)."""
        with self._lock:
            self._flush()

    def _flush(self) -> None:
        while self._pending:
            line, rows = self._pending[0]
            try:
                self._append(line)
            except OSError as err:
                self._failed(err)
                return
            self._pending.popleft()
            self.pending_rows -= rows
            self.written_rows += rows
        if self._failing:
            log.warning("prediction log: writing again to %s (%d rows dropped so far)", self.dir, self.dropped_rows)
            self._failing, self._last_report, self._unreported = False, -inf, 0

    def _append(self, line: bytes) -> None:
        fh = self._fh if self._fh is not None and self._fh.tell() < self.max_bytes else self._rotate()
        start = fh.tell()
        try:
            view = memoryview(line)
            while view:  # an unbuffered file may take part of it
                n = fh.write(view)
                view = view[n or 0 :]
        except OSError:
            try:  # cut the torn line off; failing that, never append to this file again
                fh.truncate(start)
                fh.seek(start)
            except OSError:
                self._close()
            raise

    def _rotate(self) -> IO[bytes]:
        self._close()  # a failed rotation leaves no closed file behind: the next write opens one
        self._seq += 1
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
        path = self.dir / f"predictions-{stamp}-{os.getpid()}-{self._seq}.jsonl"
        self.dir.mkdir(parents=True, exist_ok=True)
        self._fh = self._open(path)
        log.info("prediction log: writing %s", path)
        if self.keep_files is not None:
            for old in prunable(log_files(self.dir), self.keep_files):
                old.unlink(missing_ok=True)
        return self._fh

    def _open(self, path: Path) -> IO[bytes]:
        """Unbuffered: a line is on disk when write returns, and a failed one is not left in a buffer."""
        return path.open("ab", buffering=0)

    def _close(self) -> None:
        fh, self._fh = self._fh, None
        if fh is not None:
            try:
                fh.close()
            except OSError as err:
                log.warning("prediction log: closing a file failed: %s", err)

    def _failed(self, err: OSError) -> None:
        """Count every failure; say so at most every REPORT_EVERY_S seconds, not once per request."""
        self.errors += 1
        self._failing = True
        now = time.monotonic()
        if now - self._last_report < REPORT_EVERY_S:
            self._unreported += 1
            return
        log.error(
            "prediction log: cannot write to %s: %s; %d rows wait in memory (at most %d), %d dropped, "
            "%d more failures since the last report",
            self.dir,
            err,
            self.pending_rows,
            self.max_pending_rows,
            self.dropped_rows,
            self._unreported,
        )
        self._last_report, self._unreported = now, 0

    def close(self) -> None:
        with self._lock:
            self._flush()
            if self.pending_rows:
                log.error("prediction log: %d rows could not be written before shutdown", self.pending_rows)
            self._close()


def _lines(event: Mapping[str, Any]) -> list[tuple[bytes, int]]:
    """One line for the call; if a value cannot be serialised, one line per row so it takes no other row
    with it, and that row's unserialisable values written as text."""
    rows = int(event.get("rows", 1))
    try:
        return [(orjson.dumps(event, option=_OPTS, default=_default), rows)]
    except (TypeError, orjson.JSONEncodeError):
        if rows <= 1:
            return [(orjson.dumps(_text(event), option=_OPTS, default=_default), rows)]
    log.warning("prediction log: a value of a %d-row call cannot be serialised; writing it row by row", rows)
    out = []
    for i in range(rows):
        one = _row(event, i, rows)
        try:
            out.append((orjson.dumps(one, option=_OPTS, default=_default), 1))
        except (TypeError, orjson.JSONEncodeError):
            out.append((orjson.dumps(_text(one), option=_OPTS, default=_default), 1))
    return out


def encode(event: Mapping[str, Any]) -> bytes:
    """A scoring call's line(s), as :meth:`PredictionLog.write` would append them (for staged logs)."""
    return b"".join(line for line, _ in _lines(event))


def adopt(staged: list[Path], directory: str | Path, job: str) -> list[Path]:
    """Move staged log files (complete, on the same filesystem) into the log under fresh names, in order.

    A distributed job stages one file per partition and adopts them only once every partition is
    done, so a failed or retried partition never leaves rows in the log twice.
    """
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
    out = []
    for n, path in enumerate(staged, 1):
        dst = Path(directory) / f"predictions-{stamp}-{os.getpid()}-{job[:8]}{n:06d}.jsonl"
        path.replace(dst)
        out.append(dst)
    return out


def _row(event: Mapping[str, Any], i: int, rows: int) -> dict[str, Any]:
    """Row ``i`` of a columnar event, as a 1-row event (batch events get their offset moved)."""

    def pick(v: Any) -> Any:
        if isinstance(v, Mapping):
            return {k: pick(x) for k, x in v.items()}
        if isinstance(v, list | tuple | np.ndarray | pd.Series) and len(v) == rows:
            return [v.iloc[i] if isinstance(v, pd.Series) else v[i]]
        return v

    out = {k: v if k in _SCALAR_KEYS else pick(v) for k, v in event.items()}
    out["rows"] = 1
    if isinstance(event.get("batch"), Mapping):
        out["batch"] = {**event["batch"], "offset": event["batch"]["offset"] + i}
    return out


def _text(o: Any) -> Any:
    """What orjson cannot write (ints beyond 64 bits, lone surrogates, unknown objects) as text."""
    if isinstance(o, Mapping):
        return {_text(k) if isinstance(k, str) else str(k): _text(v) for k, v in o.items()}
    if isinstance(o, list | tuple | np.ndarray | pd.Series | pd.Index):
        return [_text(x) for x in (o.tolist() if hasattr(o, "tolist") else o)]
    o = o.item() if isinstance(o, np.generic) else o
    if isinstance(o, str):
        return o.encode("utf-8", "backslashreplace").decode()
    if isinstance(o, int) and not isinstance(o, bool) and not -(2**63) <= o < 2**64:
        return str(o)
    return o if o is None or isinstance(o, bool | int | float) else repr(o)


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


def prunable(files: list[Path], keep: int) -> list[Path]:
    """The oldest files beyond ``keep``, never the newest file of a process still running: with
    several workers the others may be writing theirs (an unlinked open file would swallow their
    rows). Files of processes that have exited are pruned like any other."""
    newest: dict[str, Path] = {}
    for f in files:  # oldest first: the last one seen per pid is its newest
        newest[f.name.split("-")[2]] = f
    writing = {f for pid, f in newest.items() if pid.isdigit() and process_running(int(pid))}
    excess = len(files) - keep
    return [f for f in files if f not in writing][: max(excess, 0)]


def process_running(pid: int) -> bool:
    """This process, or another one that has not exited (another user's counts as running)."""
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def iter_events(directory: str | Path) -> Iterator[dict[str, Any]]:
    for path in log_files(directory):
        yield from file_events(path)


def file_events(path: Path) -> Iterator[dict[str, Any]]:
    with path.open("rb") as fh:
        for n, line in enumerate(fh, 1):
            if not line.endswith(b"\n"):
                log.warning("%s:%d: skipping a partly written last line", path, n)
                continue
            try:
                event = orjson.loads(line)
            except orjson.JSONDecodeError as err:
                raise DataError(f"{path}:{n}: not a prediction-log line ({err})") from None
            wrong = event_problem(event)
            if wrong:
                raise DataError(f"{path}:{n}: not a prediction-log line ({wrong})")
            yield event


EVENT_KEYS = ("ts", "source", "model_version", "rows", "features", "probability", "prediction")


def event_problem(event: Any) -> str | None:
    """What keeps a parsed line from being read as one (a file edited by hand, another tool's JSON)."""
    if not isinstance(event, dict):
        return f"a JSON {type(event).__name__}, not an object"
    missing = [k for k in EVENT_KEYS if k not in event]
    if "request_ids" not in event and "batch" not in event:
        missing.append("request_ids or batch")
    if missing:
        return f"no {', '.join(missing)}"
    n = event["rows"]
    if not isinstance(n, int) or isinstance(n, bool) or n < 0:
        return f"rows is {n!r}, not a count"
    if not isinstance(event["features"], dict):
        return "features is not an object"
    columns = {"probability": event["probability"], "prediction": event["prediction"], **event["features"]}
    uneven = [k for k, v in columns.items() if not isinstance(v, list) or len(v) != n]
    return f"{', '.join(uneven[:5])}: not a list of {n} values (rows)" if uneven else None


def read_prediction_log(directory: str | Path) -> pd.DataFrame:
    """One row per prediction: ts, source, role, model_version, request_id, client_gone, id, features,
    probability, prediction."""
    return events_frame(iter_events(directory))


def read_log_file(path: str | Path) -> pd.DataFrame:
    """One file of the log, as :func:`read_prediction_log` reads it (a partition of a monitoring window)."""
    return events_frame(file_events(Path(path)))


def events_frame(events: Iterator[dict[str, Any]]) -> pd.DataFrame:
    frames = []
    for ev in events:
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
            "client_gone": ev.get("client_gone") or [False] * n,
            "id": ev.get("ids") or [None] * n,
            **ev["features"],
            "probability": ev["probability"],
            "prediction": ev["prediction"],
        }
        frames.append(pd.DataFrame(cols))
    if not frames:
        return pd.DataFrame()
    return pd.concat(frames, ignore_index=True)
