"""Stage ``tune`` (``tune/dvc.yaml``, run by ``make tune``): the search, on the training split only.

It takes no path to the test split: the search cannot read it, so the settings it picks owe nothing
to the frozen test set. ``make tune`` then runs the best as DVC experiments, each evaluated once.
"""

from __future__ import annotations

import argparse
import logging
import time
from collections.abc import Callable, Sequence

from mlpipe.cli import run_stage
from mlpipe.core import tune
from mlpipe.core.features import TARGET, feature_frame
from mlpipe.io.files import frame_sha256, load_config, read_frame, write_json

log = logging.getLogger(__name__)


def parallel(n_jobs: int) -> tune.Runner:
    """Fits spread over processes (each fit is single-threaded, so this never oversubscribes)."""

    def run(jobs: Sequence[tuple[tune.Candidate, int]], score: Callable[[tune.Candidate, int], float]) -> list[float]:
        if n_jobs == 1:
            return tune.serial(jobs, score)
        from joblib import Parallel, delayed  # noqa: PLC0415 - only for several processes

        return list(Parallel(n_jobs=n_jobs)(delayed(score)(c, i) for c, i in jobs))

    return run


def arguments() -> argparse.ArgumentParser:
    """Every input the stage can be given: the training split is its only data."""
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--train", required=True, help="the training split (the only data the search reads)")
    ap.add_argument("--params", required=True)
    ap.add_argument("--contract", required=True)
    ap.add_argument("--out", required=True, help="JSON record of every candidate's cross-validated score")
    return ap


def main(argv: list[str] | None = None) -> None:
    args = arguments().parse_args(argv)
    params, contract = load_config(args.params, args.contract)
    tp, metric = params.tune, params.gate.primary_metric
    train = read_frame(args.train)
    y_all = train[TARGET].to_numpy()
    rows = tune.stratified_sample(train, y_all, tp.max_rows, tp.seed)
    X, y = feature_frame(train.iloc[rows], contract), y_all[rows]
    splits = tune.folds(y, tp.folds, tp.seed)
    candidates = tune.draw_candidates(params.train.model, tp)
    log.info(
        "searching %d candidates x %d folds on %d of %d training rows (%s, %d jobs)",
        len(candidates), tp.folds, len(y), len(y_all), metric, tp.jobs,
    )  # fmt: skip
    t0 = time.perf_counter()
    scores = tune.search(
        candidates, contract, params.train.seed, X, y, splits, metric, params.evaluate.threshold, parallel(tp.jobs)
    )
    log.info("searched in %.1fs", time.perf_counter() - t0)
    for rank, s in enumerate(scores[: tp.top], start=1):
        log.info("#%d candidate %d: %s %.4f ± %.4f %s", rank, s.candidate.index, metric, s.mean, s.std,
                 s.candidate.changes or "(train.model as it is)")  # fmt: skip
    record = tune.summary(scores, metric, len(y), tp.folds, tp)
    write_json(args.out, record | {"train_sha256": frame_sha256(train)})


if __name__ == "__main__":
    run_stage(main)
