"""``make bench``: wall time and peak memory of each stage, cold and no-op ``dvc repro``, and
the raw estimator's fit+predict on the same arrays, so the pipeline's overhead is visible.

Runs in a throw-away copy of the repository (the full data, an empty DVC cache) so the
workspace and its cache are untouched. Prints figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import logging
import os
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from mlpipe.core.features import TARGET, feature_frame
from mlpipe.core.model import build_estimator, positive_proba
from mlpipe.io.files import load_config, load_yaml, read_frame
from mlpipe.io.pipeline import DVC_YAML, child_env, pipeline_paths
from mlpipe.stages import run_stage

log = logging.getLogger(__name__)


def measure(cmd: list[str], cwd: Path) -> tuple[float, float]:
    """(wall seconds, peak RSS in MB) of one child process, from wait4's own rusage."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=cwd, env=child_env(cwd), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t0
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        err = proc.stderr.read().decode()[-2000:] if proc.stderr else ""
        raise RuntimeError(f"{' '.join(cmd)} failed:\n{err}")
    return wall, usage.ru_maxrss / 1024


def copy_repo(src: Path, dst: Path) -> None:
    paths = pipeline_paths(src / DVC_YAML)
    for name in (DVC_YAML, paths.params, paths.contract):
        shutil.copy(src / name, dst / name)
    shutil.copytree(src / "src", dst / "src", ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
    shutil.copytree(src / paths.data, dst / paths.data)
    for cmd in (["git", "init", "-q"], ["dvc", "init", "-q"], ["dvc", "add", "-q", str(paths.data)]):
        subprocess.run(cmd, cwd=dst, env=child_env(dst), check=True, capture_output=True)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--repo", type=Path, default=Path.cwd())
    args = ap.parse_args(argv)
    rows: list[tuple[str, float, float]] = []
    with tempfile.TemporaryDirectory(prefix="mlpipe-bench-") as tmp:
        repo = Path(tmp)
        copy_repo(args.repo.resolve(), repo)
        log.info("cold dvc repro in %s (full data, empty cache)", repo)
        cold, _ = measure(["dvc", "repro", "-q"], repo)
        noop, _ = measure(["dvc", "repro", "-q"], repo)
        lock = load_yaml(repo / "dvc.lock")["stages"]
        for name, stage in lock.items():
            log.info("stage %s", name)
            wall, mem = measure(shlex.split(stage["cmd"]), repo)
            rows.append((name, wall, mem))
        paths = pipeline_paths(repo / DVC_YAML)
        params, contract = load_config(repo / paths.params, repo / paths.contract)
        train, test = read_frame(repo / paths.train), read_frame(repo / paths.test)
        X, y, X_test = feature_frame(train, contract), train[TARGET].to_numpy(), feature_frame(test, contract)
        model = build_estimator(params.train.model, contract, params.train.seed)
        t0 = time.perf_counter()
        model.fit(X, y)
        positive_proba(model, X_test)
        raw = time.perf_counter() - t0
    out = [
        f"{'stage':<12} {'wall s':>8} {'peak MB':>9}",
        *[f"{n:<12} {w:>8.2f} {m:>9.0f}" for n, w, m in rows],
        "",
        f"cold dvc repro          {cold:8.2f} s  ({len(train):,} train / {len(test):,} test rows)",
        f"no-op dvc repro         {noop:8.2f} s",
        f"raw fit+predict         {raw:8.2f} s  ({params.train.model.kind}, same arrays)",
        f"overhead ratio          {cold / raw:8.1f} x  (cold repro / raw fit+predict)",
        f"peak memory, any stage  {max(m for _, _, m in rows):8.0f} MB",
    ]
    sys.stdout.write("\n".join(out) + "\n")


if __name__ == "__main__":
    run_stage(main)
