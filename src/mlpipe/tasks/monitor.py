"""``make monitor``: compare a window of traffic or new data with the training reference.

The window is one of: the prediction log (``paths.prediction_log`` in dvc.yaml: what the service and
batch scoring saw and answered), a data file or directory shaped like ``data/`` (scored here; its labels give
metrics and slice metrics), or ``next-year``: the next example year the model has not seen.
``auto`` (the default) takes the log when it holds at least ``monitor.min_rows`` predictions, else
the next example year (when the example data is configured).
Writes ``monitor.json``, ``monitor.md`` and one SVG per drifted feature (plus the predictions')
under ``paths.monitor``; exits 0 whatever it finds (``monitor.json`` says ``"alert"``), or 3 with
``--fail-on-alert``.
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from mlpipe.config import Contract, Params
from mlpipe.core.drift import feature_drift, prediction_drift
from mlpipe.core.expectations import suite_specs
from mlpipe.core.features import encode_columns, is_positive, model_input, slice_groups
from mlpipe.core.metrics import classification_metrics, slice_report
from mlpipe.core.monitor import bar_svg, compare_models, markdown, metric_drops, verdict
from mlpipe.errors import DataError
from mlpipe.io.example_data import WHEEL_CACHE, fetch_wheel, load_all_years
from mlpipe.io.files import DATA_SUFFIXES, load_config, read_data, read_frame, read_json, write_json, write_text
from mlpipe.io.pipeline import PipelinePaths, pipeline_paths
from mlpipe.io.predlog import log_files, read_prediction_log
from mlpipe.serving.scorer import Scorer, load_scorer
from mlpipe.stages import run_stage

log = logging.getLogger(__name__)


class NothingToMonitor(DataError):
    """``auto`` found no window: no logged traffic and no unseen example data. Not an alert."""


def unseen_years(params: Params) -> list[int]:
    spec = params.example_data
    return [y for y in spec.available_years if y not in spec.years] if spec else []


def next_example_year(params: Params) -> tuple[pd.DataFrame, str]:
    spec = params.example_data
    unseen = unseen_years(params)
    if spec is None or not unseen:
        raise DataError("no unseen example year: params.yaml example_data is absent or every year is in data/")
    df = load_all_years(fetch_wheel(spec, WHEEL_CACHE))
    return df[df["year"] == unseen[0]].reset_index(drop=True), f"example year {unseen[0]} (not in data/)"


def load_window(
    source: str, paths: PipelinePaths, params: Params, contract: Contract, role: str
) -> tuple[pd.DataFrame, str, bool, dict[str, Any] | None]:
    """(raw rows of ``role``, description, came from the prediction log, champion vs challenger if logged)."""
    if source == "auto":
        n_logged = len(read_prediction_log(paths.prediction_log)) if log_files(paths.prediction_log) else 0
        if n_logged >= params.monitor.min_rows:
            source = str(paths.prediction_log)
        elif unseen_years(params):
            log.info(
                "%d logged predictions (< %d): monitoring the next example year", n_logged, params.monitor.min_rows
            )
            source = "next-year"
        elif n_logged:
            source = str(paths.prediction_log)  # reported, not judged: too few rows
        else:
            raise NothingToMonitor(
                f"nothing to monitor yet: the prediction log {paths.prediction_log} is empty and there is no "
                "unseen example data. Serve the model (make serve) or score a file (make score) to fill the log, "
                "or point the monitor at new data: make monitor WINDOW=path/to/new.csv"
            )
    if source == "next-year":
        df, what = next_example_year(params)
        return df, what, False, None
    p = Path(source)
    if p.is_dir() and log_files(p):
        logged = read_prediction_log(p)
        by_role = {
            r: dict(zip(g["request_id"], zip(g["probability"], g["prediction"], strict=True), strict=True))
            for r, g in logged.groupby("role")
        }
        compared = compare_models(by_role["champion"], by_role["challenger"]) if len(by_role) == 2 else None
        df = logged[logged["role"] == role].reset_index(drop=True)
        return df, f"prediction log {p} ({role}, {df['ts'].min()} to {df['ts'].max()})", True, compared
    if p.is_dir() or (p.is_file() and p.suffix.lower() in DATA_SUFFIXES):
        return read_data(p, contract), f"data in {p}" if p.is_dir() else f"file {p}", False, None
    raise DataError(f"{source}: not a prediction-log directory, a data directory, a .csv or a .parquet file")


def quality(raw: pd.DataFrame, contract: Contract, from_log: bool) -> dict[str, Any]:
    """The contract's expectation suite, on the columns the window has (a log has no target or time)."""
    from mlpipe.io.gx import run_gx  # noqa: PLC0415 - great-expectations costs ~5 s to import

    specs = [
        s
        for s in suite_specs(contract)
        if (s.column is None or s.column in raw.columns)
        and not (from_log and s.type in ("expect_table_columns_to_match_set", "expect_column_values_to_be_unique"))
    ]
    cols = [c for c in raw.columns if c in contract.columns]
    checks = run_gx(raw[cols], specs)
    failed = [c for c in checks if not c["success"]]
    return {"evaluated": len(checks), "failed": len(failed), "checks": checks}


