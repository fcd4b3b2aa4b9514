"""``python -m mlpipe.serving``: run the service under uvicorn (``make serve``, the container's entrypoint).

Options become ``MLPIPE_*`` variables so every uvicorn worker builds the same app
(see mlpipe.serving.settings); the variables can be set directly instead. With ``--workers`` > 1
the workers share their Prometheus metrics through files in ``PROMETHEUS_MULTIPROC_DIR`` (a fresh
temporary directory unless set; emptied at start either way), so ``/metrics`` counts all of them.
"""

from __future__ import annotations

import argparse
import functools
import logging
import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path

import uvicorn

from mlpipe.config import HttpLimits
from mlpipe.env import process_env
from mlpipe.errors import PipelineError
from mlpipe.logs import setup_logging
from mlpipe.serving.metrics import MULTIPROC_DIR, remove_metric_files
from mlpipe.serving.protocol import BoundedHttpTools
from mlpipe.serving.settings import Settings

log = logging.getLogger(__name__)


def bounded(name: str, low: int, high: int) -> Callable[[str], int]:
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{name} must be a whole number, not {text!r}") from None
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"{name} must be between {low} and {high}, not {value}")
        return value

    return parse


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(prog="python -m mlpipe.serving", description=__doc__)
    env = process_env()
    ap.add_argument("--host", default=env.host)
    # string defaults go through `type` too: a bad PORT or WEB_CONCURRENCY is refused by argparse, named
    ap.add_argument("--port", type=bounded("--port / PORT", 0, 65535), default=env.port)
    ap.add_argument(
        "--workers",
        type=bounded("--workers / WEB_CONCURRENCY", 1, 256),
        default=env.web_concurrency,
    )
    ap.add_argument("--root", help="repository root holding dvc.yaml (default: .)")
    ap.add_argument("--card", help="model card (default: paths.card in dvc.yaml)")
    ap.add_argument("--prediction-log", help="directory, or 'off' (default: paths.prediction_log in dvc.yaml)")
    ap.add_argument("--micro-batch", choices=["on", "off"], help="override serve.micro_batch.enabled")
    ap.add_argument("--challenger-card", help="a second model's card: shadow or canary (serve.challenger)")
    args = ap.parse_args(argv)
    for opt, var in (
        ("root", "MLPIPE_ROOT"),
        ("card", "MLPIPE_CARD"),
        ("prediction_log", "MLPIPE_PREDICTION_LOG"),
        ("micro_batch", "MLPIPE_MICRO_BATCH"),
        ("challenger_card", "MLPIPE_CHALLENGER_CARD"),
    ):
        if getattr(args, opt) is not None:
            os.environ[var] = getattr(args, opt)
    setup_logging()
    try:  # here, once: a bad setting must stop the service, not crash-loop every worker uvicorn restarts
        settings = Settings.from_env()
    except (ValueError, PipelineError, OSError) as err:
        log.error("the service cannot start: %s", err)
        raise SystemExit(2) from None
    own_dir, metrics_dir = None, env.prometheus_multiproc_dir
    if args.workers > 1 and not metrics_dir:  # set for the workers, which prometheus-client reads it in
        own_dir = metrics_dir = os.environ[MULTIPROC_DIR] = tempfile.mkdtemp(prefix="mlpipe-metrics-")
    if metrics_dir:  # set here or by the user, for one worker or several
        shared = Path(metrics_dir)
        shared.mkdir(parents=True, exist_ok=True)
        remove_metric_files(shared)
    try:
        run(args, settings.params.serve.http)
    finally:
        if own_dir is not None:
            shutil.rmtree(own_dir, ignore_errors=True)


def run(args: argparse.Namespace, limits: HttpLimits) -> None:
    uvicorn.run(
        "mlpipe.serving.app:app_from_env",
        factory=True,
        host=args.host,
        port=args.port,
        workers=args.workers,
        # uvicorn calls it as it would the class; a partial (not a subclass made here) pickles to every worker
        http=functools.partial(BoundedHttpTools, limits=limits),  # type: ignore[arg-type]
        timeout_keep_alive=limits.keep_alive_s,
        limit_concurrency=limits.max_concurrency,
        log_config=None,
        access_log=False,
        timeout_graceful_shutdown=10,
    )


if __name__ == "__main__":
    main()
