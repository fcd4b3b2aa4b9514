"""``make bench-tune``: how long the search takes, and how that scales with candidates and rows.

The search as the ``tune`` stage runs it (same candidates, folds and processes, from params.yaml),
on the training split ``make repro`` wrote, timed for several budgets and row counts. Prints a table
and the figures as JSON; asserts nothing. The experiments ``make tune`` then runs cost one
``train`` + ``evaluate`` each (see docs/experiments.md).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import time
from typing import Any

from mlpipe.cli import run_stage
from mlpipe.core import tune
from mlpipe.core.features import TARGET, feature_frame
from mlpipe.io.files import load_config, read_frame
from mlpipe.io.pipeline import DVC_YAML, pipeline_paths
from mlpipe.stages.tune import parallel

log = logging.getLogger(__name__)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--candidates", type=int, nargs="+", default=[5, 10, 20])
    ap.add_argument("--row-shares", type=float, nargs="+", default=[0.25, 0.5, 1.0])
    ap.add_argument("--dvc-yaml", default=DVC_YAML)
    args = ap.parse_args(argv)
    paths = pipeline_paths(args.dvc_yaml)
    params, contract = load_config(paths.params, paths.contract)
    train = read_frame(paths.train)
    y_all = train[TARGET].to_numpy()
    tp, metric = params.tune, params.gate.primary_metric
    jobs = os.cpu_count() if tp.jobs == -1 else tp.jobs
    runs = [(c, 1.0) for c in args.candidates] + [(max(args.candidates), s) for s in args.row_shares if s != 1.0]
    figures: list[dict[str, Any]] = []
    for n, share in runs:
        rows = tune.stratified_sample(train, y_all, round(share * len(train)), tp.seed)
        X, y = feature_frame(train.iloc[rows], contract), y_all[rows]
        splits = tune.folds(y, tp.folds, tp.seed)
        cands = tune.draw_candidates(params.train.model, tp.model_copy(update={"candidates": n}))
        t0 = time.perf_counter()
        scores = tune.search(cands, contract, params.train.seed, X, y, splits, metric, params.evaluate.threshold,
                             parallel(tp.jobs))  # fmt: skip
        wall = time.perf_counter() - t0
        fits = len(cands) * tp.folds
        figures.append({"candidates": len(cands), "rows": len(y), "folds": tp.folds, "processes": jobs,
                        "seconds": round(wall, 1), "seconds_per_fit": round(wall * (jobs or 1) / fits, 2),
                        "best": round(scores[0].mean, 4)})  # fmt: skip
        log.info("%d candidates x %d folds on %d rows: %.1fs", len(cands), tp.folds, len(y), wall)
    out = [
        f"search ({tp.folds}-fold CV, {jobs} processes, load average {os.getloadavg()[0]:.2f} at the end)",
        "| candidates | training rows | wall time | per fit (one core) | best CV " + metric + " |",
        "|---|---|---|---|---|",
        *[
            f"| {f['candidates']} | {f['rows']:,} | {f['seconds']:.1f} s | {f['seconds_per_fit']:.2f} s | {f['best']} |"
            for f in figures
        ],
        json.dumps(figures),
    ]
    sys.stdout.write("\n".join(out) + "\n")


if __name__ == "__main__":
    run_stage(main)
