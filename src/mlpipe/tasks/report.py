"""``make report``: the pull-request report (Markdown) for this workspace vs the base branch.

Reads the pipeline's outputs and the gate verdict, and the base branch's committed params,
metrics, validation report and plot data through ``git show`` (no data download). Writes the report
file, and appends it to ``$GITHUB_STEP_SUMMARY`` when that variable is set.
"""

from __future__ import annotations

import argparse
import json
import logging
from pathlib import Path
from typing import Any

import yaml

from mlpipe.cli import run_stage
from mlpipe.core.charts import CHARTS, Plots
from mlpipe.core.report import ReportInputs, build
from mlpipe.env import process_env
from mlpipe.io import git
from mlpipe.io.files import load_yaml, read_json, write_text
from mlpipe.io.pipeline import DVC_YAML, PipelinePaths, pipeline_paths
from mlpipe.tasks.gate import resolve_base

log = logging.getLogger(__name__)


def _at(rev: str | None, path: str, parse: Any = json.loads) -> Any:
    if rev is None:
        return None
    text = git.show(rev, path)
    return None if text is None else parse(text)


def base_plots(rev: str | None, folder: str) -> Plots | None:
    """The base's committed plot JSONs; what cannot be read is logged and left out (the charts then show
    this PR alone), never an error: a report without the base's curves is still a report."""
    if rev is None:
        return None
    out: Plots = {}
    for name in CHARTS:
        try:
            rows = _at(rev, f"{folder}/{name}.json")
        except ValueError as e:  # malformed JSON on the base
            log.warning("%s:%s/%s.json is not readable JSON (%s): this PR's curve only", rev, folder, name, e)
            continue
        if rows is not None:
            out[name] = rows
    if not out:
        log.info("no plots on %s: the charts show this PR only", rev)
    return out or None


def gather(base: str, paths: PipelinePaths) -> ReportInputs:
    rev = resolve_base(base)
    gate_path = paths.gate_json
    plots = {name: read_json(p) for name in CHARTS if (p := paths.plots / f"{name}.json").is_file()}
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
        base_plots=base_plots(rev, paths.plots.as_posix()),
    )


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--base", default="main")
    ap.add_argument("--dvc-yaml", default=DVC_YAML, type=Path)
    args = ap.parse_args(argv)
    paths = pipeline_paths(args.dvc_yaml)
    markdown = build(gather(args.base, paths))
    write_text(paths.report, markdown)
    summary = process_env().github_step_summary
    if summary:
        with open(summary, "a", encoding="utf-8") as fh:
            fh.write(markdown)
    log.info("report written to %s (%d lines)", paths.report, markdown.count("\n"))


if __name__ == "__main__":
    run_stage(main)
