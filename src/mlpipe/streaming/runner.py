"""The consumer wired to a broker through FastStream: NATS JetStream (embedded default) or Kafka.

Per batch: check and score (in a worker thread), publish every prediction and dead letter and wait
for the broker's acknowledgement of each, log the predictions the broker took as new, then
acknowledge the input batch. A crash anywhere before the last step redelivers the batch; its
predictions carry the event key (NATS ``Nats-Msg-Id``, Kafka message key), so the output stream
drops (NATS, within ``dedupe_window_s``) or downstream readers can drop (Kafka) the duplicates.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from functools import partial
from typing import Any

from faststream import AckPolicy, Context

from mlpipe.errors import PublishFailed
from mlpipe.io.predlog import PredictionLog
from mlpipe.serving.metrics import set_alert_thresholds
from mlpipe.serving.scorer import load_scorer
from mlpipe.serving.settings import Settings
from mlpipe.streaming.consumer import BatchScorer, lag_seconds
from mlpipe.streaming.events import Checker, Message, dead_letter
from mlpipe.streaming.jetstream import BatchPublisher
from mlpipe.streaming.metrics import StreamMetrics, serve_probes
from mlpipe.streaming.settings import StreamEnv

log = logging.getLogger(__name__)
#: NATS batches scored and published at once (each message is acknowledged on its own, in any order).
#: Kafka commits an offset for everything before it, so there a batch must finish before the next.
NATS_IN_FLIGHT = 2
#: Unacknowledged batches JetStream lets the consumer hold (its backpressure bound, memory included): those
#: in flight, one fetched and waiting for a slot, and one for acknowledgements still on their way (without
#: it a fetch right after a batch's acknowledgements often got one event: a whole batch's cost for it).
NATS_PENDING_BATCHES = NATS_IN_FLIGHT + 2
BROKER_LOG = logging.getLogger("mlpipe.streaming.broker")  # FastStream's lines, through our handlers (JSON too)
#: (subject or topic, key, body) per message -> whether each was new to the broker; raises when one was
#: not durably published (the batch is then not acknowledged)
Publish = Callable[[list[tuple[str, str, bytes]]], Awaitable[list[bool]]]


class Consumer:
    def __init__(self, env: StreamEnv, settings: Settings) -> None:
        self.env, self.settings = env, settings
        self.metrics = StreamMetrics()
        self.scorer = load_scorer(settings.card, settings.contract, root=settings.root)
        conf = settings.params.serve.prediction_log
        log_dir = settings.prediction_log
        self.plog = PredictionLog(log_dir, conf.max_bytes, conf.keep_files) if log_dir is not None else None
        self.batch = BatchScorer(self.scorer, Checker(settings.contract), self.plog)
        self.stopping = False
        self.in_flight: set[asyncio.Task[None]] = set()
        self.slots: asyncio.Semaphore | None = None  # made by the broker's wiring: how many batches at once
        self.concurrent = False
        s = self.scorer
        self.metrics.model_info.labels(s.version, s.role, str(s.card.get("data_sha256"))).set(1)
        set_alert_thresholds(self.metrics.thresholds, settings.params.serve.alerts)
        self.broker: Any = None

    async def process(self, messages: list[Message], publish: Publish) -> None:
        """One delivered batch, all or nothing: an exception leaves it unacknowledged (redelivered)."""
        m, env = self.metrics, self.env
        m.events.inc(len(messages))
        t0 = time.perf_counter()
        scored = self.batch.score(messages)
        t1 = time.perf_counter()
        sends = [(env.output, key, body) for key, body in scored.outputs]
        sends += [(env.dead_letter, bad.key, dead_letter(bad)) for bad in scored.dead]
        try:
            fresh = (await publish(sends))[: len(scored.outputs)]
        except PublishFailed as err:  # what the broker took as new is published: its log rows are written now
            taken = err.fresh[: len(scored.outputs)]  # (when the batch comes again, those are duplicates)
            m.log_rows.inc(self.batch.log_published(scored, taken))
            raise
        t2 = time.perf_counter()
        logged = self.batch.log_published(scored, fresh)
        log.debug("batch of %d: scored in %.1f ms, published in %.1f ms, logged in %.1f ms", len(messages),
                  (t1 - t0) * 1e3, (t2 - t1) * 1e3, (time.perf_counter() - t2) * 1e3)  # fmt: skip
        m.log_rows.inc(logged)
        m.batch.observe(len(messages))
        m.duplicates.inc(fresh.count(False))
        if scored.proba is not None:
            for y, n in Counter(map(str, scored.predictions)).items():
                m.predictions.labels(self.scorer.version, y).inc(n)
            for g in scored.good:
                if (lag := lag_seconds(g.event_time)) is not None:
                    m.latency.observe(max(lag, 0.0))
        for error, n in Counter(bad.error for bad in scored.dead).items():
            m.dead.labels(error).inc(n)
        if scored.dead:
            log.warning("%d of %d events dead-lettered to %s", len(scored.dead), len(messages), env.dead_letter)

    async def guarded(self, messages: list[Message], publish: Publish, ack: Callable[[], Awaitable[None]],
                      nack: Callable[[], Awaitable[None]]) -> None:  # fmt: skip
        """Starts the batch and returns, so the broker's client fetches the next one while this one is
        scored and published; waits while the broker's batches in flight are all taken. A batch arriving
        while stopping goes back at once; ones in flight finish and are acknowledged (see ``run``)."""
        assert self.slots is not None
        if self.stopping:
            await nack()
            return
        await self.slots.acquire()
        if self.stopping:
            self.slots.release()
            await nack()
            return
        task = asyncio.get_running_loop().create_task(self.settle(messages, publish, ack, nack))
        self.in_flight.add(task)
        task.add_done_callback(self.in_flight.discard)
        if not self.concurrent:  # Kafka: this batch is committed before the next is taken
            await task

    async def settle(self, messages: list[Message], publish: Publish, ack: Callable[[], Awaitable[None]],
                     nack: Callable[[], Awaitable[None]]) -> None:  # fmt: skip
        """A batch that fails goes back: on NATS it is left unacknowledged (JetStream delivers it again
        after ``ack_wait_s``, a natural pause before a retry); on Kafka it is nacked, which seeks back to
        it (otherwise the next batch's commit would cover its offsets: lost)."""
        assert self.slots is not None
        try:
            await self.process(messages, publish)
            await ack()
        except Exception:
            log.exception("a batch of %d events failed; it will be delivered again", len(messages))
            if not self.concurrent:
                await nack()
        finally:
            self.slots.release()

    def nats_broker(self) -> Any:
        from faststream.nats import JStream, NatsBroker, PullSub  # noqa: PLC0415 - one broker's client only
        from nats.js.api import ConsumerConfig  # noqa: PLC0415

        env, names = self.env, self.env.streams

        async def disconnected() -> None:  # not ready while the broker is away; the client reconnects
            if not self.stopping:
                log.warning("broker %s unreachable: not ready until it is back", env.url)
                self.metrics.set_ready(False)

        async def reconnected() -> None:
            if not self.stopping:
                log.info("broker %s reconnected", env.url)
                self.metrics.set_ready(True)

        self.slots, self.concurrent = asyncio.Semaphore(NATS_IN_FLIGHT), True
        broker = NatsBroker(env.url, max_reconnect_attempts=-1, reconnect_time_wait=1, logger=BROKER_LOG,
                            log_level=logging.DEBUG, disconnected_cb=disconnected,
                            reconnected_cb=reconnected)  # fmt: skip
        broker.publisher(env.output, stream=JStream(names["output"], subjects=[env.output],
                                                    duplicate_window=env.dedupe_window_s))  # fmt: skip
        broker.publisher(env.dead_letter, stream=JStream(names["dead_letter"], subjects=[env.dead_letter],
                                                         duplicate_window=env.dedupe_window_s))  # fmt: skip
        stream_of = {env.output: names["output"], env.dead_letter: names["dead_letter"]}

        publisher: list[BatchPublisher] = []  # one for the connection, once connected
        # predictions not all acknowledged in half the acknowledgement wait: the batch fails, and JetStream
        # delivers it again once its wait is over (a copy delivered while one is in flight is harmless:
        # its predictions are duplicates the stream drops, and only what was new is logged)
        timeout_s = env.ack_wait_s / 2

        async def publish(messages: list[tuple[str, str, bytes]]) -> list[bool]:
            if not publisher:
                publisher.append(BatchPublisher(broker.connection))
            return await publisher[0].publish([(s, stream_of[s], k, b) for s, k, b in messages], timeout_s)

        async def raw(msg: Any) -> Any:
            """The handler's argument: the delivered nats-py messages, their payloads read raw (one that is
            not JSON is a dead letter). Not ``Context("message")``: FastStream resolves that in a worker
            thread, a thread hand-off per batch; and not the batch itself, which would then refer to itself
            (a cycle: memory freed by the collector only, not when the batch is done)."""
            return list(msg.raw_message)

        async def ack_all(msgs: list[Any]) -> None:  # what FastStream's batch ack and nack do, message by message
            for m in msgs:
                await m.ack()

        async def nak_all(msgs: list[Any]) -> None:  # only while stopping: a pause, or we would fetch them again
            for m in msgs:
                await m.nak(delay=1.0)

        def key_of(m: Any) -> Callable[[], str]:  # a nats.aio.msg.Msg: its id, else its place in the stream
            return lambda: (m.headers or {}).get("Nats-Msg-Id") or f"{names['input']}:{m.metadata.sequence.stream}"

        @broker.subscriber(
            env.input, stream=JStream(names["input"], subjects=[env.input]), durable=env.group,
            config=ConsumerConfig(ack_wait=env.ack_wait_s, max_ack_pending=env.batch_size * NATS_PENDING_BATCHES),
            pull_sub=PullSub(batch_size=env.batch_size, timeout=env.batch_wait_ms / 1000, batch=True),
            ack_policy=AckPolicy.MANUAL, decoder=raw,
        )  # fmt: skip
        async def on_batch(msgs: Any) -> None:
            batch = [(m.data, key_of(m)) for m in msgs]
            await self.guarded(batch, publish, partial(ack_all, msgs), partial(nak_all, msgs))

        return broker

    def kafka_broker(self) -> Any:
        from faststream.kafka import KafkaBroker  # noqa: PLC0415 - one broker's client only

        env = self.env
        servers = env.url.split("://", 1)[1].split(",")
        self.slots = asyncio.Semaphore(1)
        broker = KafkaBroker(servers, enable_idempotence=True, acks="all", logger=BROKER_LOG, log_level=logging.DEBUG)

        async def publish(messages: list[tuple[str, str, bytes]]) -> list[bool]:
            # each returns once the broker has it (acks=all); Kafka keeps a redelivered event's second
            # prediction: readers keep one per key
            sends = (broker.publish(body, topic, key=key.encode()) for topic, key, body in messages)
            sent = await asyncio.gather(*sends, return_exceptions=True)
            if failed := [r for r in sent if isinstance(r, BaseException)]:
                delivered = [not isinstance(r, BaseException) for r in sent]
                problem = f"{len(failed)} of {len(messages)} messages not delivered: {failed[0]!r}"
                raise PublishFailed(problem, delivered)
            return [True] * len(messages)

        async def raw(_: Any) -> None:  # the payloads are read raw: one that is not JSON is a dead letter
            return None

        def key_of(r: Any) -> Callable[[], str]:  # an aiokafka ConsumerRecord: its key, else its place in the topic
            return lambda: r.key.decode("utf-8", "replace") if r.key else f"{r.topic}:{r.partition}:{r.offset}"

        @broker.subscriber(
            env.input, group_id=env.group, batch=True, max_records=env.batch_size,
            batch_timeout_ms=max(1, int(env.batch_wait_ms)), auto_offset_reset="earliest",
            ack_policy=AckPolicy.MANUAL, decoder=raw,
        )  # fmt: skip
        async def on_batch(msg: Any = Context("message")) -> None:  # noqa: B008 - FastStream injects the batch
            records = msg.raw_message if isinstance(msg.raw_message, tuple | list) else (msg.raw_message,)
            batch = [(r.value or b"", key_of(r)) for r in records]
            await self.guarded(batch, publish, msg.ack, msg.nack)

        return broker

    async def lag_loop(self) -> None:
        """The input's backlog as the broker reports it (NATS: the durable consumer's pending count)."""
        if self.env.kind != "nats":
            return
        while True:
            await asyncio.sleep(5)
            with contextlib.suppress(Exception):  # a broker away for a moment: the next round reports
                info = await self.broker.connection.jetstream().consumer_info(self.env.streams["input"], self.env.group)
                self.metrics.lag.set(info.num_pending or 0)

    async def run(self, stop: asyncio.Event) -> None:
        env = self.env
        self.broker = self.nats_broker() if env.kind == "nats" else self.kafka_broker()
        probes = await serve_probes(self.metrics, env.metrics_host, env.metrics_port) if env.metrics_port else None
        lag = asyncio.get_running_loop().create_task(self.lag_loop(), name="consumer-lag")
        try:
            await self.broker.start()
            self.metrics.set_ready(True)
            log.info("consuming %s from %s as %s: model %s (%s), predictions to %s, dead letters to %s",
                     env.input, env.url, env.group, self.scorer.version, self.settings.card, env.output,
                     env.dead_letter)  # fmt: skip
            await stop.wait()
        finally:
            self.metrics.set_ready(False)
            self.stopping = True
            log.info("stopping: finishing the batches in flight")
            while self.in_flight:
                await asyncio.gather(*self.in_flight)
            lag.cancel()
            await self.broker.stop()
            if probes is not None:
                probes.close()
            if self.plog is not None:
                self.plog.close()
            log.info("stopped")
