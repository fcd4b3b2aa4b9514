from __future__ import annotations

import logging
from pathlib import Path

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
