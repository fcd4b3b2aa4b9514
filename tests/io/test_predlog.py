from __future__ import annotations

import errno
import io
import logging
import os
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any, cast

import numpy as np
import pytest

from mlpipe.errors import DataError
from mlpipe.io.predlog import PredictionLog, log_files, read_prediction_log

pytestmark = pytest.mark.unit


def event(n: int, start: int) -> dict[str, object]:
    base = {"ts": "2026-01-01T00:00:00Z", "source": "api", "model_version": "abc", "rows": n}
    return {
        **base,
        "request_ids": [f"r{start + i}" for i in range(n)],
        "ids": list(range(start, start + n)),
        "features": {"age": np.arange(start, start + n)[::1], "sex": np.ones((n, 2), dtype=np.int64)[:, 0]},
        "probability": np.linspace(0, 1, n),
        "prediction": np.array([0, 1] * (n // 2) + [0] * (n % 2)),
    }


def test_rotates_keeps_order_and_reads_back_every_prediction(tmp_path: Path) -> None:
    log = PredictionLog(tmp_path, max_bytes=1_000)
    for k in range(20):
        log.write(event(5, 5 * k))
    log.close()
    assert len(log_files(tmp_path)) > 3
    df = read_prediction_log(tmp_path)
    assert df["request_id"].tolist() == [f"r{i}" for i in range(100)]
    assert df["age"].tolist() == list(range(100))
    assert set(df["sex"]) == {1}


def test_keep_files_deletes_the_oldest(tmp_path: Path) -> None:
    log = PredictionLog(tmp_path, max_bytes=1_000, keep_files=2)
    for k in range(20):
        log.write(event(5, 5 * k))
    log.close()
    assert len(log_files(tmp_path)) == 2
    assert read_prediction_log(tmp_path)["request_id"].iloc[-1] == "r99"


def test_keep_files_never_deletes_another_writers_open_file(tmp_path: Path) -> None:
    other = tmp_path / f"predictions-20260101T000000000000Z-{os.getppid()}-1.jsonl"  # a running process's
    other.write_bytes(b"")
    log = PredictionLog(tmp_path, max_bytes=1_000, keep_files=2)
    for k in range(20):
        log.write(event(5, 5 * k))
    log.close()
    assert other.exists()
    assert len(log_files(tmp_path)) == 2


def test_keep_files_prunes_files_of_processes_that_have_exited(tmp_path: Path) -> None:
    dead = [tmp_path / f"predictions-2026010{i}T000000000000Z-{_exited_pid()}-1.jsonl" for i in range(1, 4)]
    for f in dead:
        f.write_bytes(b"")
    log = PredictionLog(tmp_path, max_bytes=1_000, keep_files=2)
    for k in range(5):
        log.write(event(5, 5 * k))
    log.close()
    assert not any(f.exists() for f in dead)
    assert len(log_files(tmp_path)) == 2


def _exited_pid() -> int:
    proc = subprocess.Popen(["true"])
    proc.wait()
    return proc.pid


def test_batch_events_get_row_ids_and_a_torn_last_line_is_skipped(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    log = PredictionLog(tmp_path, max_bytes=10_000_000)
    log.write({**event(3, 0), "request_ids": None, "batch": {"run": "run1", "offset": 10}})
    log.close()
    with log_files(tmp_path)[0].open("ab") as fh:
        fh.write(b'{"ts": "2026-')  # a crash mid-write
    with caplog.at_level(logging.WARNING):
        df = read_prediction_log(tmp_path)
    assert df["request_id"].tolist() == ["run1:10", "run1:11", "run1:12"]
    assert "partly written" in caplog.text


def test_a_garbled_line_names_file_and_line(tmp_path: Path) -> None:
    (tmp_path / "predictions-20260101T000000000000Z-1-1.jsonl").write_bytes(b"not json\n")
    with pytest.raises(DataError, match=r"predictions-.*\.jsonl:1: not a prediction-log line"):
        read_prediction_log(tmp_path)


@pytest.mark.parametrize(
    ("line", "says"),
    [
        (b'{"ts": 1}', "no source, model_version, rows, features, probability, prediction, request_ids or batch"),
        (b"[1, 2]", "a JSON list, not an object"),
        (
            b'{"ts": 1, "source": "api", "model_version": "a", "rows": 2, "request_ids": ["x", "y"],'
            b' "features": {"age": [1]}, "probability": [0.1, 0.2], "prediction": [0, 0]}',
            r"age: not a list of 2 values",
        ),
        (
            b'{"ts": 1, "source": "api", "model_version": "a", "rows": "2", "request_ids": [],'
            b' "features": {}, "probability": [], "prediction": []}',
            "rows is '2', not a count",
        ),
    ],
)
def test_a_line_that_is_json_but_not_a_prediction_names_file_line_and_what_lacks(
    tmp_path: Path, line: bytes, says: str
) -> None:
    """A file edited by hand or written by another tool: one line naming it, not a KeyError."""
    log = PredictionLog(tmp_path, max_bytes=10_000_000)
    log.write(event(2, 0))
    log.close()
    with log_files(tmp_path)[0].open("ab") as fh:
        fh.write(line + b"\n")
    with pytest.raises(DataError, match=rf"predictions-.*\.jsonl:2: not a prediction-log line \({says}"):
        read_prediction_log(tmp_path)


class Disk:
    """A stand-in disk: when ``full``, a write puts part of the line down, then fails with ENOSPC."""

    def __init__(self) -> None:
        self.full = False

    def opener(self, real: Callable[[Path], IO[bytes]]) -> Callable[[Path], IO[bytes]]:
        disk = self

        class Flaky(io.RawIOBase):
            def __init__(self, path: Path) -> None:
                self.fh = real(path)

            def write(self, data: Any) -> int:
                if disk.full:
                    self.fh.write(bytes(data)[: len(data) // 2])
                    raise OSError(errno.ENOSPC, "No space left on device")
                return self.fh.write(data) or 0

            def tell(self) -> int:
                return self.fh.tell()

            def seek(self, pos: int, whence: int = 0) -> int:
                return self.fh.seek(pos, whence)

            def truncate(self, size: int | None = None) -> int:
                return self.fh.truncate(size)

            def close(self) -> None:
                self.fh.close()

        return lambda path: cast(IO[bytes], Flaky(path))


def full_disk_log(tmp_path: Path, **kw: Any) -> tuple[PredictionLog, Disk]:
    log, disk = PredictionLog(tmp_path, max_bytes=10_000_000, **kw), Disk()
    log._open = disk.opener(log._open)  # type: ignore[method-assign,assignment]
    return log, disk


def test_a_full_disk_leaves_no_torn_line_and_the_rows_wait_until_it_recovers(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    log, disk = full_disk_log(tmp_path)
    log.write(event(5, 0))
    disk.full = True
    # The whole test at WARNING: another test in this worker may have left the root logger at ERROR.
    with caplog.at_level(logging.WARNING):
        for k in range(1, 41):
            log.write(event(5, 5 * k))  # never raises: answering does not depend on the log
        assert (log.errors, log.pending_rows, log.dropped_rows) == (40, 200, 0)
        assert len([r for r in caplog.records if r.levelno == logging.ERROR]) == 1  # rate-limited, not per write
        lines = log_files(tmp_path)[0].read_bytes().splitlines(keepends=True)
        assert len(lines) == 1
        assert lines[0].endswith(b"\n")
        disk.full = False
        log.flush()  # what the service's retry task calls every second
    assert (log.pending_rows, log.written_rows) == (0, 205)
    assert "writing again" in caplog.text
    log.close()
    assert read_prediction_log(tmp_path)["request_id"].tolist() == [f"r{i}" for i in range(205)]


def test_beyond_the_bound_the_oldest_waiting_rows_are_dropped_and_counted(tmp_path: Path) -> None:
    log, disk = full_disk_log(tmp_path, max_pending_rows=10)
    disk.full = True
    for k in range(5):
        log.write(event(5, 5 * k))
    assert (log.pending_rows, log.dropped_rows) == (10, 15)
    disk.full = False
    log.close()
    assert read_prediction_log(tmp_path)["request_id"].tolist() == [f"r{i}" for i in range(15, 25)]


def test_a_directory_that_cannot_be_made_does_not_stop_the_log(tmp_path: Path) -> None:
    blocker = tmp_path / "logs"
    blocker.write_text("a file where the directory should be")
    log = PredictionLog(blocker / "predictions", max_bytes=1_000)  # does not raise
    log.write(event(5, 0))
    assert log.errors >= 1
    assert log.pending_rows == 5
    blocker.unlink()  # the operator fixes it; the service is not restarted
    log.write(event(5, 5))
    log.close()
    assert read_prediction_log(blocker / "predictions")["request_id"].tolist() == [f"r{i}" for i in range(10)]


def test_a_failed_rotation_does_not_leave_the_log_closed(tmp_path: Path) -> None:
    log = PredictionLog(tmp_path, max_bytes=1_000)
    real, calls = log._open, []

    def open_once_failing(path: Path) -> IO[bytes]:
        calls.append(path)
        if len(calls) == 2:
            raise OSError(errno.EMFILE, "Too many open files")
        return real(path)

    log._open = open_once_failing  # type: ignore[method-assign]
    for k in range(20):
        log.write(event(5, 5 * k))
    log.close()
    assert log.errors == 1
    assert len(calls) > 3
    assert read_prediction_log(tmp_path)["request_id"].tolist() == [f"r{i}" for i in range(100)]


def test_one_value_that_cannot_be_written_takes_no_other_row_with_it(tmp_path: Path) -> None:
    ev = event(4, 0)
    ev["ids"] = [0, 2**64, 2, 3]  # beyond what orjson writes
    features = cast(dict[str, Any], ev["features"])
    features["name"] = np.array(["a", "b", "\ud800", "d"], dtype=object)  # a lone surrogate
    log = PredictionLog(tmp_path, max_bytes=10_000)
    log.write(ev)
    log.close()
    df = read_prediction_log(tmp_path)
    assert df["request_id"].tolist() == ["r0", "r1", "r2", "r3"]
    assert df["id"].tolist() == [0, str(2**64), 2, 3]
    assert df["name"].tolist() == ["a", "b", "\\ud800", "d"]
    assert df["probability"].tolist() == pytest.approx(np.linspace(0, 1, 4).tolist())


def test_staged_files_are_adopted_in_order_and_read_back_per_file(tmp_path: Path) -> None:
    """A distributed job's log: lines encoded as the log writes them, staged, then adopted under log names."""
    from mlpipe.io.predlog import adopt, encode, read_log_file

    staged = []
    for part in range(2):
        event = {"ts": "2026-01-01T00:00:00Z", "source": "batch", "model_version": "v", "rows": 2, "ids": [1, 2],
                 "request_ids": None, "batch": {"run": f"job-{part}", "offset": 0}, "features": {"a": [1, 2]},
                 "probability": [0.1, 0.9], "prediction": [0, 1]}  # fmt: skip
        staged.append(tmp_path / "stage" / f"part-{part}.jsonl")
        staged[-1].parent.mkdir(exist_ok=True)
        staged[-1].write_bytes(encode(event))
    adopted = adopt(staged, tmp_path, "0123456789abcdef")
    assert log_files(tmp_path) == adopted
    assert not any(p.exists() for p in staged)
    assert all(p.name.split("-")[2] == str(os.getpid()) for p in adopted)  # pruning still knows the writer
    assert read_log_file(adopted[1])["request_id"].tolist() == ["job-1:0", "job-1:1"]
    assert len(read_prediction_log(tmp_path)) == 4
