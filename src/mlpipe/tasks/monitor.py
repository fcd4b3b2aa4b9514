"""``make monitor``: compare a window of traffic or new data with the training reference.

The window is one of: the prediction log (``paths.prediction_log`` in dvc.yaml: what the service and
batch scoring saw and answered), a data file or directory shaped like ``data/`` (scored here; its labels give
metrics and slice metrics), or ``next-year``: the next example year the model has not seen.
``auto`` (the default) takes the log when it holds at least ``monitor.min_rows`` predictions, else
the next example year (when the example data is configured). A data window may also be a glob.
``--engine dask`` (``ENGINE=dask``, or ``scale.engine``) counts a log or data window partition by
partition on a Dask cluster (:mod:`mlpipe.scale.monitor`): the same figures for any size of window.
Writes ``monitor.json``, ``monitor.md``, ``monitor.prom`` (the figures as Prometheus metrics, pushed to
``PUSHGATEWAY_URL`` when set) and one SVG per drifted feature (plus the predictions')
under ``paths.monitor``; exits 0 whatever it finds (``monitor.json`` says ``"alert"``), or 3 with
``--fail-on-alert``.
"""

from __future__ import annotations

import argparse
import logging
import sys
import time
from pathlib import Path
from typing import Any

import pandas as pd

from mlpipe.cli import run_stage
from mlpipe.config import Contract, MonitorParams, Params
from mlpipe.core.drift import drift_from, numeric_reference, prediction_drift_from, reference_summary
from mlpipe.core.metrics import classification_metrics, slice_report
from mlpipe.core.monitor import bar_svg, compare_models, markdown, metric_drops, verdict
from mlpipe.env import process_env
from mlpipe.errors import DataError, NothingToMonitor
from mlpipe.io.example_data import WHEEL_CACHE, fetch_wheel, load_all_years
from mlpipe.io.files import DATA_SUFFIXES, load_config, read_data, read_frame, read_json, write_json, write_text
from mlpipe.io.monitor_metrics import monitor_registry, push_metrics, write_metrics
from mlpipe.io.pipeline import PipelinePaths, pipeline_paths
from mlpipe.io.predlog import iter_events, log_files, read_prediction_log
from mlpipe.scale.cluster import ADDRESS_ENV, model_payload
from mlpipe.scale.monitor import combined_window, data_columns
from mlpipe.scale.parts import source_files
from mlpipe.scale.window import Context, combine, part_stats, quality_specs
from mlpipe.serving.scorer import load_scorer

log = logging.getLogger(__name__)


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


def resolve(source: str, paths: PipelinePaths, params: Params) -> str:
    """``auto`` -> the prediction log when it holds ``monitor.min_rows`` predictions, else the next example year."""
    if source != "auto":
        return source
    n_logged = logged_rows(paths.prediction_log, params.monitor.min_rows)
    if n_logged >= params.monitor.min_rows:
        return str(paths.prediction_log)
    if unseen_years(params):
        log.info("%d logged predictions (< %d): monitoring the next example year", n_logged, params.monitor.min_rows)
        return "next-year"
    if n_logged:
        return str(paths.prediction_log)  # reported, not judged: too few rows
    raise NothingToMonitor(
        f"nothing to monitor yet: the prediction log {paths.prediction_log} is empty and there is no "
        "unseen example data. Serve the model (make serve) or score a file (make score) to fill the log, "
        "or point the monitor at new data: make monitor WINDOW=path/to/new.csv"
    )


def logged_rows(directory: Path, enough: int) -> int:
    """Predictions in the log, counted line by line up to ``enough`` (a log larger than memory stays on disk)."""
    n = 0
    for event in iter_events(directory) if log_files(directory) else ():
        n += int(event["rows"])
        if n >= enough:
            break
    return n


def window_kind(source: str) -> str:
    """next-year | log (a prediction-log directory) | data (a data file, folder or glob)."""
    if source == "next-year":
        return source
    p = Path(source)
    if p.is_dir() and log_files(p):
        return "log"
    if p.is_dir() or (p.is_file() and p.suffix.lower() in DATA_SUFFIXES) or any(c in source for c in "*?["):
        return "data"
    raise DataError(f"{source}: not a prediction-log directory, a data directory, a .csv or a .parquet file")


