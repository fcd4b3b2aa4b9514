"""``make bench-serve``: serving figures on this machine, for the trained model (after ``make repro``).

Measures, on the newest year of the example data:
- raw in-process scoring (``Scorer.proba``): one row per call, and all rows in one call — the limits;
- single-record ``POST /predict`` under a fixed 100 requests/s and at saturation, with and without
  micro-batching (locust, a real load generator, against the real server on 127.0.0.1);
- ``POST /predict/batch`` with 1,000-row batches;
- batch scoring of a CSV (``mlpipe.tasks.score``) at 1x and 10x the rows, with peak memory.
Prints figures and ratios; asserts nothing (the targets are in the README).

``--scoring`` prints only where one ``Scorer.proba`` call spends its time (input building, the
ColumnTransformer, the classifier), for 1 and 1,000 rows, on one OpenMP thread and on all of them:
seconds to run, no server, no locust.
"""

from __future__ import annotations

import argparse
import csv
import json
import logging
import os
import resource
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import orjson
import pandas as pd
from threadpoolctl import threadpool_limits

from mlpipe.core.features import model_input
from mlpipe.io.files import data_files, load_config, read_table, text_columns
from mlpipe.io.pipeline import child_env, pipeline_paths
from mlpipe.io.predlog import PredictionLog
from mlpipe.serving.scorer import Scorer, load_scorer
from mlpipe.stages import run_stage
from mlpipe.tasks.score import score_file

log = logging.getLogger(__name__)
ROOT = Path.cwd()


def rate(n: int, seconds: float) -> float:
    return n / seconds if seconds > 0 else float("nan")


def raw_figures(scorer: Scorer, rows: pd.DataFrame) -> dict[str, float]:
    one = rows.head(300)
    scorer.proba(one.iloc[:1])
    t0 = time.perf_counter()
    for i in range(len(one)):
        scorer.proba(one.iloc[i : i + 1])
    single = rate(len(one), time.perf_counter() - t0)
    best = 0.0
    for _ in range(3):
        t0 = time.perf_counter()
        scorer.proba(rows)
        best = max(best, rate(len(rows), time.perf_counter() - t0))
    k = rows.head(1000)
    t0 = time.perf_counter()
    for _ in range(10):
        scorer.proba(k)
    return {
        "one_row_per_call_rows_s": single,
        "batch_rows_s": best,
        "batch_1000_rows_s": rate(10_000, time.perf_counter() - t0),
    }


def per_call_ms(fn: Any, calls: int) -> float:
    """Median milliseconds of ``fn()`` over ``calls`` calls after one warm-up (median: robust to a busy machine)."""
    fn()
    times = []
    for _ in range(calls):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return float(np.median(times)) * 1000


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


def start(port: int, log_dir: Path, micro: str) -> subprocess.Popen[bytes]:
    cmd = [sys.executable, "-m", "mlpipe.serving", "--port", str(port), "--prediction-log", str(log_dir)]
    proc = subprocess.Popen([*cmd, "--micro-batch", micro], env=child_env(ROOT), stderr=subprocess.DEVNULL)
    for _ in range(300):
        try:
            if httpx.get(f"http://127.0.0.1:{port}/ready", timeout=1).status_code == 200:
                return proc
        except httpx.TransportError:
            time.sleep(0.2)
    proc.kill()
    raise RuntimeError("server did not become ready")


