"""Locust user for ``make bench-serve``: POST /predict with records from $BENCH_RECORDS (JSON lines).

Fixed rate when $BENCH_RATE_PER_USER is set (constant throughput per user), else as fast as the
server answers (saturation).
"""

from __future__ import annotations

import itertools
import os
from pathlib import Path

from locust import FastHttpUser, constant, constant_throughput, task

_BODIES = Path(os.environ["BENCH_RECORDS"]).read_text().splitlines()
_RATE = os.environ.get("BENCH_RATE_PER_USER")


class Predict(FastHttpUser):
    wait_time = constant_throughput(float(_RATE)) if _RATE else constant(0)

    def on_start(self) -> None:
        self.bodies = itertools.cycle(_BODIES[id(self) % len(_BODIES) :] + _BODIES)

    @task
    def predict(self) -> None:
        self.client.post("/predict", data=next(self.bodies), headers={"content-type": "application/json"})
