"""``make bench-score``: batch scoring at 1x, 10x and 100x the test year, pandas vs Dask, against the raw rate.

For each size: the raw in-process rate (``Scorer.proba`` on the rows already in memory, all cores,
no reading, checking, logging or writing: the limit), ``ENGINE=pandas`` (one process, in a
subprocess for its own peak memory), and ``ENGINE=dask`` on a fresh local cluster of 1 and of 2
workers (rows/s of the job, the cluster's start excluded and shown apart; peak resident memory
of each worker process). The prediction log is on, as in production. Prints a table and the
targets, and all figures as JSON.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from mlpipe.cli import run_stage
from mlpipe.io.files import data_files, load_config, read_table, text_columns
from mlpipe.io.pipeline import child_env, pipeline_paths
from mlpipe.scale.cluster import ADDRESS_ENV, dask_client, model_payload
from mlpipe.scale.score import score_job
from mlpipe.serving.scorer import load_scorer
from mlpipe.tasks.score import score_file

log = logging.getLogger(__name__)
ROWS_PER_FILE = 10  # copies of the test year per parquet file


def inputs(rows: pd.DataFrame, id_col: str, times: int, folder: Path) -> Path:
    """``times`` copies of ``rows`` (ids shifted per copy) as parquet files of up to ROWS_PER_FILE copies."""
    folder.mkdir(parents=True)
    for first in range(0, times, ROWS_PER_FILE):
        copies = range(first, min(first + ROWS_PER_FILE, times))
        frame = pd.concat([rows.assign(**{id_col: rows[id_col] + k * 10_000_000}) for k in copies], ignore_index=True)
        frame.to_parquet(folder / f"rows-{first:04d}.parquet", row_group_size=len(rows))
    return folder


def peak_rss_mb() -> float:
    """This process's peak resident memory (VmHWM). Not ru_maxrss: Linux carries that over from the
    parent across fork and exec, so a worker started by a process holding gigabytes would report them."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def raw_rate(scorer: Any, folder: Path) -> dict[str, float]:
    """The limit: Scorer.proba on every row, read into memory first (reading not timed), 1M rows per call."""
    frame = pd.read_parquet(folder)
    t0 = time.perf_counter()
    for start in range(0, len(frame), 1_000_000):
        scorer.proba(frame.iloc[start : start + 1_000_000])
    seconds = time.perf_counter() - t0
    return {"rows": len(frame), "seconds": seconds, "rows_s": len(frame) / seconds}


def pandas_child(src: str, dst: str, logs: str) -> None:
    """``ENGINE=pandas`` on one file, in its own process (its peak memory is its own)."""
    paths = pipeline_paths()
    params, contract = load_config(paths.params, paths.contract)
    scorer = load_scorer(paths.card, contract)
    t0 = time.perf_counter()
    n = score_file(Path(src), Path(dst), scorer, params.serve.score_chunk_rows, Path(logs), progress=False)
    peak = peak_rss_mb()
    sys.stdout.write(json.dumps({"rows": n, "seconds": time.perf_counter() - t0, "peak_mb": peak}) + "\n")


def pandas_run(folder: Path, tmp: Path) -> dict[str, Any]:
    single = tmp / "single.parquet"  # ENGINE=pandas scores one file: the copies as one
    pd.read_parquet(folder).to_parquet(single, row_group_size=100_000)
    cmd = [sys.executable, "-m", "bench.score", "--pandas-child", str(single), str(tmp / "out.parquet"),
           str(tmp / "log-pandas")]  # fmt: skip
    out = subprocess.run(cmd, env=child_env(Path.cwd()), capture_output=True, text=True, check=True).stdout
    res: dict[str, Any] = json.loads(out.strip().splitlines()[-1])
    res["rows_s"] = res["rows"] / res["seconds"]
    for p in (single, tmp / "out.parquet", tmp / "log-pandas"):
        shutil.rmtree(p, ignore_errors=True) if p.is_dir() else p.unlink(missing_ok=True)
    return res


def dask_run(folder: Path, tmp: Path, workers: int, payload: Any, params: Any) -> dict[str, Any]:
    t0 = time.perf_counter()
    scale = params.scale.model_copy(update={"workers": workers, "threads_per_worker": 1})
    with dask_client(scale) as client:
        started = time.perf_counter() - t0
        os.environ[ADDRESS_ENV] = str(client.scheduler_info()["address"])
        try:
            t1 = time.perf_counter()
            n = score_job(str(folder), tmp / "out", payload, params, tmp / "log-dask", progress=False)
            seconds = time.perf_counter() - t1
        finally:
            del os.environ[ADDRESS_ENV]
        peaks = client.run(peak_rss_mb)
    shutil.rmtree(tmp / "out", ignore_errors=True)
    shutil.rmtree(tmp / "log-dask", ignore_errors=True)
    return {"rows": n, "seconds": seconds, "rows_s": n / seconds, "cluster_start_s": started,
            "peak_mb_per_worker": sorted(peaks.values())}  # fmt: skip


