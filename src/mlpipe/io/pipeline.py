"""The paths declared once under ``vars`` in ``dvc.yaml``, for tasks that run outside ``dvc repro``.

:class:`PipelinePaths` is their one typed shape, so a renamed or misspelt key fails when the file
is read, naming the key, instead of as a ``KeyError`` deep in a task. ``python -m mlpipe.io.pipeline
KEY...`` prints them for the Makefile, which would otherwise write them a second time.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError

from mlpipe.errors import ConfigError
from mlpipe.io.files import load_yaml

DVC_YAML = Path("dvc.yaml")
DVC_LOCK = Path("dvc.lock")  # what DVC records beside a dvc.yaml (also tune/dvc.lock)
SEARCH_YAML = Path("tune/dvc.yaml")  # make tune's pipeline: run on demand, never by `dvc repro`


class PipelinePaths(BaseModel):
    """One field per entry of ``vars: - paths:`` in dvc.yaml; relative to the repository root."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    data: Path
    params: Path
    contract: Path
    validation_json: Path
    validation_md: Path
    train: Path
    test: Path
    split: Path
    model: Path
    baseline: Path
    card: Path
    metrics: Path
    slices: Path
    predictions: Path
    model_card: Path
    plots: Path
    gate_json: Path
    gate_md: Path
    report: Path
    prediction_log: Path
    smoke: Path
    monitor: Path
    live: Path
    tune: Path
    leaderboard_json: Path
    leaderboard_md: Path

    def under(self, root: str | Path) -> PipelinePaths:
        """The same paths joined to ``root``: for code that works on a checkout other than the cwd."""
        return PipelinePaths(**{name: Path(root) / getattr(self, name) for name in type(self).model_fields})

    def get(self, key: str) -> Path:
        """One path by its dvc.yaml key (the CLI's lookup), failing with the known keys."""
        if key not in type(self).model_fields:
            raise ConfigError(f"no path {key!r} in dvc.yaml vars.paths (known: {', '.join(type(self).model_fields)})")
        path: Path = getattr(self, key)
        return path


def parse_paths(raw: Any, source: str = str(DVC_YAML)) -> PipelinePaths:
    """Validate the ``paths`` mapping; a missing or unknown key is named with the file it belongs in."""
    try:
        return PipelinePaths.model_validate(raw)
    except ValidationError as err:
        lines = [f"{source} vars.paths is invalid:"]
        for e in err.errors():
            key = ".".join(str(p) for p in e["loc"]) or "(top level)"
            if e["type"] == "missing":
                lines.append(f"  - {key}: missing (every path the code uses must be declared there)")
            elif e["type"] == "extra_forbidden":
                lines.append(f"  - {key}: unknown key (add it to mlpipe.io.pipeline.PipelinePaths, or remove it)")
            else:
                lines.append(f"  - {key}: {e['msg']}")
        raise ConfigError("\n".join(lines)) from None


def pipeline_paths(dvc_yaml: str | Path = DVC_YAML) -> PipelinePaths:
    doc = load_yaml(dvc_yaml) or {}
    for entry in doc.get("vars", []):
        if isinstance(entry, dict) and isinstance(entry.get("paths"), dict):
            return parse_paths(entry["paths"], str(dvc_yaml))
    raise ConfigError(f"{dvc_yaml}: no 'paths' mapping under 'vars'")


def top_dirs(paths: PipelinePaths, keys: list[str]) -> list[str]:
    """The first component of each key's path, once each: what ``make clean`` removes.

    Refused when one would take an input with it (data, params, contract) or leave the repository,
    so a fork that moves an output next to its data cannot have ``rm -rf`` delete the data.
    """
    inputs = {p.parts[0] for p in (paths.data, paths.params, paths.contract) if p.parts}
    out: list[str] = []
    for key in keys:
        path = paths.get(key)
        if path.is_absolute() or not path.parts or ".." in path.parts:
            raise ConfigError(f"dvc.yaml vars.paths.{key}: {path} is not inside the repository")
        top = path.parts[0]
        if top in inputs:
            raise ConfigError(f"dvc.yaml vars.paths.{key}: {path} shares its top directory {top} with an input")
        if top not in out:
            out.append(top)
    return out


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(
        prog="python -m mlpipe.io.pipeline", description="Print the dvc.yaml paths of KEYs, space-separated."
    )
    ap.add_argument("keys", nargs="+", metavar="KEY", help=f"one of: {', '.join(PipelinePaths.model_fields)}")
    ap.add_argument("--top", action="store_true", help="their top-level directories instead (outputs only)")
    ap.add_argument("--dvc-yaml", default=DVC_YAML, type=Path)
    args = ap.parse_args(argv)
    try:
        paths = pipeline_paths(args.dvc_yaml)
        words = top_dirs(paths, args.keys) if args.top else [paths.get(k).as_posix() for k in args.keys]
    except ConfigError as err:
        sys.exit(f"error: {err}")
    sys.stdout.write(" ".join(words) + "\n")


def child_env(repo: Path) -> dict[str, str]:
    """Environment for running the pipeline's commands in another checkout (a copy, a temp repo).

    This interpreter's bin first (so ``python`` and ``dvc`` are ours), that checkout's ``src``
    imported instead of this one's, telemetry off.
    """
    ours = dict(os.environ)  # handed on, not read: the child's environment is ours plus these
    return {
        **ours,
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{ours.get('PATH', '')}",
        "PYTHONPATH": str(repo / "src"),
        "DVC_NO_ANALYTICS": "1",
        "GX_ANALYTICS_ENABLED": "false",
    }


if __name__ == "__main__":
    main()
