"""The service's Prometheus metrics, right with one uvicorn worker or several.

Each worker is its own process with its own counters, and a scrape reaches one of them. With
several workers ``python -m mlpipe.serving`` sets ``PROMETHEUS_MULTIPROC_DIR`` before they start:
prometheus-client then keeps every worker's values in files there and ``/metrics`` adds them up
(counters and histograms summed; ``mlpipe_ready`` is the lowest of the live workers,
``mlpipe_model_info`` the highest, pending log rows the live workers' sum). With one worker the
values stay in memory, in this app's own registry (several apps in one test process do not clash).
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Gauge, Histogram, generate_latest, values
from prometheus_client import multiprocess as mp

from mlpipe.config import AlertParams
from mlpipe.env import PROMETHEUS_MULTIPROC_DIR, process_env
from mlpipe.io.predlog import PredictionLog, process_running

MULTIPROC_DIR = PROMETHEUS_MULTIPROC_DIR  # the variable's name, written once in mlpipe.env
CONTENT_TYPE = CONTENT_TYPE_LATEST
LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.0075, 0.01, 0.015, 0.02, 0.03, 0.05, 0.075, 0.1, 0.25, 0.5, 1.0, 2.5)


def shared_between_processes() -> bool:
    """prometheus-client picks in-memory or file-backed values once, when it is imported: ask it."""
    return bool(values.ValueClass._multiprocess)


# prometheus-client's own files: <type>_<pid>.db (only these are ever deleted from the directory)
METRIC_FILE = re.compile(r"^(?:counter|histogram|summary|gauge_(?:live)?[a-z]+)_(\d+)\.db$")
_LIVE_GAUGE = re.compile(r"^gauge_live[a-z]+_(\d+)\.db$")


def remove_metric_files(directory: Path) -> None:
    """A previous run's counts must not add up to this one's."""
    for f in directory.glob("*.db"):
        if METRIC_FILE.match(f.name):
            f.unlink(missing_ok=True)


def forget_dead_workers() -> None:
    """A worker killed (OOM, SIGKILL) never ran its shutdown: drop its live gauges (ready, model
    info, pending log rows) so they do not hold their last values forever."""
    directory = multiprocess_dir()
    if directory is None:
        return
    for f in Path(directory).glob("gauge_live*.db"):
        m = _LIVE_GAUGE.match(f.name)
        if m and not process_running(int(m.group(1))):
            mp.mark_process_dead(int(m.group(1)))  # type: ignore[no-untyped-call]


def multiprocess_dir() -> str | None:
    return process_env().prometheus_multiproc_dir or None


def alert_threshold_gauge(registry: CollectorRegistry) -> Gauge:
    return Gauge(
        "mlpipe_alert_threshold", "params.yaml serve.alerts, as the alert rules read them", ["name"],
        registry=registry, multiprocess_mode="livemax",
    )  # fmt: skip


def set_alert_thresholds(gauge: Gauge, alerts: AlertParams) -> None:
    """One series per target, in the rules' units (seconds, ratios, events)."""
    gauge.labels("p99_latency_seconds").set(alerts.p99_latency_ms / 1000)
    gauge.labels("max_5xx_ratio").set(alerts.max_5xx_ratio)
    gauge.labels("prediction_shift").set(alerts.prediction_shift)
    gauge.labels("max_stream_lag").set(alerts.max_stream_lag)


class Metrics:
    def __init__(self) -> None:
        self.shared = shared_between_processes()
        self.registry = r = CollectorRegistry()
        self.requests = Counter("mlpipe_requests", "HTTP requests", ["endpoint", "status"], registry=r)
        self.errors = Counter(
            "mlpipe_request_errors", "HTTP requests answered 4xx/5xx", ["endpoint", "status"], registry=r
        )
        self.latency = Histogram(
            "mlpipe_request_latency_seconds", "time from request to response", ["endpoint"], buckets=LATENCY_BUCKETS,
            registry=r,
        )  # fmt: skip
        self.predictions = Counter(
            "mlpipe_predictions", "predictions made", ["model", "role", "prediction"], registry=r
        )
        self.model_info = Gauge(
            "mlpipe_model_info", "the loaded model (value 1)", ["model", "role", "data_sha256"], registry=r,
            multiprocess_mode="livemax",
        )  # fmt: skip
        self.ready = Gauge(
            "mlpipe_ready", "1 when the model is loaded and verified", registry=r, multiprocess_mode="livemin"
        )
        self.batch_rows = Histogram(
            "mlpipe_micro_batch_rows", "requests scored per model call", buckets=(1, 2, 4, 8, 16, 32, 64, 128, 256),
            registry=r,
        )  # fmt: skip
        # The prediction log's own counts, copied in by sync_log: a failing log shows in /metrics.
        self.log_written = Counter(
            "mlpipe_prediction_log_rows_written", "prediction rows written to the log", registry=r
        )
        self.log_errors = Counter(
            "mlpipe_prediction_log_errors", "failed attempts to write the prediction log", registry=r
        )
        self.log_dropped = Counter(
            "mlpipe_prediction_log_dropped_rows", "rows lost: the log failed and its queue was full", registry=r
        )
        self.log_pending = Gauge(
            "mlpipe_prediction_log_pending_rows", "rows waiting in memory for the log to be writable", registry=r,
            multiprocess_mode="livesum",
        )  # fmt: skip
        # What observability/rules.yml compares with: params.yaml serve.alerts, and the test set's mean
        # probability (the evaluate stage's metrics.json) for the model loaded.
        self.thresholds = alert_threshold_gauge(r)
        self.probability_sum = Counter(
            "mlpipe_prediction_probability_sum", "sum of the probabilities answered (mean: / mlpipe_predictions)",
            ["model", "role"], registry=r,
        )  # fmt: skip
        self.reference_mean = Gauge(
            "mlpipe_reference_mean_probability", "the model's mean probability on the test set", ["model"],
            registry=r, multiprocess_mode="livemax",
        )  # fmt: skip
        self._copied = (0, 0, 0)

    def sync_log(self, plog: PredictionLog) -> None:
        """Add what the log counted since the last call (on every scrape, and every second for the
        workers a scrape does not reach)."""
        now = (plog.written_rows, plog.errors, plog.dropped_rows)
        for counter, new, old in zip(
            (self.log_written, self.log_errors, self.log_dropped), now, self._copied, strict=True
        ):
            if new > old:
                counter.inc(new - old)
        self._copied = now
        self.log_pending.set(plog.pending_rows)

    def exposition(self) -> bytes:
        """The text a scrape gets: this process's registry, or every worker's files."""
        if not self.shared:
            return generate_latest(self.registry)
        forget_dead_workers()
        merged = CollectorRegistry()
        mp.MultiProcessCollector(merged)  # type: ignore[no-untyped-call]
        return generate_latest(merged)

    def close(self) -> None:
        """A worker that stops takes its live gauges (ready, model info, pending rows) with it."""
        if self.shared:
            mp.mark_process_dead(os.getpid())  # type: ignore[no-untyped-call]
