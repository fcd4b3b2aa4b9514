"""The paths declared once under ``vars`` in ``dvc.yaml``, for tasks that run outside ``dvc repro``."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from mlpipe.errors import ConfigError
from mlpipe.io.files import load_yaml


def pipeline_paths(dvc_yaml: str | Path = "dvc.yaml") -> dict[str, str]:
    doc = load_yaml(dvc_yaml) or {}
    for entry in doc.get("vars", []):
        if isinstance(entry, dict) and isinstance(entry.get("paths"), dict):
            return {str(k): str(v) for k, v in entry["paths"].items()}
    raise ConfigError(f"{dvc_yaml}: no 'paths' mapping under 'vars'")


def child_env(repo: Path) -> dict[str, str]:
    """Environment for running the pipeline's commands in another checkout (a copy, a temp repo).

    This interpreter's bin first (so ``python`` and ``dvc`` are ours), that checkout's ``src``
    imported instead of this one's, telemetry off.
    """
    return {
        **os.environ,
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
        "PYTHONPATH": str(repo / "src"),
        "DVC_NO_ANALYTICS": "1",
        "GX_ANALYTICS_ENABLED": "false",
    }
