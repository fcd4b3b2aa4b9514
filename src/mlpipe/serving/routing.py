"""The models behind the routes: the champion, an optional challenger (shadow or canary), their
micro-batchers and the prediction log.

The champion is loaded after its hash check; if that fails the process stays up with ``reason``
set (``/ready`` answers 503 and says why), so an orchestrator shows the cause instead of a crash
loop. A challenger that fails to load never stops the champion.
"""

from __future__ import annotations

import asyncio
import functools
import gc
import hashlib
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from mlpipe.env import process_env
from mlpipe.errors import DataError
from mlpipe.io.files import read_json
from mlpipe.io.git import current_commit
from mlpipe.io.predlog import PredictionLog
from mlpipe.serving.batcher import MicroBatcher, Rows
from mlpipe.serving.metrics import Metrics, set_alert_thresholds
from mlpipe.serving.responses import no_dirs
from mlpipe.serving.scorer import Scorer, load_scorer, records_frame
from mlpipe.serving.settings import Settings

log = logging.getLogger(__name__)


def running_commit(root: Path) -> str | None:
    """The commit of the code serving: ``GIT_COMMIT`` (the image's build argument), else the
    checkout's HEAD. Asked here, at run time: the model card records inputs only, no commit."""
    return process_env().git_commit or current_commit(root)


