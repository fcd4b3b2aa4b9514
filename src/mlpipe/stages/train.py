"""Stage ``train``: the model and the baseline, saved with skops, plus their provenance record."""

from __future__ import annotations

import argparse
import logging
import platform
import time
from importlib.metadata import version
from typing import Any

import pandas as pd
from sklearn.pipeline import Pipeline

from mlpipe.config import Contract, Estimator
from mlpipe.core.features import TARGET, feature_frame
from mlpipe.core.model import build_estimator
from mlpipe.io.files import frame_sha256, load_config, read_frame, read_json, write_json
from mlpipe.io.git import current_commit, is_dirty
from mlpipe.io.models import save_model
from mlpipe.stages import run_stage

log = logging.getLogger(__name__)
LIBRARIES = ("scikit-learn", "numpy", "pandas", "skops", "great-expectations", "dvc")


def library_versions() -> dict[str, str]:
    return {"python": platform.python_version(), **{lib: version(lib) for lib in LIBRARIES}}


def fit(spec: Estimator, train: pd.DataFrame, contract: Contract, seed: int) -> Pipeline:
    """The one place a model is fitted: the stage, the golden task and the regression tests use it."""
    return build_estimator(spec, contract, seed).fit(feature_frame(train, contract), train[TARGET].to_numpy())


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--train", required=True)
    ap.add_argument("--split-summary", required=True)
    ap.add_argument("--validation", required=True)
    ap.add_argument("--params", required=True)
    ap.add_argument("--contract", required=True)
    ap.add_argument("--model", required=True)
    ap.add_argument("--baseline", required=True)
    ap.add_argument("--card", required=True, help="JSON provenance record written beside the models")
    args = ap.parse_args(argv)
    params, contract = load_config(args.params, args.contract)
    train = read_frame(args.train)
    record: dict[str, Any] = {}
    for role, spec, path in (
        ("model", params.train.model, args.model),
        ("baseline", params.train.baseline, args.baseline),
    ):
        t0 = time.perf_counter()
        log.info("fitting %s (%s) on %d rows x %d features", role, spec.kind, len(train), len(contract.features))
        est = fit(spec, train, contract, params.train.seed)
        fit_s = time.perf_counter() - t0
        record[role] = {
            "path": path,
            "kind": spec.kind,
            "params": spec.model_dump(),
            "sha256": save_model(est, path),
        }
        log.info("%s fitted in %.2fs -> %s", role, fit_s, path)
    split = read_json(args.split_summary)
    validation = read_json(args.validation)
    record.update(
        {
            "dataset": contract.name,
            "data_sha256": validation["data_sha256"],
            "train_sha256": frame_sha256(train),
            "test_sha256": split["test_sha256"],
            "split": split["strategy"],
            "train_rows": len(train),
            "features": contract.features,
            "target": contract.target,
            "git_commit": current_commit(),
            "git_dirty": is_dirty(),
            "libraries": library_versions(),
        }
    )
    write_json(args.card, record)


if __name__ == "__main__":
    run_stage(main)
