"""The consumer's Prometheus metrics, and a small HTTP server for them and for the probes."""

from __future__ import annotations

import asyncio
import contextlib
import logging

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

from mlpipe.serving.metrics import CONTENT_TYPE, LATENCY_BUCKETS, alert_threshold_gauge

log = logging.getLogger(__name__)


class StreamMetrics:
    def __init__(self) -> None:
        self.registry = r = CollectorRegistry()
        self.events = Counter("mlpipe_stream_events", "events received", registry=r)
        self.predictions = Counter(
            "mlpipe_stream_predictions", "predictions published", ["model", "prediction"], registry=r
        )
        self.duplicates = Counter(
            "mlpipe_stream_duplicates", "predictions the broker already had (a redelivered event)", registry=r
        )
        self.dead = Counter(
            "mlpipe_stream_dead_letters", "events sent to the dead-letter stream", ["error"], registry=r
        )
        self.batch = Histogram(
            "mlpipe_stream_batch_events", "events per model call", buckets=(1, 10, 50, 100, 250, 500, 1000, 5000),
            registry=r,
        )  # fmt: skip
        self.latency = Histogram(
            "mlpipe_stream_event_latency_seconds", "event_time to prediction published", buckets=LATENCY_BUCKETS,
            registry=r,
        )  # fmt: skip
        self.lag = Gauge("mlpipe_stream_consumer_lag", "events waiting in the input (broker's count)", registry=r)
        self.model_info = Gauge(
            "mlpipe_model_info", "the loaded model (value 1)", ["model", "role", "data_sha256"], registry=r
        )
        self.ready = Gauge("mlpipe_ready", "1 when the model is loaded and the broker connected", registry=r)
        self.log_rows = Counter("mlpipe_prediction_log_rows_written", "prediction rows logged", registry=r)
        self.thresholds = alert_threshold_gauge(r)  # max_stream_lag, for observability/rules.yml
        self.is_ready = False

    def set_ready(self, ready: bool) -> None:
        self.is_ready = ready
        self.ready.set(1 if ready else 0)


async def serve_probes(metrics: StreamMetrics, host: str, port: int) -> asyncio.Server:
    """GET /metrics, /health (the process lives), /ready (model loaded, broker connected: 200, else 503)."""

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            line = await asyncio.wait_for(reader.readline(), 10)
            while (await asyncio.wait_for(reader.readline(), 10)) not in (b"\r\n", b"\n", b""):
                pass
            parts = line.decode("latin-1").split()
            path = parts[1] if len(parts) > 1 else ""
            if path == "/metrics":
                status, body, kind = 200, generate_latest(metrics.registry), CONTENT_TYPE
            elif path == "/health":
                status, body, kind = 200, b'{"status":"ok"}', "application/json"
            elif path == "/ready":
                ok = metrics.is_ready
                status, body, kind = (200, b'{"ready":true}', "application/json") if ok else (
                    503, b'{"ready":false}', "application/json")  # fmt: skip
            else:
                status, body, kind = 404, b'{"error":"not found"}', "application/json"
            reason = {200: "OK", 404: "Not Found", 503: "Service Unavailable"}[status]
            head = f"HTTP/1.1 {status} {reason}\r\nContent-Type: {kind}\r\nContent-Length: {len(body)}\r\n"
            writer.write(head.encode() + b"Connection: close\r\n\r\n" + body)
            await writer.drain()
        except (TimeoutError, ConnectionError, UnicodeDecodeError):
            pass
        finally:
            writer.close()
            with contextlib.suppress(ConnectionError):
                await writer.wait_closed()

    server = await asyncio.start_server(handle, host, port)
    log.info("metrics and probes on http://%s:%d (/metrics /health /ready)", host, port)
    return server