def report(res: dict[str, Any], sizes: Sequence[int]) -> None:
    lines = [
        "",
        f"{'size':>5} {'rows':>10} {'raw rows/s':>11} {'pandas':>18} {'dask 1 worker':>24} {'dask 2 workers':>24}",
    ]
    for t in sizes:
        r = res[f"x{t}"]
        raw = r["raw"]["rows_s"]
        pandas = r["pandas"]
        cells = [f"{pandas['rows_s']:>8.0f} {pandas['rows_s'] / raw:>4.0%} {pandas['peak_mb']:>4.0f}MB"]
        for w in (1, 2):
            d = r[f"dask_{w}"]
            cells.append(f"{d['rows_s']:>8.0f} {d['rows_s'] / raw:>4.0%} {max(d['peak_mb_per_worker']):>5.0f}MB/wk")
        lines.append(f"{t:>4}x {r['raw']['rows']:>10,} {raw:>11.0f} " + " ".join(f"{c:>24}" for c in cells))
    lines.append("(rows/s, share of the raw rate, peak resident memory: of the process, or of the largest worker)")
    top = max(sizes)
    if f"x{top}" in res and len(sizes) > 1:
        r, mid = res[f"x{top}"], res[f"x{sorted(sizes)[-2]}"]
        share = r["dask_2"]["rows_s"] / r["raw"]["rows_s"]
        growth = max(r["dask_2"]["peak_mb_per_worker"]) / max(mid["dask_2"]["peak_mb_per_worker"]) - 1
        lines += [
            "",
            f"target: dask, 2 workers, {top}x: >= 90% of the raw rate: {share:.0%} "
            f"({'met' if share >= 0.9 else 'NOT met'})",
            f"target: memory per worker flat, {top}x within 20% of {sorted(sizes)[-2]}x: {growth:+.0%} "
            f"({'met' if abs(growth) <= 0.2 else 'NOT met'})",
        ]
    log.info("%s", "\n".join(lines))
    sys.stdout.write(json.dumps(res, indent=1) + "\n")


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--sizes", type=int, nargs="+", default=[1, 10, 100], help="copies of the test year")
    ap.add_argument("--pandas-child", nargs=3, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.pandas_child:
        pandas_child(*args.pandas_child)
        return
    if os.environ.pop(ADDRESS_ENV, None):
        log.warning("%s is ignored: the benchmark starts local clusters of 1 and 2 workers", ADDRESS_ENV)
    paths = pipeline_paths()
    params, contract = load_config(paths.params, paths.contract)
    scorer = load_scorer(paths.card, contract)
    payload = model_payload(paths.card, contract)
    newest = data_files(paths.data)[-1]
    rows = read_table(newest, text_columns(contract))
    log.info("model %s; %d rows of %s per copy; %d cores; load average %.2f", scorer.version, len(rows),
             newest.name, os.cpu_count(), os.getloadavg()[0])  # fmt: skip
    res: dict[str, Any] = {"cores": os.cpu_count(), "rows_per_copy": len(rows), "load_average_start": os.getloadavg()}
    with tempfile.TemporaryDirectory(prefix="bench-score-") as d:
        tmp = Path(d)
        for times in args.sizes:
            folder = inputs(rows, contract.id, times, tmp / f"x{times}")
            r: dict[str, Any] = {"raw": raw_rate(scorer, folder)}
            log.info("%dx: raw %.0f rows/s", times, r["raw"]["rows_s"])
            r["pandas"] = pandas_run(folder, tmp)
            log.info("%dx: pandas %.0f rows/s", times, r["pandas"]["rows_s"])
            for workers in (1, 2):
                r[f"dask_{workers}"] = dask_run(folder, tmp, workers, payload, params)
                log.info("%dx: dask %d worker(s) %.0f rows/s", times, workers, r[f"dask_{workers}"]["rows_s"])
            res[f"x{times}"] = r
            shutil.rmtree(folder)
    res["load_average_end"] = os.getloadavg()
    report(res, args.sizes)


if __name__ == "__main__":
    run_stage(main)
