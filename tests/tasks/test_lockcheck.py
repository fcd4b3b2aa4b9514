from __future__ import annotations

from typing import Any

import pytest

from mlpipe.tasks.lockcheck import orphan_stages, stale_stages

pytestmark = pytest.mark.unit


def test_missing_outputs_on_a_fresh_checkout_are_not_stale() -> None:
    status: dict[str, list[Any]] = {
        "data.dvc": [{"changed outs": {"data": "not in cache"}}],
        "prepare": [
            {"changed deps": {"reports/validation.json": "deleted"}},
            {"changed outs": {"artifacts/train.parquet": "not in cache"}},
        ],
    }
    assert stale_stages(status) == {}


def test_changed_code_params_and_command_are_stale() -> None:
    status: dict[str, list[Any]] = {
        "prepare": [{"changed deps": {"reports/validation.json": "deleted", "src/mlpipe/core/split.py": "modified"}}],
        "train": [{"changed deps": {"params.yaml": {"train": "modified"}}}],
        "evaluate": ["changed command"],
    }
    assert stale_stages(status) == {
        "prepare": ["src/mlpipe/core/split.py modified"],
        "train": ["params params.yaml:train modified"],
        "evaluate": ["changed command"],
    }


def test_a_stage_the_lock_records_but_dvc_yaml_dropped_is_an_orphan() -> None:
    dvc_yaml = {"stages": {"validate": {}, "prepare": {}, "train": {"foreach": [1, 2]}}}
    lock = {"schema": "2.0", "stages": {"validate": {}, "split": {}, "prepare": {}, "train@1": {}, "train@2": {}}}
    assert orphan_stages(dvc_yaml, lock) == ["split"]
    plain = {"stages": {"validate": {}, "prepare": {}, "train": {"cmd": "python -m train"}}}  # foreach no more
    assert orphan_stages(plain, lock) == ["split", "train@1", "train@2"]
    assert orphan_stages(dvc_yaml, {"schema": "2.0"}) == []  # nothing run yet
    assert orphan_stages({}, lock) == list(lock["stages"])
