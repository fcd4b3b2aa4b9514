"""The paths declared once under ``vars`` in ``dvc.yaml``, for tasks that run outside ``dvc repro``."""

from __future__ import annotations

from pathlib import Path

from mlpipe.errors import ConfigError
from mlpipe.io.files import load_yaml


def pipeline_paths(dvc_yaml: str | Path = "dvc.yaml") -> dict[str, str]:
    doc = load_yaml(dvc_yaml) or {}
    for entry in doc.get("vars", []):
        if isinstance(entry, dict) and isinstance(entry.get("paths"), dict):
            return {str(k): str(v) for k, v in entry["paths"].items()}
    raise ConfigError(f"{dvc_yaml}: no 'paths' mapping under 'vars'")
