"""``make smoke URL=...``: is the deployed service up, ready, right and fast enough?

Checks, in order: ``/health``; ``/ready``; ``/version`` names the expected model; known
requests get their known answers; the latency of sequential single-record requests stays
under the bound in params.yaml (``serve.smoke``). The known answers (``paths.smoke`` in dvc.yaml)
are recorded next to the model when the image is built (``--record``), baked into the image
and attached to the release, so a rollback can check an older version with its own answers.
"""

from __future__ import annotations

import argparse
import logging
import math
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

from mlpipe.cli import run_stage
from mlpipe.config import Contract, Params
from mlpipe.core.schema import whole_number
from mlpipe.core.validation import plain
from mlpipe.env import process_env
from mlpipe.errors import SmokeFailed
from mlpipe.io.files import data_files, load_config, read_json, read_table, text_columns, write_json
from mlpipe.io.pipeline import pipeline_paths

log = logging.getLogger(__name__)


def record_known(params: Params, contract: Contract, card: Path, data_dir: Path, out: Path) -> dict[str, Any]:
    """Score the first rows of the newest data file with the model about to ship."""
    from mlpipe.serving.scorer import load_scorer  # noqa: PLC0415 - scikit-learn: not for smoke-testing a URL

    scorer = load_scorer(card, contract)
    rows = read_table(data_files(data_dir)[-1], text_columns(contract)).head(params.serve.smoke.known_rows)
    cols = [c for c in [contract.id, *contract.features] if c in rows]
    proba = scorer.proba(rows)
    known = {
        "model_sha256": scorer.sha256,
        "model_version": scorer.version,
        "requests": [
            {"record": {c: _json(plain(r[c]), contract.columns[c].dtype) for c in cols}, "probability": float(p)}
            for (_, r), p in zip(rows.iterrows(), proba, strict=True)
        ],
    }
    write_json(out, known)
    log.info("recorded %d known answers of model %s -> %s", len(known["requests"]), scorer.version, out)
    return known


def _json(value: Any, dtype: str) -> Any:
    """A value as a client would send it: ``75`` for an int column read as floats because of its blanks."""
    return whole_number(value) if dtype == "int" else value


def latency_failure(times_ms: list[float], max_ms: float) -> str | None:
    """The p95 of ``times_ms`` against the bound: a sentence when it is over, else None."""
    p95 = sorted(times_ms)[max(0, math.ceil(0.95 * len(times_ms)) - 1)]
    if p95 > max_ms:
        return f"p95 latency {p95:.1f} ms over {len(times_ms)} requests > {max_ms} ms"
    log.info("latency p95 %.1f ms over %d requests (bound %s ms)", p95, len(times_ms), max_ms)
    return None


def smoke(
    url: str,
    known: dict[str, Any],
    params: Params,
    api_key: str | None = None,
    clock: Callable[[], float] = time.perf_counter,
) -> list[str]:
    """Every failed check, as a sentence; empty when the service passed.

    ``clock`` (seconds) is injectable so the latency check's logic is tested without real time.
    """
    s = params.serve.smoke
    headers = {"X-API-Key": api_key} if api_key else {}
    failures: list[str] = []
    with httpx.Client(base_url=url, timeout=s.timeout_s, headers=headers) as c:
        try:
            if (r := c.get("/health")).status_code != 200:
                return [f"/health answered {r.status_code}"]
            ready = c.get("/ready")
            if ready.status_code != 200:
                return [f"/ready answered {ready.status_code}: {ready.text[:300]}"]
            version = c.get("/version").json()
            if version.get("model_sha256") != known["model_sha256"]:
                failures.append(
                    f"/version serves model {version.get('model_sha256')}, expected {known['model_sha256']}"
                )
            for i, item in enumerate(known["requests"]):
                r = c.post("/predict", json=item["record"])
                got = r.json().get("probability") if r.status_code == 200 else None
                if got is None or not math.isclose(got, item["probability"], rel_tol=0, abs_tol=1e-9):
                    failures.append(f"known request {i}: got {r.status_code} {got}, expected {item['probability']}")
            record = known["requests"][0]["record"]
            times = []
            for _ in range(s.latency_requests):
                t0 = clock()
                c.post("/predict", json=record).raise_for_status()
                times.append((clock() - t0) * 1000)
            if slow := latency_failure(times, s.max_latency_ms):
                failures.append(slow)
        except httpx.HTTPError as err:
            failures.append(f"{type(err).__name__}: {err}")
    return failures


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--url", help="the service to check")
    ap.add_argument("--known", type=Path, help="known requests and answers (default: paths.smoke in dvc.yaml)")
    ap.add_argument("--record", action="store_true", help="record --known from the current model instead")
    args = ap.parse_args(argv)
    paths = pipeline_paths()
    params, contract = load_config(paths.params, paths.contract)
    args.known = args.known or paths.smoke
    if args.record:
        record_known(params, contract, paths.card, paths.data, args.known)
        return
    if not args.url:
        ap.error("--url is required unless --record")
    known = read_json(args.known)
    failures = smoke(args.url, known, params, process_env().api_key or None)
    if failures:
        raise SmokeFailed(f"smoke test of {args.url} failed:\n  - " + "\n  - ".join(failures))
    log.info("smoke test of %s passed: model %s", args.url, known["model_version"])


if __name__ == "__main__":
    run_stage(main)
