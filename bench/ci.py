"""``make bench-ci``: the pipeline job of a pull request, step by step, with cold and with warm caches.

Cold: a fresh clone, an empty uv cache, no example-data wheel, no DVC cache (a fork's first run).
Warm: another fresh clone given what the workflow's caches would restore: uv's download cache and
the wheel (the setup action's cache, keyed on the requirements) and the DVC cache with its
run-cache as the pipeline's last push to main saved it (simulated here by the cold run's). The
same make targets as pipeline.yml, in its order. Prints figures; asserts nothing. Restoring the
caches themselves (a download on GitHub) is not in these figures.
"""

from __future__ import annotations

import argparse
import logging
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from mlpipe.cli import run_stage

log = logging.getLogger(__name__)
STEPS = [("install", ["setup"]), ("pull", ["pull"]), ("check-lock", ["check-lock"]), ("repro", ["repro"]),
         ("gate", ["gate", "BASE=main"]), ("report", ["report", "BASE=main"])]  # fmt: skip


def run_job(repo: Path, uv_cache: Path) -> list[tuple[str, float]]:
    env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "VENV", "PYTHONPATH", "MAKEFLAGS")}
    env |= {"CI": "true", "UV_CACHE_DIR": str(uv_cache), "PIP_NO_CACHE_DIR": "1"}
    times = []
    for name, args in STEPS:
        t0 = time.perf_counter()
        res = subprocess.run(["make", "--no-print-directory", *args], cwd=repo, env=env, capture_output=True,
                             text=True, check=False)  # fmt: skip
        times.append((name, time.perf_counter() - t0))
        # the gate may block (exit 1) and the job still reports; any other failure stops the benchmark
        if res.returncode != 0 and name != "gate":
            raise RuntimeError(f"make {' '.join(args)} failed in {repo}:\n{(res.stdout + res.stderr)[-3000:]}")
        log.info("%-10s %6.1f s", name, times[-1][1])
    return times


def clone(src: Path, dst: Path) -> Path:
    subprocess.run(["git", "clone", "-q", str(src), str(dst)], check=True)
    return dst


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--repo", type=Path, default=Path.cwd())
    args = ap.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="mlpipe-bench-ci-") as tmp:
        base, uv_cache = Path(tmp), Path(tmp) / "uv-cache"
        log.info("cold: fresh clone, empty caches")
        cold_repo = clone(args.repo.resolve(), base / "cold")
        cold = run_job(cold_repo, uv_cache)
        log.info("warm: fresh clone, caches restored")
        warm_repo = clone(args.repo.resolve(), base / "warm")
        for cached in (".cache/wheels", ".dvc/cache"):
            if (cold_repo / cached).exists():
                shutil.copytree(cold_repo / cached, warm_repo / cached, dirs_exist_ok=True)
        warm = run_job(warm_repo, uv_cache)
    lines = [f"{'step':<11} {'cold s':>7} {'warm s':>7}"]
    lines += [f"{n:<11} {c:>7.1f} {w:>7.1f}" for (n, c), (_, w) in zip(cold, warm, strict=True)]
    lines.append(f"{'total':<11} {sum(t for _, t in cold):>7.1f} {sum(t for _, t in warm):>7.1f}")
    lines.append(f"({os.cpu_count()} CPUs; cache restore/download time on GitHub not included)")
    sys.stdout.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    run_stage(main)
