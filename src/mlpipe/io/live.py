"""dvclive at the edge: the files ``dvc exp show``, ``dvc plots`` and the VS Code DVC extension read.

Each stage logs to its own folder under ``paths.live``, declared in ``dvc.yaml`` as that stage's
metrics and plots. dvclive is told to write no ``dvc.yaml`` of its own (ours declares everything)
and to save no experiment (``dvc exp run`` does that); it never reaches a network service unless
a DVC Studio token is configured.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

TRAIN, EVALUATE = "train", "evaluate"  # the stages' folders under paths.live


@contextmanager
def live(root: str | Path, stage: str) -> Iterator[Any]:
    from dvclive.live import Live  # noqa: PLC0415 - imports dvc: only where a stage logs
    from scmrepo.exceptions import SCMError  # noqa: PLC0415

    class _Live(Live):
        def _init_dvc(self) -> None:
            try:
                super()._init_dvc()
            except SCMError:  # dvclive 3.49 asks an empty git repository for its HEAD before checking
                self._dvc_repo = None  # there is no commit to attach the run to: log to files only

    with _Live(dir=str(Path(root) / stage), dvcyaml=None, save_dvc_exp=False, report=None) as lv:
        yield lv


def log_summary(lv: Any, values: Mapping[str, Any], prefix: str = "") -> None:
    """Nested values as summary metrics (``model/roc_auc``): columns of ``dvc exp show``, no history."""
    for key, value in values.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping):
            log_summary(lv, value, f"{name}/")
        elif value is not None:
            lv.log_metric(name, value, plot=False)
