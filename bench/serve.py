"""``make bench-serve``: serving figures on this machine, for the trained model (after ``make repro``).

The server is the one ``make serve`` runs (``python -m mlpipe.serving``), on 127.0.0.1 at a free
port; the client is :mod:`bench.loadgen` (asyncio, keep-alive, in this process). Measures:

- raw in-process scoring (``Scorer.proba``): one row per call (rate and latency), 1,000-row calls and
  all rows in one call: the limits the service is compared with;
- ``POST /predict`` from one client (closed loop, one connection), at a fixed 100 requests/s (open
  loop: latency from each request's scheduled time), and at saturation (closed loop, several
  connection counts); with micro-batching on (the default) and off;
- ``POST /predict/batch`` with 1,000-row bodies, from 1 and 2 connections;
- the one-client test again while one busy-loop process per core hogs the CPU;
- parity: every row of the test split scored by the service (``/predict/batch`` in chunks of
  ``serve.max_batch_rows``, and ``/predict`` one row a request) against the evaluate stage's
  probabilities (``paths.predictions``);
- batch scoring of a CSV (``mlpipe.tasks.score``) at 1x and 10x the rows, with peak memory.

Logs a table of the targets (docs/serving.md, "Serving benchmark"): measured, the in-process limit, met or
not; then every figure as JSON. Asserts nothing. The load uses the newest data file's rows.

``--scoring`` prints only where one ``Scorer.proba`` call spends its time (input building, the
ColumnTransformer, the classifier), for 1 and 1,000 rows, on one OpenMP thread and on all of them:
seconds to run, no server.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import math
import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import orjson
import pandas as pd
from threadpoolctl import threadpool_limits

from bench import loadgen
from mlpipe.cli import run_stage
from mlpipe.config import Contract
from mlpipe.core.features import model_input
from mlpipe.core.validation import plain
from mlpipe.errors import PipelineError
from mlpipe.io.files import data_files, load_config, read_table, text_columns
from mlpipe.io.pipeline import child_env, pipeline_paths
from mlpipe.serving.scorer import Scorer, load_scorer

log = logging.getLogger(__name__)
ROOT = Path.cwd()
HOST = "127.0.0.1"
# The targets of the issue ("the model service ... faster than the tool users would pick instead").
ONE_CLIENT_P99_MS = 5.0
FIXED_RATE = 100.0
FIXED_RATE_P99_MS = 10.0
SATURATION_RPS = 1500.0
BATCH_SHARE = 0.8
PARITY_MAX_DIFF = 1e-12
BATCH_ROWS = 1000


def rate(n: float, seconds: float) -> float:
    return n / seconds if seconds > 0 else math.nan


def latency_ms(fn: Callable[[], Any], calls: int) -> dict[str, float]:
    """p50/p99 ms of ``fn()`` over ``calls`` calls, after one warm-up call."""
    fn()
    times = []
    for _ in range(calls):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    ordered = sorted(times)
    return {"p50_ms": loadgen.percentile(ordered, 50) * 1000, "p99_ms": loadgen.percentile(ordered, 99) * 1000}


def raw_figures(scorer: Scorer, rows: pd.DataFrame) -> dict[str, float]:
    """The in-process limits: ``Scorer.proba`` with nothing in between. Rates are per the median call
    (a busy machine's stalls would otherwise decide them); all rows at once: the best of 3."""
    lat = one_row_latency(scorer, rows)
    k = rows.head(BATCH_ROWS)
    batch_ms = per_call_ms(lambda: scorer.proba(k), 30)
    best = 0.0
    for _ in range(3):
        t0 = time.perf_counter()
        scorer.proba(rows)
        best = max(best, rate(len(rows), time.perf_counter() - t0))
    return {
        "one_row_per_call_rows_s": rate(1000, lat["p50_ms"]),
        "one_row_p50_ms": lat["p50_ms"],
        "one_row_p99_ms": lat["p99_ms"],
        "batch_1000_rows_s": rate(BATCH_ROWS * 1000, batch_ms),
        "batch_rows_s": best,
    }


def one_row_latency(scorer: Scorer, rows: pd.DataFrame, calls: int = 500) -> dict[str, float]:
    singles = [rows.iloc[i : i + 1] for i in range(min(calls, len(rows)))]
    it = iter(singles * 2)
    return latency_ms(lambda: scorer.proba(next(it)), len(singles) - 1)


def all_threads_latency(scorer: Scorer, rows: pd.DataFrame, calls: int = 500) -> dict[str, float]:
    """What the service avoids: the same one-row calls on every core's thread (oversubscribed under load)."""
    if scorer.fast is None:
        return {"p50_ms": math.nan, "p99_ms": math.nan}
    fast, cores = scorer.fast, os.cpu_count() or 1
    singles = [rows.iloc[i : i + 1] for i in range(min(calls, len(rows)))]
    it = iter(singles * 2)
    with threadpool_limits(limits=cores):
        return latency_ms(lambda: fast.proba(next(it), threads=cores), len(singles) - 1)


def threads_per_call(scorer: Scorer, rows: pd.DataFrame, sizes: Sequence[int]) -> dict[int, int] | None:
    """OpenMP threads the fast path was given for calls of these sizes (None: the model has no fast path)."""
    fast = scorer.fast
    if fast is None:
        return None
    seen: dict[int, int] = {}
    original = fast.proba

    def spy(raw: pd.DataFrame, threads: int) -> np.ndarray:
        seen[len(raw)] = threads
        return original(raw, threads=threads)

    fast.proba = spy  # type: ignore[method-assign]
    try:
        for n in sizes:
            scorer.proba(rows.head(n))
    finally:
        del fast.proba  # the class's method again
    return seen


def per_call_ms(fn: Any, calls: int) -> float:
    """Median milliseconds of ``fn()`` (robust to a busy machine)."""
    return latency_ms(fn, calls)["p50_ms"]


def scoring_figures(scorer: Scorer, rows: pd.DataFrame) -> dict[str, float]:
    """Median ms per call of each step of ``Scorer.proba``, by batch size and OpenMP thread count."""
    steps, model = scorer.pipeline[:-1], scorer.pipeline[-1]
    out: dict[str, float] = {}
    for n, calls in ((1, 50), (1000, 10)):
        raw = rows.head(n)
        built = model_input(raw, scorer.contract)
        X = steps.transform(built)
        for threads in (1, None):
            with threadpool_limits(limits=threads):
                key = f"{n}_rows_{threads or 'all'}_threads"
                out[f"{key}_input_ms"] = per_call_ms(lambda r=raw: model_input(r, scorer.contract), calls)
                out[f"{key}_transform_ms"] = per_call_ms(lambda b=built: steps.transform(b), calls)
                out[f"{key}_predict_ms"] = per_call_ms(lambda x=X: model.predict_proba(x), calls)
                out[f"{key}_proba_ms"] = per_call_ms(lambda r=raw: scorer.proba(r), calls)
                if scorer.fast is not None:
                    out[f"{key}_fast_input_ms"] = per_call_ms(lambda r=raw: scorer.fast.matrix(r), calls)
    return out


def report_scoring(fig: dict[str, float]) -> None:
    lines = [
        "Pipeline steps (generic path): input = model_input, transform = ColumnTransformer, predict = classifier;",
        "fast input = the fast path's matrix (nan: the model has none); Scorer.proba = what the service calls",
        f"{'rows':>5} {'threads':>7} {'input':>8} {'transform':>9} {'predict':>8} {'fast input':>10} "
        f"{'Scorer.proba':>12}  (ms/call, median)",
    ]
    for n in (1, 1000):
        for threads in ("1", "all"):
            k = f"{n}_rows_{threads}_threads"
            lines.append(
                f"{n:>5} {threads:>7} {fig[k + '_input_ms']:8.2f} {fig[k + '_transform_ms']:9.2f} "
                f"{fig[k + '_predict_ms']:8.2f} {fig.get(k + '_fast_input_ms', float('nan')):10.2f} "
                f"{fig[k + '_proba_ms']:12.2f}"
            )
    log.info("where Scorer.proba spends its time (%d cores)\n%s", os.cpu_count(), "\n".join(lines))


# ---- the server and the load ----


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


@dataclass
class Server:
    port: int
    proc: subprocess.Popen[bytes]
    headers: dict[str, str]  # sent with every request (the API key, when the environment sets one)

    @property
    def host(self) -> str:
        return f"{HOST}:{self.port}"

    def post(self, path: str, body: bytes) -> bytes:
        return loadgen.post(path, body, self.host, self.headers)


def start(log_dir: Path, micro: str, attempts: int = 3, wait_s: float = 90) -> Server:
    """``python -m mlpipe.serving`` on a free port of 127.0.0.1, once ``/ready`` says so."""
    env = child_env(ROOT)
    headers = {"X-API-Key": env["MLPIPE_API_KEY"]} if env.get("MLPIPE_API_KEY") else {}
    for _ in range(attempts):  # a port taken between finding and binding it: try another
        port = free_port()
        cmd = [sys.executable, "-m", "mlpipe.serving", "--host", HOST, "--port", str(port)]
        cmd += ["--prediction-log", str(log_dir), "--micro-batch", micro]
        err_path = log_dir.parent / f"server-{micro}-{port}.log"
        with err_path.open("wb") as err:
            proc = subprocess.Popen(cmd, env=env, stderr=err)
        deadline = time.monotonic() + wait_s
        while proc.poll() is None and time.monotonic() < deadline:
            try:
                if httpx.get(f"http://{HOST}:{port}/ready", headers=headers, timeout=1).status_code == 200:
                    return Server(port, proc, headers)
            except httpx.TransportError:
                pass
            time.sleep(0.2)
        stop(Server(port, proc, headers))
        tail = err_path.read_text(errors="replace").strip().splitlines()[-5:]
        log.warning("server on port %d did not become ready: %s", port, " | ".join(tail) or "(no output)")
    raise PipelineError(f"the server did not become ready in {attempts} attempts (see the warnings above)")


def stop(server: Server) -> None:
    server.proc.terminate()
    try:
        server.proc.wait(30)
    except subprocess.TimeoutExpired:
        server.proc.kill()
        server.proc.wait()


@contextlib.contextmanager
def serving(tmp: Path, micro: str) -> Iterator[Server]:
    server = start(tmp / f"log-{micro}", micro)
    try:
        yield server
    finally:
        stop(server)


@contextlib.contextmanager
def cpu_hog() -> Iterator[int]:
    """One busy-loop process per core, killed on the way out."""
    hogs = [
        subprocess.Popen([sys.executable, "-c", "while True: pass"], stdin=subprocess.DEVNULL)
        for _ in range(os.cpu_count() or 1)
    ]
    try:
        time.sleep(0.5)  # let them take the cores
        yield len(hogs)
    finally:
        for h in hogs:
            h.kill()
        for h in hogs:
            h.wait()


def closed(server: Server, requests: Sequence[bytes], connections: int, seconds: float, **kw: Any) -> dict[str, Any]:
    stats = loadgen.run(loadgen.closed_loop(HOST, server.port, requests, connections, seconds=seconds, **kw))
    return stats.summary()


def fixed_rate(server: Server, requests: Sequence[bytes], per_s: float, seconds: float) -> dict[str, Any]:
    stats = loadgen.run(loadgen.open_loop(HOST, server.port, requests, per_s, seconds, connections=16))
    return stats.summary()


def records(frame: pd.DataFrame, cols: list[str]) -> list[dict[str, Any]]:
    """Rows as the JSON a client sends (NaN and NA as null, numpy scalars as Python's)."""
    return [
        {c: plain(v) for c, v in zip(cols, row, strict=True)} for row in frame[cols].itertuples(index=False, name=None)
    ]


def evaluated_rows(data_dir: Path, predictions: Path, contract: Contract) -> tuple[pd.DataFrame, pd.Series]:
    """The test split's raw rows (from the data files) and the evaluate stage's probability per id."""
    trained = pd.read_parquet(predictions).set_index(contract.id)["model"]
    parts = []
    for f in data_files(data_dir):
        frame = read_table(f, text_columns(contract))
        parts.append(frame[frame[contract.id].isin(trained.index)])
    rows = pd.concat(parts, ignore_index=True)
    return rows, trained


def parity(
    server: Server,
    rows: pd.DataFrame,
    trained: pd.Series,
    cols: list[str],
    id_col: str,
    connections: int,
    max_batch: int,
) -> dict[str, Any]:
    """``rows`` scored by the service, against the evaluate stage's probability for their ids: through
    ``/predict/batch`` in chunks of ``max_batch`` rows, or one row a ``/predict`` request (``max_batch`` 0)."""
    recs = records(rows, cols)
    got: dict[Any, float] = {}
    failed = 0

    def collect(i: int, status: int, body: bytes) -> None:
        nonlocal failed
        if not 200 <= status < 300:
            failed += 1
            return
        doc = orjson.loads(body)
        for p in doc["predictions"] if max_batch else [doc]:
            got[p["id"]] = p["probability"]

    if max_batch:
        chunks = [recs[k : k + max_batch] for k in range(0, len(recs), max_batch)]
        reqs = [server.post("/predict/batch", orjson.dumps({"records": c})) for c in chunks]
    else:
        reqs = [server.post("/predict", orjson.dumps(r)) for r in recs]
    stats = loadgen.run(
        loadgen.closed_loop(HOST, server.port, reqs, connections, limit=len(reqs), timeout=60, on_response=collect)
    )
    ids = [r[id_col] for r in recs]
    answered = [i for i in ids if i in got]
    diff = np.abs(np.array([got[i] for i in answered], dtype=float) - trained.loc[answered].to_numpy())
    return {
        "rows": len(ids),
        "compared": len(answered),
        "missing": len(ids) - len(answered),
        "failed_requests": failed + stats.errors,
        "max_abs_diff": float(diff.max()) if len(diff) else math.nan,
        "identical": int((diff == 0).sum()),
        "seconds": stats.seconds,
    }


def batch_bodies(server: Server, rows: pd.DataFrame, cols: list[str], n: int = 20) -> list[bytes]:
    recs = records(rows.head(n * BATCH_ROWS), cols)
    return [
        server.post("/predict/batch", orjson.dumps({"records": recs[k : k + BATCH_ROWS]}))
        for k in range(0, len(recs) - BATCH_ROWS + 1, BATCH_ROWS)
    ]


def batch_scoring(tmp: Path, rows: pd.DataFrame, id_col: str) -> dict[str, Any]:
    res: dict[str, Any] = {}
    for times in (1, 10):
        src = tmp / f"rows-x{times}.csv"
        with src.open("w") as fh:
            for k in range(times):
                rows.assign(**{id_col: rows[id_col] + k * 10_000_000}).to_csv(fh, index=False, header=k == 0)
        # bench-score's single-process child: its own peak memory (VmHWM), one implementation for both benches
        cmd = [sys.executable, "-m", "bench.score", "--pandas-child", str(src), str(tmp / f"o{times}.pq"),
               str(tmp / "log")]  # fmt: skip
        out = subprocess.run(cmd, env=child_env(ROOT), capture_output=True, text=True, check=True).stdout
        res[f"score_x{times}"] = json.loads(out.strip().splitlines()[-1])
    return res


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seconds", type=float, default=10, help="length of each load test (default 10)")
    ap.add_argument("--connections", type=int, nargs="+", default=[8, 16, 64], help="saturation: connection counts")
    ap.add_argument("--single-parity-rows", type=int, default=0, help="parity via /predict on a sample (0: all)")
    ap.add_argument("--no-score", action="store_true", help="skip the batch-scoring (score_file) figures")
    ap.add_argument("--scoring", action="store_true", help="only the in-process breakdown of Scorer.proba")
    args = ap.parse_args(argv)
    paths = pipeline_paths()
    params, contract = load_config(paths.params, paths.contract)
    scorer = load_scorer(paths.card, contract)
    newest = data_files(paths.data)[-1]
    rows = read_table(newest, text_columns(contract))
    cols = [contract.id, *contract.features]
    logging.getLogger("httpx").setLevel(logging.WARNING)
    load = os.getloadavg()
    log.info(
        "model %s, %d rows of %s, %d cores, load average %.2f %.2f %.2f, client event loop %s",
        scorer.version, len(rows), newest.name, os.cpu_count(), *load, loadgen.LOOP,
    )  # fmt: skip
    if args.scoring:
        report_scoring(scoring_figures(scorer, rows))
        return
    secs = args.seconds
    res: dict[str, Any] = {"cores": os.cpu_count(), "load_average_start": load, "seconds": secs, "loop": loadgen.LOOP}
    log.info("raw in-process scoring")
    res["raw"] = raw_figures(scorer, rows)
    test_rows, trained = evaluated_rows(paths.data, paths.predictions, contract)
    if args.single_parity_rows:
        single_rows = test_rows.sample(n=min(args.single_parity_rows, len(test_rows)), random_state=0)
    else:
        single_rows = test_rows
    with tempfile.TemporaryDirectory() as tmp_s:
        tmp = Path(tmp_s)
        with serving(tmp, "on") as server:
            singles = [server.post("/predict", orjson.dumps(r)) for r in records(rows.head(5000), cols)]
            batches = batch_bodies(server, rows, cols)
            log.info("micro-batching on: warm-up, one client, %g req/s, saturation", FIXED_RATE)
            res["warmup"] = closed(server, singles, 8, 2.0)
            loadgen.run(loadgen.closed_loop(HOST, server.port, batches, 1, limit=2))
            res["one_client_on"] = closed(server, singles, 1, secs)
            res["fixed_rate_on"] = fixed_rate(server, singles, FIXED_RATE, secs)
            for c in args.connections:
                res[f"saturation_on_{c}"] = closed(server, singles, c, secs)
            log.info("/predict/batch, 1,000 rows")
            for c in (1, 2):
                s = closed(server, batches, c, secs)
                s["rows_s"] = s["ok_rps"] * BATCH_ROWS
                res[f"batch_endpoint_{c}"] = s
            log.info("one client with a CPU hog")
            with cpu_hog() as n:
                res["hog_processes"] = n
                res["one_client_hog"] = closed(server, singles, 1, secs)
                res["raw_hog"] = one_row_latency(scorer, rows)
                res["raw_hog_all_threads"] = all_threads_latency(scorer, rows)
            res["threads_per_call"] = threads_per_call(scorer, rows, (1, params.serve.max_batch_rows))
            log.info("parity: %d test rows by /predict/batch, %d by /predict", len(test_rows), len(single_rows))
            res["parity_batch"] = parity(server, test_rows, trained, cols, contract.id, 2, params.serve.max_batch_rows)
            res["parity_single"] = parity(server, single_rows, trained, cols, contract.id, 16, 0)
        with serving(tmp, "off") as server:
            singles = [server.post("/predict", orjson.dumps(r)) for r in records(rows.head(5000), cols)]
            log.info("micro-batching off: one client, %g req/s, saturation at 16", FIXED_RATE)
            closed(server, singles, 8, 2.0)
            res["one_client_off"] = closed(server, singles, 1, secs)
            res["fixed_rate_off"] = fixed_rate(server, singles, FIXED_RATE, secs)
            res["saturation_off_16"] = closed(server, singles, 16, secs)
        if not args.no_score:
            log.info("batch scoring (score_file), 1x and 10x the rows")
            res.update(batch_scoring(tmp, rows, contract.id))
    res["load_average_end"] = os.getloadavg()
    report(res, args.connections)


# ---- the report ----


def clean(run: dict[str, Any]) -> bool:
    return bool(run["errors"] == run["non_2xx"] == run.get("unsent", 0) == 0 and run["ok"] > 0)


def verdict(ok: bool) -> str:
    return "met" if ok else "NOT met"


def targets(res: dict[str, Any], connections: Sequence[int]) -> list[tuple[str, str, str, str]]:
    """(target, measured, limit, verdict) rows; a latency target is met only by a run without errors."""
    raw, rows = res["raw"], []
    one, fixed = res["one_client_on"], res["fixed_rate_on"]
    lim_lat = f"in process p99 {raw['one_row_p99_ms']:.2f} ms"
    rows.append(
        (
            f"one client: /predict p99 <= {ONE_CLIENT_P99_MS:g} ms",
            f"p99 {one['p99_ms']:.2f} ms (p50 {one['p50_ms']:.2f}); micro-batching off: "
            f"p99 {res['one_client_off']['p99_ms']:.2f} ms",
            lim_lat,
            verdict(clean(one) and one["p99_ms"] <= ONE_CLIENT_P99_MS),
        )
    )
    rows.append(
        (
            f"fixed {FIXED_RATE:g} req/s: p99 <= {FIXED_RATE_P99_MS:g} ms",
            f"p99 {fixed['p99_ms']:.2f} ms at {fixed['rps']:.0f} req/s (client lag p99 {fixed['lag_p99_ms']:.2f} ms); "
            f"off: p99 {res['fixed_rate_off']['p99_ms']:.2f} ms",
            lim_lat,
            verdict(clean(fixed) and fixed["p99_ms"] <= FIXED_RATE_P99_MS),
        )
    )
    sat = {c: res[f"saturation_on_{c}"] for c in connections}
    best = max(connections, key=lambda c: sat[c]["ok_rps"])
    each = ", ".join(f"{c}: {sat[c]['ok_rps']:.0f}" for c in connections)
    rows.append(
        (
            f"saturation, one worker: >= {SATURATION_RPS:,.0f} req/s",
            f"{sat[best]['ok_rps']:.0f} req/s at {best} connections (p99 {sat[best]['p99_ms']:.0f} ms; {each}); "
            f"off, 16: {res['saturation_off_16']['ok_rps']:.0f}",
            f"in process {raw['one_row_per_call_rows_s']:.0f} calls/s of one row",
            verdict(sat[best]["errors"] == 0 and sat[best]["ok_rps"] >= SATURATION_RPS),
        )
    )
    be = max((res["batch_endpoint_1"], res["batch_endpoint_2"]), key=lambda s: s["rows_s"])
    share = be["rows_s"] / raw["batch_1000_rows_s"]
    rows.append(
        (
            f"/predict/batch, 1,000 rows: >= {BATCH_SHARE:.0%} of in-process 1,000-row calls",
            f"{be['rows_s']:.0f} rows/s from {be['connections']} connection(s) = {share:.0%}",
            f"in process {raw['batch_1000_rows_s']:.0f} rows/s",
            verdict(be["errors"] == 0 and share >= BATCH_SHARE),
        )
    )
    hog, seen = res["one_client_hog"], res["threads_per_call"]
    threads = "no fast path: not checked" if seen is None else ", ".join(f"{n} rows: {t}" for n, t in seen.items())
    rows.append(
        (
            "small calls never oversubscribe: one thread per service call",
            f"threads per call {threads}; under {res['hog_processes']} busy processes one client p99 "
            f"{hog['p99_ms']:.2f} ms ({one['p99_ms']:.2f} without)",
            f"in process under the hog: p99 {res['raw_hog']['p99_ms']:.2f} ms on 1 thread, "
            f"{res['raw_hog_all_threads']['p99_ms']:.2f} ms on all",
            verdict(seen is not None and set(seen.values()) == {1}),
        )
    )
    pb, ps = res["parity_batch"], res["parity_single"]
    ok = all(p["compared"] == p["rows"] > 0 and p["max_abs_diff"] <= PARITY_MAX_DIFF for p in (pb, ps))
    rows.append(
        (
            f"parity with the evaluate stage: max |diff| <= {PARITY_MAX_DIFF:g}",
            f"/predict/batch {pb['max_abs_diff']:.3g} on {pb['compared']:,} of {pb['rows']:,} rows "
            f"({pb['identical']:,} identical); /predict {ps['max_abs_diff']:.3g} on {ps['compared']:,} of "
            f"{ps['rows']:,} ({ps['identical']:,} identical)",
            "-",
            verdict(ok),
        )
    )
    return rows


def table(rows: list[tuple[str, str, str, str]]) -> str:
    head = ("target", "measured", "limit", "verdict")
    widths = [max(len(r[i]) for r in [head, *rows]) for i in range(4)]
    fmt = " | ".join(f"{{:<{w}}}" for w in widths)
    return "\n".join([fmt.format(*head), "-+-".join("-" * w for w in widths), *(fmt.format(*r) for r in rows)])


def jsonable(o: Any) -> Any:
    """NaN (a run with nothing answered) as null, so the JSON is JSON."""
    if isinstance(o, dict):
        return {k: jsonable(v) for k, v in o.items()}
    if isinstance(o, list | tuple):
        return [jsonable(v) for v in o]
    if isinstance(o, float) and not math.isfinite(o):
        return None
    return o


def report(res: dict[str, Any], connections: Sequence[int]) -> None:
    raw = res["raw"]
    lines = [
        f"raw Scorer.proba, 1 row per call   {raw['one_row_per_call_rows_s']:10.0f} rows/s "
        f"(p50 {raw['one_row_p50_ms']:.2f} ms, p99 {raw['one_row_p99_ms']:.2f} ms)",
        f"raw Scorer.proba, 1,000-row calls  {raw['batch_1000_rows_s']:10.0f} rows/s",
        f"raw Scorer.proba, all rows at once {raw['batch_rows_s']:10.0f} rows/s",
    ]
    runs = ["one_client_on", "fixed_rate_on", *(f"saturation_on_{c}" for c in connections)]
    runs += ["batch_endpoint_1", "batch_endpoint_2", "one_client_hog", "one_client_off", "fixed_rate_off"]
    for name in [*runs, "saturation_off_16"]:
        s = res[name]
        lines.append(
            f"{name:<20} {s['mode']:>6} x{s['connections']:<3} sent {s['sent']:>6} ok {s['ok']:>6} "
            f"non-2xx {s['non_2xx']} errors {s['errors']} unsent {s['unsent']}  {s['rps']:7.0f} req/s  "
            f"p50 {s['p50_ms']:7.2f}  p90 {s['p90_ms']:7.2f}  p99 {s['p99_ms']:7.2f}  max {s['max_ms']:7.2f} ms"
            + (f"  ({s['note']})" if s["note"] else "")
        )
    for key in ("score_x1", "score_x10"):
        if key in res:
            s = res[key]
            r = s["rows"] / s["seconds"]
            lines.append(
                f"batch scoring {key[6:]:>3}: {s['rows']:,} rows in {s['seconds']:.1f} s = {r:.0f} rows/s "
                f"= {r / raw['batch_rows_s']:.0%} of raw all-at-once; peak {s['peak_mb']:.0f} MB"
            )
    if "score_x10" in res:
        lines.append(
            f"batch scoring memory, 10x rows vs 1x: {res['score_x10']['peak_mb'] / res['score_x1']['peak_mb']:.2f}x"
        )
    la, lb = res["load_average_start"], res["load_average_end"]
    log.info(
        "serving targets (%s cores; load average %.2f at the start, %.2f at the end)\n%s\n\n%s\n%s",
        res["cores"], la[0], lb[0], table(targets(res, connections)), "\n".join(lines),
        json.dumps(jsonable(res), indent=1),
    )  # fmt: skip


if __name__ == "__main__":
    run_stage(main)
