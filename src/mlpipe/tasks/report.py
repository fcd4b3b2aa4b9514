"""``make report``: the pull-request report (Markdown) for this workspace vs the base branch.

Reads the pipeline's outputs and the gate verdict, and the base branch's committed params,
metrics and validation report through ``git show`` (no data download). Writes the report
file, and appends it to ``$GITHUB_STEP_SUMMARY`` when that variable is set.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
from pathlib import Path
from typing import Any

import yaml

from mlpipe.core.report import ReportInputs, build
from mlpipe.io import git
from mlpipe.io.files import load_yaml, read_json, write_text
from mlpipe.io.pipeline import DVC_YAML, PipelinePaths, pipeline_paths
from mlpipe.stages import run_stage
from mlpipe.tasks.gate import resolve_base

log = logging.getLogger(__name__)


def _at(rev: str | None, path: str, parse: Any = json.loads) -> Any:
    if rev is None:
        return None
    text = git.show(rev, path)
    return None if text is None else parse(text)


def gather(base: str, paths: PipelinePaths) -> ReportInputs:
    rev = resolve_base(base)
    gate_path = paths.gate_json
    plots = sorted(str(p) for p in paths.plots.glob("*") if p.is_file())
    return ReportInputs(
        base=base,
        params=load_yaml(paths.params),
        metrics=read_json(paths.metrics),
        validation=read_json(paths.validation_json),
        slices=read_json(paths.slices),
        gate=read_json(gate_path) if gate_path.exists() else None,
        base_params=_at(rev, paths.params.as_posix(), yaml.safe_load),
        base_metrics=_at(rev, paths.metrics.as_posix()),
        base_validation=_at(rev, paths.validation_json.as_posix()),
        plots=plots,
    )


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--base", default="main")
    ap.add_argument("--dvc-yaml", default=DVC_YAML, type=Path)
    args = ap.parse_args(argv)
    paths = pipeline_paths(args.dvc_yaml)
    markdown = build(gather(args.base, paths))
    write_text(paths.report, markdown)
    summary = os.environ.get("GITHUB_STEP_SUMMARY")
    if summary:
        with open(summary, "a", encoding="utf-8") as fh:
            fh.write(markdown)
    log.info("report written to %s (%d lines)", paths.report, markdown.count("\n"))


if __name__ == "__main__":
    run_stage(main)