def same_columns(files: list[Path], frames: list[pd.DataFrame]) -> None:
    """A window's files stack into one table only if they have the same columns: stacked anyway, a file
    without the target (or any column) would show up as nulls and repeated ids, not as what it is."""
    first = set(frames[0].columns)
    for f, frame in zip(files[1:], frames[1:], strict=True):
        if set(frame.columns) != first:
            lacks, extra = sorted(first - set(frame.columns)), sorted(set(frame.columns) - first)
            said = "; ".join(p for p in (f"lacks {lacks}" if lacks else "", f"adds {extra}" if extra else "") if p)
            raise DataError(
                f"{f}: not the columns of {files[0]} ({said}): every file of a window has the same columns, "
                "as the files in data/ do; monitor them apart (make monitor WINDOW=<file>)"
            )


def load_window(
    source: str, kind: str, paths: PipelinePaths, params: Params, contract: Contract
) -> tuple[pd.DataFrame, str]:
    """The whole window in memory (``ENGINE=pandas``): raw rows, and what they are."""
    if kind == "next-year":
        return next_example_year(params)
    if kind == "log":
        return read_prediction_log(source), f"prediction log {source}"
    files = source_files(source)
    frames = [read_data(f, contract) for f in files]
    same_columns(files, frames)
    df = pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]
    return df, f"data in {source}" if Path(source).is_dir() or len(files) > 1 else f"file {source}"


def labelled_metrics(
    labelled: pd.DataFrame, params: Params, contract: Contract, paths: PipelinePaths, threshold: float
) -> tuple[dict[str, Any], dict[str, Any]]:
    """``labelled``: y, probability, group:<attribute> per row; ``threshold``: this checkout's model card's."""
    y, proba = labelled["y"].to_numpy(), labelled["probability"].to_numpy()
    window = classification_metrics(y, proba, threshold)
    reference = read_json(paths.metrics)["model"]
    drops = metric_drops(reference, window, params.monitor)
    ref_slices = read_json(paths.slices)["attributes"]
    slices = {}
    for name in contract.sensitive:
        ev = params.evaluate
        groups = labelled[f"group:{name}"].to_numpy()
        rep = slice_report(name, groups, y, proba, params.gate.slice_metric, threshold, ev.min_slice_size)
        slices[name] = {"metric": rep.metric, "gap": rep.gap, "worst": rep.worst, "best": rep.best,
                        "reference_gap": ref_slices.get(name, {}).get("gap"), "groups": rep.groups}  # fmt: skip
    return drops, slices


def compared_roles(logged: pd.DataFrame | None) -> dict[str, Any] | None:
    """Champion vs challenger, when the log holds both."""
    if logged is None:
        return None
    by_role = {
        r: dict(zip(g["request_id"], zip(g["probability"], g["prediction"], strict=True), strict=True))
        for r, g in logged.groupby("role")
    }
    return compare_models(by_role["champion"], by_role["challenger"]) if len(by_role) == 2 else None


