"""Stage ``evaluate``: metrics, slice gaps, plots and the model card, for the model and the baseline."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from mlpipe.cli import run_stage
from mlpipe.config import Contract, Params
from mlpipe.core.features import TARGET, feature_frame, slice_groups
from mlpipe.core.gate import decide, verdict_columns
from mlpipe.core.metrics import (
    calibration_table,
    classification_metrics,
    expected_calibration_error,
    pr_curve,
    roc_curve,
    slice_report,
)
from mlpipe.core.model import permutation_importance, positive_proba
from mlpipe.io.files import atomic_path, load_config, read_frame, read_json, write_frame, write_json, write_text
from mlpipe.io.live import EVALUATE, write_live
from mlpipe.io.models import load_model

log = logging.getLogger(__name__)


def rounded(d: dict[str, float], digits: int = 6) -> dict[str, float]:
    return {k: round(float(v), digits) for k, v in d.items()}


def slices(test: pd.DataFrame, p: np.ndarray, params: Params, contract: Contract) -> dict[str, Any]:
    ev = params.evaluate
    out: dict[str, Any] = {"metric": params.gate.slice_metric, "min_size": ev.min_slice_size, "attributes": {}}
    for name, groups in slice_groups(test, contract).items():
        rep = slice_report(name, groups, test[TARGET], p, params.gate.slice_metric, ev.threshold, ev.min_slice_size)
        out["attributes"][name] = {
            "gap": None if rep.gap is None else round(rep.gap, 6),
            "best": rep.best,
            "worst": rep.worst,
            "groups": {g: rounded(m) for g, m in rep.groups.items()},
            "skipped": rep.skipped,
        }
    return out


def importance(model: Any, test: pd.DataFrame, params: Params, contract: Contract) -> list[dict[str, Any]]:
    """Permutation importance (drop in ROC AUC) on a fixed sample of the test set."""
    ev = params.evaluate
    sample = test.sample(n=min(ev.importance_rows, len(test)), random_state=ev.seed)
    X: Any = feature_frame(sample, contract)
    names: list[str] = list(contract.features)
    estimator, pre = model, model[:-1]
    encoded_names = list(pre.get_feature_names_out())
    if sorted(encoded_names) == sorted(names):
        # One output column per feature (ordinal encoding): permuting an encoded column is
        # permuting the raw one, and skips re-encoding strings on every repeat (5x faster).
        X, names, estimator = pre.transform(X), encoded_names, model[-1]
    mean, std = permutation_importance(estimator, X, sample[TARGET].to_numpy(), ev.importance_repeats, ev.seed)
    rows = [
        {"feature": f, "importance": round(float(m), 6), "std": round(float(s), 6)}
        for f, m, s in zip(names, mean, std, strict=True)
    ]
    return sorted(rows, key=lambda r: -r["importance"])


def _gap(gap: float | None) -> str:
    return "n/a" if gap is None else f"{gap:.4f}"


def model_card(card: dict[str, Any], metrics: dict[str, Any], sl: dict[str, Any], contract: Contract) -> str:
    m, b = metrics["model"], metrics["baseline"]
    lines = [
        f"# Model card: {contract.name}",
        "",
        contract.description,
        "",
        "## Provenance",
        f"- model: `{card['model']['kind']}`, sha256 `{card['model']['sha256']}`",
        f"- baseline: `{card['baseline']['kind']}`, sha256 `{card['baseline']['sha256']}`",
        f"- data sha256: `{card['data_sha256']}`; test set sha256: `{card['test_sha256']}`",
        f"- split: {card['split']}; {card['train_rows']:,} training rows, {metrics['test']['rows']:,} test rows",
        f"- code sha256: `{card['code_sha256']}`; contract sha256: `{card['contract_sha256']}`; seed {card['seed']}",
        "- libraries: " + ", ".join(f"{k} {v}" for k, v in card["libraries"].items()),
        "",
        "## Parameters",
        f"- model: `{card['model']['params']}`",
        f"- baseline: `{card['baseline']['params']}`",
        "",
        "## Test metrics",
        "| metric | model | baseline |",
        "|---|---|---|",
        *[f"| {k} | {m[k]:.4f} | {b[k]:.4f} |" for k in m],
        "",
        f"## Slices ({sl['metric']}, groups of at least {sl['min_size']} rows)",
        "| attribute | largest gap | best | worst |",
        "|---|---|---|---|",
        *[f"| {a} | {_gap(v['gap'])} | {v['best']} | {v['worst']} |" for a, v in sl["attributes"].items()],
        "",
        "## Intended use and limits",
        f"Predicts `{contract.target}` = {contract.positive!r} from {len(contract.features)} features "
        f"({', '.join(contract.features)}). Sensitive attributes: {', '.join(contract.sensitive) or 'none'}. "
        "Check the slice gaps above before using it for decisions about people.",
    ]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    for name in (
        "test",
        "card",
        "params",
        "contract",
        "metrics",
        "slices",
        "predictions",
        "model-card",
        "plots",
        "live",
    ):
        ap.add_argument(f"--{name}", required=True)
    args = ap.parse_args(argv)
    params, contract = load_config(args.params, args.contract)
    card = read_json(args.card)
    test = read_frame(args.test)
    X, y = feature_frame(test, contract), test[TARGET].to_numpy()
    ev = params.evaluate
    model = load_model(card["model"]["path"], card["model"]["sha256"])
    baseline = load_model(card["baseline"]["path"], card["baseline"]["sha256"])
    p_model, p_base = positive_proba(model, X), positive_proba(baseline, X)
    calib = calibration_table(y, p_model, ev.calibration_bins)
    sl = slices(test, p_model, params, contract)
    metrics = {
        "model": rounded(classification_metrics(y, p_model, ev.threshold)),
        "baseline": rounded(classification_metrics(y, p_base, ev.threshold)),
        "calibration_error": round(expected_calibration_error(calib), 6),
        "slice_gaps": {a: v["gap"] for a, v in sl["attributes"].items()},
        # mean_probability: what the service exports as mlpipe_reference_mean_probability (its traffic's
        # mean is watched against it: observability/rules.yml)
        "test": {
            "rows": len(test),
            "positive_rate": round(float(y.mean()), 6),
            "mean_probability": round(float(p_model.mean()), 6),
            "sha256": card["test_sha256"],
        },
        "model_sha256": card["model"]["sha256"],
    }
    plots = Path(args.plots)
    write_json(plots / "roc.json", roc_curve(y, p_model, ev.curve_points))
    write_json(plots / "precision_recall.json", pr_curve(y, p_model, ev.curve_points))
    write_json(plots / "calibration.json", calib)
    log.info("permutation importance on %d rows", min(ev.importance_rows, len(test)))
    write_json(plots / "importance.json", importance(model, test, params, contract))
    confusion = pd.DataFrame({"actual": y, "predicted": (p_model >= ev.threshold).astype(int)})
    with atomic_path(plots / "confusion.csv") as tmp:
        confusion.to_csv(tmp, index=False, lineterminator="\n")
    write_frame(
        args.predictions,
        pd.DataFrame({contract.id: test[contract.id], "y": y, "model": p_model, "baseline": p_base}),
    )
    write_json(args.metrics, metrics)
    write_json(args.slices, sl)
    write_text(args.model_card, model_card(card, metrics, sl, contract))
    verdict = decide(params.gate, metrics["model"], metrics["baseline"], None, metrics["slice_gaps"])
    summary = {k: metrics[k] for k in ("model", "baseline", "calibration_error", "slice_gaps")}
    write_live(args.live, EVALUATE, {**summary, "verdict": verdict_columns(verdict)})
    log.info("model %s | baseline %s", metrics["model"], metrics["baseline"])
    if not verdict.passed:  # said now, not first by make gate or make test's regression tests
        log.warning("the gate (params.yaml gate) would block this model: %s", "; ".join(verdict.reasons))


if __name__ == "__main__":
    run_stage(main)
