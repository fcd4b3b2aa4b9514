"""Stage ``train``: the model and the baseline, saved with skops, plus their provenance record.

The record (``models/model.json``) describes the inputs only (data, params, contract, code,
libraries), never the commit or the machine: rerunning on the same inputs rewrites the same bytes,
so a fresh clone's ``make repro`` leaves the tree clean. Which commit serves a model is answered at
the serving edge (mlpipe.serving.scorer).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import logging
import platform
import time
from importlib.metadata import version
from typing import TYPE_CHECKING, Any

import pandas as pd

from mlpipe.cli import run_stage
from mlpipe.config import Contract, Estimator
from mlpipe.core.features import TARGET, feature_frame
from mlpipe.core.metrics import classification_metrics
from mlpipe.core.model import build_estimator, fit_estimator, positive_proba, training_curve
from mlpipe.io.code import code_sha256
from mlpipe.io.files import frame_sha256, load_config, read_frame, read_json, write_json
from mlpipe.io.live import TRAIN, write_live
from mlpipe.io.models import save_model

if TYPE_CHECKING:
    from sklearn.pipeline import Pipeline

log = logging.getLogger(__name__)
LIBRARIES = ("scikit-learn", "numpy", "pandas", "skops", "great-expectations", "dvc")


def library_versions() -> dict[str, str]:
    """Pinned libraries, and Python's minor version: patch releases (3.11.7 here, 3.11.9 on a CI
    runner) do not change the numbers, and recording them would make the record differ by machine."""
    python = ".".join(platform.python_version_tuple()[:2])
    return {"python": python, **{lib: version(lib) for lib in LIBRARIES}}


def contract_sha256(contract: Contract) -> str:
    """Hash of the contract as parsed (what dvc tracks too): comments and key order do not count."""
    return hashlib.sha256(json.dumps(contract.model_dump(mode="json"), sort_keys=True).encode()).hexdigest()


def fit(spec: Estimator, train: pd.DataFrame, contract: Contract, seed: int) -> Pipeline:
    """The one place a model is fitted: the stage, the golden task and the regression tests use it."""
    return fit_estimator(spec, contract, seed, feature_frame(train, contract), train[TARGET].to_numpy())


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
    ap.add_argument("--live", required=True, help="DVC metrics and plots root (this stage writes train/)")
    args = ap.parse_args(argv)
    params, contract = load_config(args.params, args.contract)
    train = read_frame(args.train)
    record: dict[str, Any] = {}
    models: dict[str, Pipeline] = {}
    t0 = time.perf_counter()
    build_estimator(params.train.model, contract, params.train.seed)  # imports scikit-learn: not a fit's time
    log.info("scikit-learn imported in %.2fs", time.perf_counter() - t0)
    for role, spec, path in (
        ("model", params.train.model, args.model),
        ("baseline", params.train.baseline, args.baseline),
    ):
        t0 = time.perf_counter()
        log.info("fitting %s (%s) on %d rows x %d features", role, spec.kind, len(train), len(contract.features))
        est = fit(spec, train, contract, params.train.seed)
        fit_s = time.perf_counter() - t0
        models[role] = est
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
            "seed": params.train.seed,
            "threshold": params.evaluate.threshold,  # what the service decides with: read from here
            "contract_sha256": contract_sha256(contract),
            "code_sha256": code_sha256("mlpipe.stages.train"),
            "libraries": library_versions(),
        }
    )
    write_json(args.card, record)
    log_training(args.live, models, train, contract)


def log_training(root: str, models: dict[str, Pipeline], train: pd.DataFrame, contract: Contract) -> None:
    """The model's per-iteration training loss as steps (a curve in ``dvc plots`` and VS Code;
    one point for a model fitted in one go), and each model's final training loss (for a boosted
    model, the curve's last point: its predictions are those of the last iteration). No timings: the
    files change only when the model does."""
    X, y = feature_frame(train, contract), train[TARGET].to_numpy()
    curve = training_curve(models["model"])
    final = {
        role: curve[-1]
        if role == "model" and curve
        else round(classification_metrics(y, positive_proba(m, X))["log_loss"], 6)
        for role, m in models.items()
    }
    # named apart from evaluate's test-set model.log_loss
    summary = {"training_loss" if role == "model" else f"{role}_training_loss": loss for role, loss in final.items()}
    write_live(root, TRAIN, summary, {"training_loss": curve or [final["model"]]})


if __name__ == "__main__":
    run_stage(main)