def monitor(source: str, role: str = "champion", engine: str | None = None, progress: bool = True) -> dict[str, Any]:
    paths = pipeline_paths()
    params, contract = load_config(paths.params, paths.contract)
    m = params.monitor
    try:
        source = resolve(source, paths, params)
    except NothingToMonitor as why:
        report = {"window": {"source": None, "rows": 0}, "verdict": {"alert": False, "judged": False,
                  "reasons": [str(why)]}}  # fmt: skip
        write_json(paths.monitor / "monitor.json", report)
        write_text(paths.monitor / "monitor.md", f"# Model monitor\n\nℹ️ Not judged — {why}\n")
        export(report, m, paths, contract)
        return report
    kind = window_kind(source)
    if kind != "next-year" and Path(source).resolve().is_relative_to(paths.monitor.resolve()):
        raise DataError(f"{source}: is inside {paths.monitor}, where the monitor writes its report; move the window")
    from_log = kind == "log"
    reference = read_frame(paths.train)
    ref_proba = read_frame(paths.predictions)["model"].to_numpy()
    summary = reference_summary(reference, contract, m)
    distributed = (engine or params.scale.engine) == "dask" and kind != "next-year"
    if not distributed and process_env().dask_scheduler_address:
        log.info("%s is set but the engine is pandas: monitoring in this process (ENGINE=dask uses it)", ADDRESS_ENV)
    if distributed:
        payload = model_payload(paths.card, contract)
        scorer = load_scorer(paths.card, contract)
        columns = log_columns(contract) if from_log else data_columns(source)
        what = f"prediction log {source}" if from_log else f"data in {source}"
    else:
        scorer = load_scorer(paths.card, contract)
        raw, what = load_window(source, kind, paths, params, contract)
        if raw.empty:
            raise DataError(f"{what}: the window has no rows")
        columns = list(raw.columns)
    ctx = Context(contract, summary, numeric_reference(ref_proba, m), quality_specs(contract, columns, from_log),
                  from_log, role)  # fmt: skip
    if distributed:
        window = combined_window(source, ctx, payload, params, progress)
    else:
        window = combine([part_stats(raw, scorer, ctx, what)], ctx)
    if window.rows == 0:
        raise DataError(f"{what}: the window has no {role} rows" if from_log else f"{what}: the window has no rows")
    if from_log and window.ts is not None:
        what = f"{what} ({role}, {window.ts[0]} to {window.ts[1]})"
    log.info("window: %s, %d rows; reference: %d training rows", what, window.rows, len(reference))
    features = drift_from(summary, window.counts, m)
    pred = prediction_drift_from(ctx.predictions, window.predictions, m)
    failed = [c for c in window.checks if not c["success"]]
    q = {"evaluated": len(window.checks), "failed": len(failed), "checks": window.checks}
    drops: dict[str, Any] = {}
    slices: dict[str, Any] = {}
    if window.labelled is not None:
        drops, slices = labelled_metrics(window.labelled, params, contract, paths, scorer.threshold)
    out = paths.monitor
    plots = []
    for d in [*[d for d in features if d.drifted], pred]:
        write_text(out / f"{d.name}.svg", bar_svg(d))
        plots.append(str(out / f"{d.name}.svg"))
    report = {
        "window": {
            "source": what,
            "rows": window.rows,
            "from_prediction_log": from_log,
            "engine": "dask" if distributed else "pandas",
        },
        "reference": {"rows": len(reference), "train": str(paths.train), "predictions": str(paths.predictions)},
        "model_version": scorer.version,
        "model_sha256": scorer.sha256,
        "verdict": verdict(
            window.rows,
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
            "window_mean": window.mean,
            "reference_mean": float(ref_proba.mean()),
        },
        "quality": q,
        "metrics": drops,
        "slices": slices,
        "plots": plots,
        "challenger": compared_roles(window.logged),
    }
    write_json(out / "monitor.json", report)
    write_text(out / "monitor.md", markdown(report, features, pred, m))
    export(report, m, paths, contract)
    return report


def export(report: dict[str, Any], m: MonitorParams, paths: PipelinePaths, contract: Contract) -> None:
    """monitor.prom beside monitor.json (node-exporter's textfile collector), and a push to
    ``PUSHGATEWAY_URL`` when it is set (grouped by the contract's dataset name)."""
    registry = monitor_registry(report, m, time.time())
    write_metrics(paths.monitor / "monitor.prom", registry)
    if url := process_env().pushgateway_url:
        push_metrics(url, registry, contract.name)


def log_columns(contract: Contract) -> list[str]:
    """The columns :func:`~mlpipe.io.predlog.read_prediction_log` gives."""
    return [
        "ts",
        "source",
        "role",
        "model_version",
        "request_id",
        "client_gone",
        "id",
        *contract.features,
        "probability",
        "prediction",
    ]


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--window", default="auto", help="auto | next-year | a prediction-log dir | a data dir or file")
    ap.add_argument("--role", default="champion", help="which model's logged traffic (champion or challenger)")
    ap.add_argument("--engine", choices=["pandas", "dask"], help="default: scale.engine in params.yaml")
    ap.add_argument("--fail-on-alert", action="store_true")
    ap.add_argument("--no-progress", action="store_true")
    args = ap.parse_args(argv)
    report = monitor(args.window, args.role, args.engine, not args.no_progress)
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
