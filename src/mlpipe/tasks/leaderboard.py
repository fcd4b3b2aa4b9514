"""``make leaderboard``: the best DVC experiments of this commit against its model, noise marked.

Each experiment's test-set predictions (its ``evaluate`` output, read from the DVC cache at the
experiment's commit) are compared with the current commit's, row by row: the gate's paired
bootstrap, Bonferroni-adjusted over the experiments shown (mlpipe.core.leaderboard). Writes JSON and
Markdown, and appends the Markdown to the GitHub job summary when run in Actions.
"""

from __future__ import annotations

import argparse
import io
import logging
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pandas as pd

from mlpipe.cli import run_stage
from mlpipe.config import Contract, Params
from mlpipe.core import leaderboard as lb
from mlpipe.core.metrics import DIRECTION
from mlpipe.env import process_env
from mlpipe.errors import PipelineError
from mlpipe.io.experiments import Experiment, Listing, read_bytes, show
from mlpipe.io.files import load_config, write_json, write_text
from mlpipe.io.live import EVALUATE
from mlpipe.io.pipeline import DVC_YAML, PipelinePaths, pipeline_paths

log = logging.getLogger(__name__)


def evaluate_metrics_file(paths: PipelinePaths) -> str:
    return (paths.live / EVALUATE / "metrics.json").as_posix()


def listing(paths: PipelinePaths, cwd: Path | None = None) -> Listing:
    return show(paths.params.as_posix(), evaluate_metrics_file(paths), cwd)


def ranked(exps: list[Experiment], metric: str) -> list[Experiment]:
    """Finished experiments with the metric, best first (ties by name, so the order is stable)."""
    key = f"model.{metric}"
    done = [e for e in exps if e.state == "success" and isinstance(e.metrics.get(key), int | float)]
    return sorted(done, key=lambda e: (-DIRECTION[metric] * float(e.metrics[key]), e.name))


VERDICT_CHECKS = ("bounds", "baseline", "slices")


def verdict_text(metrics: Mapping[str, object]) -> str:
    """``pass``, or ``fail (baseline, slices)`` naming the failed checks, from the verdict columns."""
    passed = metrics.get("verdict.passed")
    if passed is None:
        return "n/a"
    failed = [c for c in VERDICT_CHECKS if metrics.get(f"verdict.{c}") == "fail"]
    return "pass" if passed == "pass" else f"fail ({', '.join(failed)})" if failed else "fail"


def predictions(paths: PipelinePaths, rev: str, contract: Contract, cwd: Path | None) -> pd.DataFrame:
    return pd.read_parquet(io.BytesIO(read_bytes(paths.predictions, rev, cwd))).set_index(contract.id)


def build(paths: PipelinePaths, params: Params, contract: Contract, cwd: Path | None = None) -> lb.Board:
    found = listing(paths, cwd)
    metric = params.gate.primary_metric
    pool = ranked(found.experiments, metric)
    chosen = pool[: params.tune.leaderboard]
    rows: list[lb.Row] = []
    value = found.baseline_metrics.get(f"model.{metric}")
    label = f"commit {found.baseline_rev[:7]}: {metric} {value}, checks {verdict_text(found.baseline_metrics)}"
    board = lb.Board(rows, metric, params.gate.bootstrap.confidence, len(pool), label,
                     {str(m): t for m, t in params.gate.tolerance.items()})  # fmt: skip
    if not chosen:
        return board
    try:
        current = predictions(paths, found.baseline_rev, contract, cwd)
    except Exception as err:  # not pulled, or the commit's dvc.lock was never reproduced here
        raise PipelineError(
            f"the current commit's ({found.baseline_rev[:7]}) test predictions are not in the DVC cache "
            f"({type(err).__name__}): run `make repro` on a clean checkout of it (or `make pull`), then again"
        ) from None
    y, p_cur = current["y"].to_numpy(), current["model"].to_numpy()
    for exp in chosen:
        changes = lb.changed_params(exp.params, found.baseline_params)
        gate = verdict_text(exp.metrics)
        try:
            theirs = predictions(paths, exp.rev, contract, cwd)
        except Exception as err:  # its outputs left the cache (gc) or it never produced them
            log.warning("experiment %s: predictions not readable: %s", exp.name, err)
            rows.append(lb.Row(exp.name, exp.rev, changes, gate, note="predictions not in the DVC cache"))
            continue
        if not theirs.index.equals(current.index) or not np.array_equal(theirs["y"].to_numpy(), y):
            rows.append(lb.Row(exp.name, exp.rev, changes, gate, note="another test set (data or split changed)"))
            continue
        deltas = lb.compare(y, p_cur, theirs["model"].to_numpy(), params.evaluate.threshold, params.gate.bootstrap,
                            len(pool), params.tune.resamples)  # fmt: skip
        rows.append(lb.Row(exp.name, exp.rev, changes, gate, deltas))
    return board


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--dvc-yaml", default=DVC_YAML)
    args = ap.parse_args(argv)
    paths = pipeline_paths(args.dvc_yaml)
    params, contract = load_config(paths.params, paths.contract)
    board = build(paths, params, contract)
    others = [m for m in params.gate.tolerance if m != board.metric]
    md = lb.markdown(board, others) if board.rows else (
        f"### {lb.TITLE}\n\nNo finished experiment of {board.current} yet: `make tune`, or `dvc exp run -S ...`.\n"
    )  # fmt: skip
    write_json(paths.leaderboard_json, lb.to_dict(board))
    write_text(paths.leaderboard_md, md)
    summary = process_env().github_step_summary
    if summary:
        with open(summary, "a", encoding="utf-8") as fh:
            fh.write(md)
    log.info("leaderboard of %d experiment(s) -> %s\n%s", len(board.rows), paths.leaderboard_md, md)


if __name__ == "__main__":
    run_stage(main)