def labelled_metrics(
    raw: pd.DataFrame, proba: np.ndarray, params: Params, contract: Contract, paths: PipelinePaths, threshold: float
) -> tuple[dict[str, Any], dict[str, Any]]:
    """``threshold``: the one in this checkout's model card (the champion's, as the service decides)."""
    if contract.target not in raw:
        return {}, {}
    y = is_positive(raw[contract.target], contract).to_numpy().astype(np.int8)
    window = classification_metrics(y, proba, threshold)
    reference = read_json(paths.metrics)["model"]
    drops = metric_drops(reference, window, params.monitor)
    ref_slices = read_json(paths.slices)["attributes"]
    groups = slice_groups(encode_columns(raw, contract, list(contract.sensitive)), contract)  # raw order, like y
    slices = {}
    for name, g in groups.items():
        ev = params.evaluate
        rep = slice_report(name, g.to_numpy(), y, proba, params.gate.slice_metric, threshold, ev.min_slice_size)
        slices[name] = {"metric": rep.metric, "gap": rep.gap, "worst": rep.worst, "best": rep.best,
                        "reference_gap": ref_slices.get(name, {}).get("gap"), "groups": rep.groups}  # fmt: skip
    return drops, slices


def monitor(source: str, role: str = "champion") -> dict[str, Any]:
    paths = pipeline_paths()
    params, contract = load_config(paths.params, paths.contract)
    m = params.monitor
    try:
        raw, what, from_log, compared = load_window(source, paths, params, contract, role)
    except NothingToMonitor as why:
        report = {"window": {"source": None, "rows": 0}, "verdict": {"alert": False, "judged": False,
                  "reasons": [str(why)]}}  # fmt: skip
        write_json(paths.monitor / "monitor.json", report)
        write_text(paths.monitor / "monitor.md", f"# Model monitor\n\nℹ️ Not judged — {why}\n")
        return report
    if raw.empty:
        raise DataError(f"{what}: the window has no rows")
    missing = [f for f in contract.features if f not in raw]
    if missing:
        raise DataError(f"{what}: missing feature columns {missing}")
    scorer: Scorer = load_scorer(paths.card, contract)
    proba = raw["probability"].to_numpy(dtype=np.float64) if from_log else scorer.proba(raw)
    reference = read_frame(paths.train)
    ref_proba = read_frame(paths.predictions)["model"].to_numpy()
    log.info("window: %s, %d rows; reference: %d training rows", what, len(raw), len(reference))
    features = feature_drift(reference, model_input(raw, contract), contract, m)
    pred = prediction_drift(ref_proba, proba, m)
    q = quality(raw, contract, from_log)
    drops, slices = labelled_metrics(raw, proba, params, contract, paths, scorer.threshold)
    out = paths.monitor
    plots = []
    for d in [*[d for d in features if d.drifted], pred]:
        write_text(out / f"{d.name}.svg", bar_svg(d))
        plots.append(str(out / f"{d.name}.svg"))
    report = {
        "window": {"source": what, "rows": len(raw), "from_prediction_log": from_log},
        "reference": {"rows": len(reference), "train": str(paths.train), "predictions": str(paths.predictions)},
        "model_version": scorer.version,
        "model_sha256": scorer.sha256,
        "verdict": verdict(
            len(raw),
            features,
            pred,
            q["failed"],
            drops,
            m,
            {k: s["gap"] for k, s in slices.items()},
            params.gate.max_slice_gap,
        ),
        "features": [d.as_dict() for d in features],
        "predictions": {
            **pred.as_dict(),
            "window_mean": float(proba.mean()),
            "reference_mean": float(ref_proba.mean()),
        },
        "quality": q,
        "metrics": drops,
        "slices": slices,
        "plots": plots,
        "challenger": compared,
    }
    write_json(out / "monitor.json", report)
    write_text(out / "monitor.md", markdown(report, features, pred, m))
    return report


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--window", default="auto", help="auto | next-year | a prediction-log dir | a data dir or file")
    ap.add_argument("--role", default="champion", help="which model's logged traffic (champion or challenger)")
    ap.add_argument("--fail-on-alert", action="store_true")
    args = ap.parse_args(argv)
    report = monitor(args.window, args.role)
    v = report["verdict"]
    summary = "ALERT: " + "; ".join(v["reasons"]) if v["alert"] else "no alert" + (
        "" if v["judged"] else f" ({v['reasons'][0]})")  # fmt: skip
    shifted = [f["name"] for f in report.get("features", []) if f["p_value"] < 0.01 and not f["drifted"]]
    below = f"; {len(shifted)} features shifted but below thresholds: {', '.join(shifted)}" if shifted else ""
    log.info("%s%s", summary, below)
    if v["alert"] and args.fail_on_alert:
        sys.exit(3)


if __name__ == "__main__":
    run_stage(main)
