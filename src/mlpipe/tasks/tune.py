"""``make tune``, after the search (``dvc repro tune/dvc.yaml``): the best candidates as DVC experiments.

Each of the search's ``tune.top`` best candidates is queued as ``dvc exp run --queue -S
train.model.<setting>=<value>`` and the queue is run, so each is trained on the whole training split
and evaluated once on the test set by the same pipeline as any commit. Candidate 0 (the current
settings) is not queued: the current commit already is that model. Names carry the search record's
hash, so running ``make tune`` twice on the same search does not queue the same experiments twice.
"""

from __future__ import annotations

import argparse
import hashlib
import logging
import os
from typing import Any

from mlpipe.cli import run_stage
from mlpipe.errors import PipelineError
from mlpipe.io.experiments import queue, run_queue
from mlpipe.io.files import load_config, read_json
from mlpipe.io.pipeline import DVC_YAML, pipeline_paths
from mlpipe.tasks.leaderboard import evaluate_metrics_file, listing

log = logging.getLogger(__name__)


def experiments_to_run(record: dict[str, Any], tag: str) -> dict[str, dict[str, Any]]:
    """Experiment name -> ``-S`` overrides, for the record's top candidates other than candidate 0."""
    by_index = {c["index"]: c for c in record["candidates"]}
    out = {}
    for rank, index in enumerate(record["top"], start=1):
        changes = by_index[index]["changes"]
        if index == 0 or not changes:
            log.info("#%d is the current train.model: nothing to run", rank)
            continue
        out[f"tune-{tag}-{rank}"] = {f"train.model.{k}": v for k, v in changes.items()}
    return out


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--dvc-yaml", default=DVC_YAML)
    ap.add_argument("--timeout", type=float, default=6 * 3600, help="seconds to wait for the queue")
    args = ap.parse_args(argv)
    paths = pipeline_paths(args.dvc_yaml)
    params, _ = load_config(paths.params, paths.contract)  # a broken params.yaml fails here, not in each experiment
    record = read_json(paths.tune)
    tag = hashlib.sha256(paths.tune.read_bytes()).hexdigest()[:8]
    wanted = experiments_to_run(record, tag)
    existing = {e.name: e.state for e in listing(paths).experiments}
    for name, sets in wanted.items():
        if existing.get(name) == "failed":
            raise PipelineError(f"experiment {name} failed before: `dvc queue logs {name}` says why; "
                                f"`dvc exp remove {name}` and run make tune again")  # fmt: skip
        if name in existing:
            log.info("experiment %s exists already (same search): not queued again", name)
            continue
        queue(name, sets)
    if not wanted:
        log.info("the current settings won the search: no experiment to run")
        return
    cores = os.cpu_count() or 1
    workers = min(len(wanted), cores if params.tune.jobs == -1 else params.tune.jobs)  # each fit uses one core
    done = run_queue(list(wanted), paths.params.as_posix(), evaluate_metrics_file(paths), args.timeout, jobs=workers)
    failed = [e.name for e in done.experiments if e.name in wanted and e.state != "success"]
    if failed:
        raise PipelineError(f"experiment(s) failed: {', '.join(failed)} (`dvc queue logs NAME` says why)")


if __name__ == "__main__":
    run_stage(main)
