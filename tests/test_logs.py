from __future__ import annotations

import json
import logging

import pytest

from mlpipe.logs import setup_logging

pytestmark = pytest.mark.unit


def test_json_logs_when_asked(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("LOG_FORMAT", "json")
    root = logging.getLogger()
    saved = root.handlers[:], root.level
    try:
        setup_logging("INFO")
        logging.getLogger("mlpipe.test").info("trained %s", "model", extra={"fields": {"sha256": "abc"}})
        line = json.loads(capsys.readouterr().err.strip().splitlines()[-1])
    finally:
        root.handlers[:] = saved[0]
        root.setLevel(saved[1])
    assert line["msg"] == "trained model"
    assert line["sha256"] == "abc"
    assert line["level"] == "INFO"
