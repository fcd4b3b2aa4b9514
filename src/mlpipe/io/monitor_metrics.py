"""``make monitor``'s figures as Prometheus metrics: a text file for node-exporter's textfile collector
(``monitor.prom`` beside ``monitor.json``) and, when ``PUSHGATEWAY_URL`` is set, a push to a Pushgateway.

Every series is a gauge named ``mlpipe_monitor_*`` (observability/rules.yml alerts on them; the
dashboard draws them). Thresholds travel with the figures (``mlpipe_monitor_threshold{name}``, from
params.yaml ``monitor``), so a rule compares a figure with its own run's threshold and holds no number.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from prometheus_client import CollectorRegistry, Gauge, push_to_gateway, write_to_textfile

from mlpipe.config import MonitorParams
from mlpipe.errors import PipelineError

log = logging.getLogger(__name__)
JOB = "mlpipe_monitor"


def _gauge(r: CollectorRegistry, name: str, doc: str, labels: tuple[str, ...] = ()) -> Gauge:
    return Gauge(f"mlpipe_monitor_{name}", doc, list(labels), registry=r)


def _number(x: Any) -> float:
    return float("nan") if x is None else float(x)


def monitor_registry(report: dict[str, Any], m: MonitorParams, finished: float) -> CollectorRegistry:
    """The report's figures (``report``: what monitor.json holds; ``finished``: Unix time of the run)."""
    r = CollectorRegistry()
    _gauge(r, "last_run_timestamp_seconds", "when make monitor last finished").set(finished)
    _gauge(r, "window_rows", "rows in the window").set(report["window"]["rows"])
    verdict = report["verdict"]
    _gauge(r, "judged", "1 when the window was large enough to judge").set(int(bool(verdict.get("judged"))))
    _gauge(r, "alert", "1 when the monitor raised an alert (monitor.json verdict)").set(int(bool(verdict["alert"])))
    thresholds = _gauge(r, "threshold", "params.yaml monitor, as this run applied it", ("name",))
    for name in ("psi", "alpha", "min_effect", "prediction_psi", "max_failed_expectations", "min_rows"):
        thresholds.labels(name).set(getattr(m, name))
    if "model_version" in report:
        _gauge(r, "model_info", "the model the window was scored with (value 1)", ("model",)).labels(
            report["model_version"]
        ).set(1)
    features = report.get("features", [])
    if features:
        psi = _gauge(r, "feature_psi", "PSI of the window vs the training data", ("feature",))
        stat = _gauge(r, "feature_statistic", "KS D or chi-square statistic", ("feature", "test"))
        p_value = _gauge(r, "feature_p_value", "the test's p-value", ("feature", "test"))
        effect = _gauge(r, "feature_effect", "KS D or Cramér's V", ("feature",))
        drifted = _gauge(r, "feature_drifted", "1 when the monitor judged the feature drifted", ("feature",))
        for f in features:
            psi.labels(f["name"]).set(_number(f["psi"]))
            stat.labels(f["name"], f["test"]).set(_number(f["statistic"]))
            p_value.labels(f["name"], f["test"]).set(_number(f["p_value"]))
            effect.labels(f["name"]).set(_number(f["effect"]))
            drifted.labels(f["name"]).set(int(bool(f["drifted"])))
    pred = report.get("predictions")
    if pred:
        _gauge(r, "prediction_psi", "PSI of the window's probabilities vs the test set's").set(_number(pred["psi"]))
        _gauge(r, "prediction_drifted", "1 when the probabilities drifted").set(int(bool(pred["drifted"])))
        mean = _gauge(r, "prediction_mean", "mean probability", ("set",))
        mean.labels("window").set(_number(pred.get("window_mean")))
        mean.labels("reference").set(_number(pred.get("reference_mean")))
    quality = report.get("quality")
    if quality:
        _gauge(r, "quality_evaluated", "data-quality checks run on the window").set(quality["evaluated"])
        _gauge(r, "quality_failed", "data-quality checks the window failed").set(quality["failed"])
    drops = report.get("metrics") or {}
    if drops:
        value = _gauge(r, "metric", "labelled-window metric and its test-set reference", ("metric", "set"))
        drop = _gauge(r, "metric_drop", "how much worse than on the test set (positive: worse)", ("metric",))
        alert = _gauge(r, "metric_alert", "1 when the drop exceeds params.yaml monitor.max_metric_drop", ("metric",))
        for name, d in drops.items():
            value.labels(name, "window").set(_number(d["window"]))
            value.labels(name, "reference").set(_number(d["reference"]))
            drop.labels(name).set(_number(d["drop"]))
            alert.labels(name).set(int(bool(d["alert"])))
    return r


def write_metrics(path: Path, registry: CollectorRegistry) -> None:
    """Atomic (prometheus-client writes a temporary file and renames it): a collector never reads half."""
    path.parent.mkdir(parents=True, exist_ok=True)
    write_to_textfile(str(path), registry)


def push_metrics(url: str, registry: CollectorRegistry, instance: str) -> None:
    """Replace this instance's group on the Pushgateway (a PUT: series of an earlier run do not linger)."""
    try:
        push_to_gateway(url, job=JOB, registry=registry, grouping_key={"instance": instance}, timeout=30)
    except Exception as err:  # urllib raises several kinds; what matters is where and why
        raise PipelineError(f"PUSHGATEWAY_URL {url}: push failed: {type(err).__name__}: {err}") from None
    log.info("monitor metrics pushed to %s (job %s, instance %s)", url, JOB, instance)
