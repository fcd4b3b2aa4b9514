"""The stages' DVC metrics and plots files, in the layout ``dvc exp show`` and ``dvc plots`` read."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from mlpipe.io.live import write_live

pytestmark = pytest.mark.unit


def test_summary_is_nested_without_nones_and_each_curve_is_a_step_table(tmp_path: Path) -> None:
    summary = {"model": {"roc_auc": np.float64(0.9), "f1": None}, "gaps": {"a": None}, "verdict": {"passed": "pass"}}
    write_live(tmp_path, "train", summary, {"loss": [0.6, 0.5, 0.25]})
    metrics = json.loads((tmp_path / "train" / "metrics.json").read_text())
    assert metrics == {"model": {"roc_auc": 0.9}, "verdict": {"passed": "pass"}, "step": 2}
    tsv = (tmp_path / "train" / "plots" / "metrics" / "loss.tsv").read_text()
    assert tsv == "step\tloss\n0\t0.6\n1\t0.5\n2\t0.25\n"


def test_a_rerun_leaves_nothing_of_the_last_one(tmp_path: Path) -> None:
    write_live(tmp_path, "evaluate", {"a": 1}, {"old_curve": [1.0]})
    write_live(tmp_path, "evaluate", {"b": 2})
    folder = tmp_path / "evaluate"
    assert sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file()) == ["metrics.json"]
    assert json.loads((folder / "metrics.json").read_text()) == {"b": 2}


def test_step_is_the_longest_curves_last_and_an_empty_curve_is_left_out(tmp_path: Path) -> None:
    write_live(tmp_path, "train", {"a": 1}, {"short": [1.0, 2.0], "long": [1.0, 2.0, 3.0, 4.0], "none": []})
    folder = tmp_path / "train"
    assert json.loads((folder / "metrics.json").read_text()) == {"a": 1, "step": 3}
    assert sorted(p.name for p in (folder / "plots" / "metrics").iterdir()) == ["long.tsv", "short.tsv"]
    write_live(tmp_path, "train", {"a": 1}, {"none": []})
    assert json.loads((folder / "metrics.json").read_text()) == {"a": 1}
    with pytest.raises(ValueError, match="'step'"):
        write_live(tmp_path, "train", {"step": 5})