@dataclass
class Router:
    settings: Settings
    metrics: Metrics
    columns: list[str]  # the request's fields, in the order rows are built
    scorer: Scorer | None = None
    reason: str = "starting"
    plog: PredictionLog | None = None
    batcher: MicroBatcher | None = None
    challenger: Scorer | None = None
    challenger_reason: str = ""
    challenger_batcher: MicroBatcher | None = None
    commit: str | None = None
    _retry: asyncio.Task[None] | None = field(default=None, repr=False)
    _froze: bool = field(default=False, repr=False)  # this app froze the heap at start (see start)

    @property
    def shadow_mode(self) -> bool:
        return self.challenger is not None and self.settings.params.serve.challenger.mode == "shadow"

    def load(self) -> None:
        """Blocking (model files): run in a thread at startup."""
        s = self.settings
        self.commit = running_commit(s.root)
        set_alert_thresholds(self.metrics.thresholds, s.params.serve.alerts)
        try:
            self.scorer = load_scorer(s.card, s.contract, root=s.root)
        except Exception as err:  # the process stays up and says why it is not ready
            self.scorer, self.reason = None, no_dirs(f"{type(err).__name__}: {err}")
            log.error("model not loaded, /ready is false: %s: %s", type(err).__name__, err)
            self.metrics.ready.set(0)
            return
        self.reason = ""
        self.metrics.ready.set(1)
        p = self.scorer.provenance()
        self.metrics.model_info.labels(p["model_version"], p["role"], str(p["data_sha256"])).set(1)
        self._reference()
        log.info(
            "ready: model %s trained on data %s (serving commit %s)", p["model_version"], p["data_sha256"], self.commit
        )
        if s.challenger_card is not None:
            try:
                self.challenger = load_scorer(s.challenger_card, s.contract, "challenger", s.root)
            except Exception as err:  # the champion serves on; /version says why there is no challenger
                self.challenger_reason = no_dirs(f"{type(err).__name__}: {err}")
                log.error("challenger not loaded: %s: %s", type(err).__name__, err)
                return
            c = self.challenger.provenance()
            self.metrics.model_info.labels(c["model_version"], "challenger", str(c["data_sha256"])).set(1)
            mode = s.params.serve.challenger
            share = f", {mode.fraction:.0%} of requests" if mode.mode == "canary" else ""
            log.info("challenger %s loaded: %s%s", c["model_version"], mode.mode, share)

    def _reference(self) -> None:
        """The test set's mean probability for this model (what its traffic's mean is watched against),
        when the evaluate stage's metrics.json is there and is this model's."""
        s = self.settings
        if s.metrics is None or self.scorer is None:
            return
        path = s.root / s.metrics
        try:
            figures = read_json(path)
            mean = float(figures["test"]["mean_probability"])
        except (OSError, ValueError, KeyError, TypeError, DataError) as err:
            log.warning("no reference mean probability (%s: %s): the prediction-shift alert stays quiet", path, err)
            return
        if figures.get("model_sha256") != self.scorer.sha256:
            log.warning("%s is another model's: no reference mean probability", path)
            return
        self.metrics.reference_mean.labels(self.scorer.version).set(mean)

    async def start(self) -> None:
        await asyncio.get_running_loop().run_in_executor(None, self.load)
        s, serve = self.settings, self.settings.params.serve
        if s.prediction_log is not None:
            self.plog = PredictionLog(s.prediction_log, serve.prediction_log.max_bytes, serve.prediction_log.keep_files)
        if self.scorer is not None:
            self.batcher = self._batcher(self.scorer)
        if self.challenger is not None and serve.challenger.mode == "canary":
            self.challenger_batcher = self._batcher(self.challenger)
        self._retry = asyncio.get_running_loop().create_task(self._every_second(), name="prediction-log-retry")
        # The model, pandas and FastAPI leave ~200,000 long-lived objects: every full collection walked
        # them all (~120 ms, every request stalled). Frozen, collections see only what requests make.
        # A host that froze its heap already (the test suite after collection, a server that freezes
        # before forking workers) keeps it frozen: the model is frozen too, without a full collection
        # first, and nothing is handed back at stop (a test process paid ~0.35 s an app for both).
        self._froze = gc.get_freeze_count() == 0
        if self._froze:
            gc.collect()
        gc.freeze()

    async def stop(self) -> None:
        if self._retry is not None:
            self._retry.cancel()
        for b in (self.batcher, self.challenger_batcher):
            if b is not None:
                await b.stop()
        if self.plog is not None:
            self.plog.close()
            self.metrics.sync_log(self.plog)
        self.metrics.close()
        if self._froze:  # this app froze the heap: another app in this process must not inherit it
            gc.unfreeze()
            self._froze = False

    def _batcher(self, scorer: Scorer) -> MicroBatcher:
        mb, micro = self.settings.params.serve.micro_batch, self.settings.micro_batch
        on = mb.enabled if micro is None else micro
        b = MicroBatcher(
            functools.partial(self.score_and_log, scorer),
            functools.partial(self.shadow, scorer),
            window_s=mb.window_ms / 1000 if on else 0.0,
            max_rows=mb.max_rows if on else 1,
            on_batch=self.metrics.batch_rows.observe,
        )
        b.start()
        return b

    async def _every_second(self) -> None:
        """Rows queued while the disk refused them are written once it takes them, with or without
        traffic; the log's counts reach the metrics (with several workers a scrape reaches one)."""
        loop = asyncio.get_running_loop()
        while True:
            await asyncio.sleep(1.0)
            plog, batcher = self.plog, self.batcher
            if plog is None:
                continue
            if plog.pending_rows and batcher is not None:
                await loop.run_in_executor(batcher.log_executor, plog.flush)
            self.metrics.sync_log(plog)

    def pick(self, key: str) -> Scorer:
        """Canary routing: the same key always lands on the same model."""
        assert self.scorer is not None
        c = self.settings.params.serve.challenger
        if self.challenger is None or c.mode != "canary":
            return self.scorer
        bucket = int.from_bytes(hashlib.sha256(key.encode()).digest()[:8], "big") / 2**64
        return self.challenger if bucket < c.fraction else self.scorer

    def batcher_for(self, scorer: Scorer) -> MicroBatcher:
        b = self.challenger_batcher if scorer is self.challenger else self.batcher
        assert b is not None
        return b

    def frame(self, rows: Rows) -> pd.DataFrame:
        return records_frame(rows, self.columns, self.settings.contract)

    def score_and_log(
        self, scorer: Scorer, rows: Rows, request_ids: list[str], gone: list[bool] | None = None
    ) -> tuple[pd.DataFrame, np.ndarray]:
        """Score, then count and log the call, all before any answer is sent: a row handed to the log is
        written to the OS at once (unbuffered), so a worker killed after answering has logged the row.
        ``gone`` marks the rows whose client had disconnected (their answer reaches no one)."""
        frame = self.frame(rows)
        proba = scorer.proba(frame)
        self._record(scorer, frame, request_ids, proba, gone)
        return frame, proba

    def shadow(self, scorer: Scorer, frame: pd.DataFrame, request_ids: list[str], proba: Any) -> None:
        """In shadow mode the challenger scores the champion's call too, after the answers (never sent)."""
        if self.shadow_mode and scorer is self.scorer and self.challenger is not None:
            try:
                self._record(self.challenger, frame, request_ids, self.challenger.proba(frame))
            except Exception:  # the challenger never hurts the champion's traffic
                log.exception("shadow scoring by the challenger failed")

    def _record(
        self, scorer: Scorer, frame: pd.DataFrame, request_ids: list[str], proba: Any, gone: list[bool] | None = None
    ) -> None:
        values, counts = np.unique(scorer.predictions(proba), return_counts=True)
        self.metrics.probability_sum.labels(scorer.version, scorer.role).inc(float(np.sum(proba)))
        for value, count in zip(values.tolist(), counts.tolist(), strict=True):
            self.metrics.predictions.labels(scorer.version, scorer.role, str(value)).inc(count)
        if self.plog is not None:
            try:  # the log itself never raises on a failing disk (it queues, counts and recovers)
                extra = {"client_gone": gone} if gone and any(gone) else {}
                self.plog.write(scorer.event(frame, proba, "api", request_ids=request_ids, **extra))
            except Exception:  # a bug making the event: the answer is out, the metrics count it
                self.plog.errors += 1
                log.exception("could not make the prediction-log line")