def locust(
    url: str, records: Path, users: int, per_user_rate: float | None, seconds: int, out: Path
) -> dict[str, float]:
    env = {**child_env(ROOT), "BENCH_RECORDS": str(records)}
    if per_user_rate:
        env["BENCH_RATE_PER_USER"] = str(per_user_rate)
    locustfile = Path(__file__).with_name("locustfile.py")
    cmd = [sys.executable, "-m", "locust", "-f", str(locustfile), "--headless", "-u", str(users), "-r", str(users)]
    cmd += ["--run-time", f"{seconds}s", "--host", url, "--csv", str(out), "--only-summary", "--loglevel", "ERROR"]
    subprocess.run(cmd, env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    with open(f"{out}_stats.csv") as fh:
        total = next(r for r in csv.DictReader(fh) if r["Name"] == "Aggregated")
    return {
        "requests": float(total["Request Count"]),
        "failures": float(total["Failure Count"]),
        "rps": float(total["Requests/s"]),
        "p50_ms": float(total["50%"]),
        "p99_ms": float(total["99%"]),
    }


def batch_endpoint(url: str, rows: pd.DataFrame, cols: list[str], clients: int, n: int = 40) -> float:
    """Rows/s of 1,000-row POST /predict/batch requests from ``clients`` concurrent connections."""
    bodies = []
    for i in range(n):
        part = rows.iloc[(i * 1000) % (len(rows) - 1000) :][:1000]
        bodies.append(orjson.dumps({"records": part[cols].to_dict("records")}))
    headers = {"content-type": "application/json"}

    def send(chunk: list[bytes]) -> None:
        with httpx.Client(base_url=url, timeout=60) as c:
            for b in chunk:
                c.post("/predict/batch", content=b, headers=headers).raise_for_status()

    send(bodies[:1])
    t0 = time.perf_counter()
    with ThreadPoolExecutor(clients) as pool:
        list(pool.map(send, [bodies[k::clients] for k in range(clients)]))
    return rate(1000 * n, time.perf_counter() - t0)


def score_child(src: str, dst: str) -> None:
    """Run in a subprocess so its own peak memory is measured."""
    paths = pipeline_paths()
    params, contract = load_config(paths.params, paths.contract)
    scorer = load_scorer(paths.card, contract)
    plog = PredictionLog(Path(dst).parent / "log", params.serve.prediction_log.max_bytes)
    t0 = time.perf_counter()
    n = score_file(Path(src), Path(dst), scorer, params.serve.score_chunk_rows, plog, progress=False)
    plog.close()
    out = {
        "rows": n,
        "seconds": time.perf_counter() - t0,
        "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }
    sys.stdout.write(json.dumps(out) + "\n")


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--seconds", type=int, default=20, help="length of each load test")
    ap.add_argument("--scoring", action="store_true", help="only the in-process breakdown of Scorer.proba")
    ap.add_argument("--score-child", nargs=2, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.score_child:
        score_child(*args.score_child)
        return
    paths = pipeline_paths()
    _, contract = load_config(paths.params, paths.contract)
    scorer = load_scorer(paths.card, contract)
    newest = data_files(paths.data)[-1]
    rows = read_table(newest, text_columns(contract))
    cols = [contract.id, *contract.features]
    logging.getLogger("httpx").setLevel(logging.WARNING)
    log.info("model %s, %d rows of %s, %d cores", scorer.version, len(rows), newest.name, os.cpu_count())
    if args.scoring:
        report_scoring(scoring_figures(scorer, rows))
        return
    raw = raw_figures(scorer, rows)
    res: dict[str, Any] = {"raw": raw}
    with tempfile.TemporaryDirectory() as tmp_s:
        tmp = Path(tmp_s)
        records = tmp / "records.jsonl"
        records.write_bytes(b"\n".join(orjson.dumps(r) for r in rows[cols].head(5000).to_dict("records")))
        for micro in ("on", "off"):
            port = 18000 + (micro == "off")
            proc = start(port, tmp / f"log-{micro}", micro)
            url = f"http://127.0.0.1:{port}"
            try:
                locust(url, records, 8, 2.0, 3, tmp / "warmup")
                res[f"fixed_100rps_{micro}"] = locust(url, records, 20, 5.0, args.seconds, tmp / f"fixed-{micro}")
                res[f"saturation_{micro}"] = locust(url, records, 64, None, args.seconds, tmp / f"sat-{micro}")
                if micro == "on":
                    for clients in (1, 2):
                        res[f"batch_endpoint_{clients}_rows_s"] = batch_endpoint(url, rows, cols, clients)
            finally:
                proc.terminate()
                proc.wait(30)
        for times in (1, 10):
            src = tmp / f"rows-x{times}.csv"
            with src.open("w") as fh:
                for k in range(times):
                    rows.assign(**{contract.id: rows[contract.id] + k * 10_000_000}).to_csv(
                        fh, index=False, header=k == 0
                    )
            cmd = [
                sys.executable,
                "-m",
                "mlpipe.tasks.bench_serve",
                "--score-child",
                str(src),
                str(tmp / f"out-{times}.parquet"),
            ]
            out = subprocess.run(cmd, env=child_env(ROOT), capture_output=True, text=True, check=True).stdout
            res[f"score_x{times}"] = json.loads(out.strip().splitlines()[-1])
    report(res)


def report(res: dict[str, Any]) -> None:
    raw = res["raw"]
    lines = [
        f"raw Scorer.proba, 1 row per call   {raw['one_row_per_call_rows_s']:10.0f} rows/s",
        f"raw Scorer.proba, all rows at once {raw['batch_rows_s']:10.0f} rows/s",
        f"raw Scorer.proba, 1,000-row calls  {raw['batch_1000_rows_s']:10.0f} rows/s",
    ]
    for micro in ("on", "off"):
        f, s = res[f"fixed_100rps_{micro}"], res[f"saturation_{micro}"]
        lines.append(
            f"/predict micro-batch {micro:3}: at 100 req/s got {f['rps']:.0f} req/s p50 {f['p50_ms']:.0f} ms "
            f"p99 {f['p99_ms']:.0f} ms ({f['failures']:.0f} failed); saturated {s['rps']:.0f} req/s "
            f"p50 {s['p50_ms']:.0f} ms p99 {s['p99_ms']:.0f} ms = "
            f"{s['rps'] / raw['one_row_per_call_rows_s']:.1f}x raw one-row rate"
        )
    for clients in (1, 2):
        be = res[f"batch_endpoint_{clients}_rows_s"]
        lines.append(
            f"/predict/batch 1,000 rows, {clients} client(s): {be:.0f} rows/s = "
            f"{be / raw['batch_1000_rows_s']:.0%} of raw 1,000-row calls, "
            f"{be / raw['batch_rows_s']:.0%} of raw all-at-once"
        )
    s1, s10 = res["score_x1"], res["score_x10"]
    for key, s in (("1x", s1), ("10x", s10)):
        r = s["rows"] / s["seconds"]
        lines.append(
            f"batch scoring {key:>3}: {s['rows']:,} rows in {s['seconds']:.1f} s = {r:.0f} rows/s "
            f"= {r / raw['batch_rows_s']:.0%} of raw; peak {s['peak_mb']:.0f} MB"
        )
    lines.append(f"batch scoring memory, 10x rows vs 1x: {s10['peak_mb'] / s1['peak_mb']:.2f}x")
    log.info("serving benchmark\n%s\n%s", "\n".join(lines), json.dumps(res, indent=1))


if __name__ == "__main__":
    run_stage(main)
