"""``make stream-send N=5``: publish N rows of the data as events to the consumer's input (NATS) and
print the prediction each one gets: the streaming walkthrough's third command, and a smoke test."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
import time
import uuid

import orjson

from mlpipe.cli import run_stage
from mlpipe.core.validation import plain
from mlpipe.errors import PipelineError
from mlpipe.io.files import load_config, read_data
from mlpipe.io.pipeline import pipeline_paths
from mlpipe.streaming.settings import stream_env

log = logging.getLogger(__name__)


async def send(url: str, events: list[tuple[str, bytes]], wait_s: float) -> list[bytes]:
    import nats  # noqa: PLC0415 - only this command talks to NATS directly
    from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy  # noqa: PLC0415

    env = stream_env()
    nc = await nats.connect(url, connect_timeout=5, max_reconnect_attempts=0)
    js = nc.jetstream()
    await js.add_stream(name=env.streams["input"], subjects=[env.input])
    await js.add_stream(name=env.streams["output"], subjects=[env.output], duplicate_window=env.dedupe_window_s)
    config = ConsumerConfig(deliver_policy=DeliverPolicy.NEW, ack_policy=AckPolicy.NONE)
    sub = await js.pull_subscribe(env.output, stream=env.streams["output"], config=config)
    for key, body in events:
        await js.publish(env.input, body, headers={"Nats-Msg-Id": key})
    wanted, got = {k for k, _ in events}, []
    deadline = time.monotonic() + wait_s
    while wanted and time.monotonic() < deadline:
        try:
            for m in await sub.fetch(100, timeout=1):
                if orjson.loads(m.data).get("event_id") in wanted:
                    wanted.discard(orjson.loads(m.data)["event_id"])
                    got.append(m.data)
        except nats.errors.TimeoutError:
            continue
    await nc.close()
    if wanted:
        raise PipelineError(f"{len(wanted)} of {len(events)} events got no prediction within {wait_s:.0f} s: "
                            "is `make stream` running?")  # fmt: skip
    return got


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--n", type=int, default=5, help="events to send (rows of the data)")
    ap.add_argument("--wait", type=float, default=30.0, help="seconds to wait for the predictions")
    args = ap.parse_args(argv)
    env = stream_env()
    if env.kind != "nats":
        raise PipelineError(f"MLPIPE_STREAM_URL is {env.url}: this command speaks NATS; use your Kafka tools")
    paths = pipeline_paths()
    _, contract = load_config(paths.params, paths.contract)
    rows = read_data(paths.data, contract).sample(n=args.n, random_state=0)
    run = uuid.uuid4().hex[:8]
    events = [(f"send-{run}-{i}", orjson.dumps({c: plain(r[c]) for c in [contract.id, *contract.features]}
                                               | {"event_id": f"send-{run}-{i}"}))
              for i, (_, r) in enumerate(rows.iterrows())]  # fmt: skip
    try:
        got = asyncio.run(send(env.url, events, args.wait))
    except OSError as err:
        raise PipelineError(f"cannot reach {env.url} ({err}): `make stream-up` starts NATS") from None
    for body in got:
        sys.stdout.write(body.decode() + "\n")


if __name__ == "__main__":
    run_stage(main)
