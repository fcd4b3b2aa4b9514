"""A stage's DVC metrics and plots: the files ``dvc exp show``, ``dvc metrics diff``, ``dvc plots`` and
the VS Code DVC extension read.

Each stage writes its own folder under ``paths.live``, declared in ``dvc.yaml`` as that stage's metrics
and plots, in dvclive's layout: ``metrics.json`` (nested summary values) and one
``plots/metrics/<name>.tsv`` per curve (``step`` and the value). They are plain DVC metrics and plots
files, so they are written here directly: dvclive imports DVC and opens the repository to offer DVC
Studio live updates, 0.4 s in each of ``train`` and ``evaluate`` (a tenth of a cold ``dvc repro``).
Experiments still reach Studio with ``dvc exp push``.
"""

from __future__ import annotations

import shutil
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from mlpipe.io.files import write_json, write_text

TRAIN, EVALUATE = "train", "evaluate"  # the stages' folders under paths.live


def nested(values: Mapping[str, Any]) -> dict[str, Any]:
    """Values as summary metrics, ``None`` left out (``dvc exp show`` lists ``model.roc_auc``)."""
    out: dict[str, Any] = {}
    for key, value in values.items():
        if isinstance(value, Mapping):
            inner = nested(value)
            if inner:
                out[key] = inner
        elif value is not None:
            out[key] = value
    return out


def write_live(
    root: str | Path, stage: str, summary: Mapping[str, Any], curves: Mapping[str, Sequence[float]] | None = None
) -> None:
    """Replace the stage's folder with its summary and curves (one point a step; ``step`` is the
    longest curve's last step, as dvclive records it; a curve with no point is left out). Nothing else
    is kept: the folder is the stage's own output."""
    if "step" in summary:
        raise ValueError("'step' is the curves' last step: a summary value cannot be named so")
    folder = Path(root) / stage
    shutil.rmtree(folder, ignore_errors=True)
    metrics = nested(summary)
    steps = 0
    for name, points in (curves or {}).items():
        if not points:
            continue
        rows = "".join(f"{step}\t{value}\n" for step, value in enumerate(points))
        write_text(folder / "plots" / "metrics" / f"{name}.tsv", f"step\t{name}\n{rows}")
        steps = max(steps, len(points))
    if steps:
        metrics["step"] = steps - 1
    write_json(folder / "metrics.json", metrics, indent=4)  # dvclive's indent
