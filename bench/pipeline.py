"""``make bench-pipeline``: each stage's wall time split into start-up (interpreter and imports,
before its ``main``) and work (its ``main``, lazy imports of the libraries it uses included), peak
memory, cold and no-op ``dvc repro``, and the ratio the pipeline is held to: cold ``dvc repro`` over
the fit time (model + baseline) its train stage logged in that same run. Also the raw estimator's
fit+predict.

Each cold run has a throw-away copy of the repository of its own (the full data, an empty DVC
cache), so the workspace and its cache are untouched. On a shared machine one run can read 25%
off the next (the same code read 15.6-21.9 s cold): ``--runs`` (default 3) prints each and their
median. Prints figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import logging
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from mlpipe.cli import run_stage
from mlpipe.core.features import TARGET, feature_frame
from mlpipe.core.model import build_estimator, positive_proba
from mlpipe.io.files import load_config, load_yaml, read_frame
from mlpipe.io.pipeline import DVC_LOCK, DVC_YAML, child_env, pipeline_paths

log = logging.getLogger(__name__)


def measure(cmd: list[str], cwd: Path) -> tuple[float, float, str]:
    """(wall seconds, peak RSS in MB, its log) of one child process, from wait4's own rusage."""
    with tempfile.TemporaryFile() as err:
        t0 = time.perf_counter()
        proc = subprocess.Popen(cmd, cwd=cwd, env=child_env(cwd), stdout=subprocess.DEVNULL, stderr=err)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - t0
        err.seek(0)
        said = err.read().decode(errors="replace")
    if os.waitstatus_to_exitcode(status) != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed:\n{said[-2000:]}")
    return wall, usage.ru_maxrss / 1024, said


def logged_seconds(said: str, pattern: str) -> float:
    """The sum of the seconds a stage logged for ``pattern`` (``done in``: its main; ``fitted in``: fits)."""
    return sum(float(s) for s in re.findall(pattern + r" ([0-9.]+)s", said))


def copy_repo(src: Path, dst: Path) -> None:
    paths = pipeline_paths(src / DVC_YAML)
    for name in (DVC_YAML, paths.params, paths.contract):
        shutil.copy(src / name, dst / name)
    shutil.copytree(src / "src", dst / "src", ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
    shutil.copytree(src / paths.data, dst / paths.data)
    for cmd in (["git", "init", "-q"], ["dvc", "init", "-q"], ["dvc", "add", "-q", str(paths.data)]):
        subprocess.run(cmd, cwd=dst, env=child_env(dst), check=True, capture_output=True)


def cold_run(src: Path, repo: Path) -> tuple[float, float]:
    """(wall seconds, the fits its train stage logged) of ``dvc repro`` in a fresh copy of ``src``."""
    copy_repo(src, repo)
    log.info("cold dvc repro in %s (full data, empty cache)", repo)
    cold, _, said = measure(["dvc", "repro", "-q"], repo)  # -q quiets dvc, not the stages' logs
    return cold, logged_seconds(said, "fitted in")


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--repo", type=Path, default=Path.cwd())
    ap.add_argument("--runs", type=int, default=3, help="cold runs, each in a fresh copy (default 3)")
    args = ap.parse_args(argv)
    if args.runs < 1:
        ap.error("--runs must be at least 1")
    rows: list[tuple[str, float, float, float]] = []  # stage, wall, work, peak MB
    runs: list[tuple[float, float]] = []  # cold dvc repro, the fits it logged
    fit = 0.0
    for _ in range(args.runs - 1):
        with tempfile.TemporaryDirectory(prefix="mlpipe-bench-") as tmp:
            runs.append(cold_run(args.repo.resolve(), Path(tmp)))
    with tempfile.TemporaryDirectory(prefix="mlpipe-bench-") as tmp:
        repo = Path(tmp)
        runs.append(cold_run(args.repo.resolve(), repo))
        noop = min(measure(["dvc", "repro", "-q"], repo)[0] for _ in range(3))
        lock = load_yaml(repo / DVC_LOCK)["stages"]
        for name, stage in lock.items():
            log.info("stage %s", name)
            wall, mem, said = measure(["sh", "-c", stage["cmd"]], repo)  # cmd is a shell line (PYTHONPATH=src ...)
            rows.append((name, wall, logged_seconds(said, "done in"), mem))
            fit += logged_seconds(said, "fitted in")
        paths = pipeline_paths(repo / DVC_YAML)
        params, contract = load_config(repo / paths.params, repo / paths.contract)
        train, test = read_frame(repo / paths.train), read_frame(repo / paths.test)
        X, y, X_test = feature_frame(train, contract), train[TARGET].to_numpy(), feature_frame(test, contract)
        model = build_estimator(params.train.model, contract, params.train.seed)
        t0 = time.perf_counter()
        model.fit(X, y)
        positive_proba(model, X_test)
        raw = time.perf_counter() - t0
    walls = sum(w for _, w, _, _ in rows)
    ratios = [c / f if f else float("nan") for c, f in runs]
    cold = statistics.median(c for c, _ in runs)
    out = [
        "| stage | wall s | start-up s | work s | peak MB |",
        "|---|---:|---:|---:|---:|",
        *[f"| {n} | {w:.2f} | {w - k:.2f} | {k:.2f} | {m:.0f} |" for n, w, k, m in rows],
        f"| all stages | {walls:.2f} | {sum(w - k for _, w, k, _ in rows):.2f} | {sum(k for _, _, k, _ in rows):.2f} | "
        f"{max(m for *_, m in rows):.0f} |",
        "",
        "| cold run | dvc repro s | its fits s | ratio |",
        "|---|---:|---:|---:|",
        *[f"| {i} | {c:.2f} | {f:.2f} | {r:.1f}x |" for i, ((c, f), r) in enumerate(zip(runs, ratios, strict=True), 1)],
        "",
        f"cold dvc repro          {cold:8.2f} s  (median of {len(runs)}; {len(train):,} train / {len(test):,} test)",
        f"ratio                   {statistics.median(ratios):8.1f} x  (median of each run's cold repro / its own fits)",
        f"no-op dvc repro         {noop:8.2f} s  (best of 3)",
        f"stages run one by one   {walls:8.2f} s  (the table above; their fits {fit:.2f} s)",
        f"raw fit+predict         {raw:8.2f} s  ({params.train.model.kind}, same arrays, this process)",
    ]
    sys.stdout.write("\n".join(out) + "\n")


if __name__ == "__main__":
    run_stage(main)
