"""DVC experiments through the ``dvc`` command line: queue, run, list, and read a file at an experiment.

The CLI, not ``dvc.repo.Repo``'s experiments API: the CLI is what DVC documents and keeps stable,
and it is what a user types, so what the tasks do can be repeated by hand.
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mlpipe.errors import PipelineError

log = logging.getLogger(__name__)
DONE = {"success", "failed"}
POLL_S = 5  # `dvc exp show --json` costs about a second of CPU: do not take a core from the workers


@dataclass(frozen=True)
class Experiment:
    name: str
    rev: str
    state: str  # queued | running | success | failed
    params: dict[str, Any] = field(default_factory=dict)  # params.yaml, flattened: "train.model.learning_rate"
    metrics: dict[str, Any] = field(default_factory=dict)  # every metrics file, flattened, keyed without the file


@dataclass(frozen=True)
class Listing:
    baseline_rev: str
    baseline_params: dict[str, Any]
    baseline_metrics: dict[str, Any]
    experiments: list[Experiment]


def dvc(*args: str, cwd: Path | None = None, check: bool = True) -> subprocess.CompletedProcess[str]:
    """``dvc`` of this interpreter; its bin first on PATH, because queue workers start ``dvc`` by name."""
    bin_dir = str(Path(sys.executable).parent)
    env = dict(os.environ)  # handed on to dvc, not read
    env["PATH"] = f"{bin_dir}{os.pathsep}{env.get('PATH', '')}"
    res = subprocess.run([f"{bin_dir}/dvc", *args], cwd=cwd, env=env, capture_output=True, text=True, check=False)
    if check and res.returncode != 0:
        raise PipelineError(f"dvc {' '.join(args)} failed:\n{(res.stderr or res.stdout).strip()[-2000:]}")
    return res


def flatten(d: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in d.items():
        key = f"{prefix}{k}"
        if isinstance(v, Mapping):
            out.update(flatten(v, f"{key}."))
        else:
            out[key] = v
    return out


def _section(data: Mapping[str, Any], section: str, path: str) -> dict[str, Any]:
    entry = ((data.get(section) or {}).get(path)) or {}
    return flatten(entry.get("data") or {})


def parse_show(rows: list[dict[str, Any]], params_file: str, metrics_file: str) -> Listing:
    """``dvc exp show --json``: the baseline commit (the first non-workspace row) and its experiments.

    Only ``params_file``'s params and ``metrics_file``'s metrics are kept (paths as dvc.yaml writes
    them): the contract's params and the train stage's ``model.log_loss`` (training rows) would mix in.
    """
    base = next((r for r in rows if r.get("rev") != "workspace"), None)
    if base is None:
        raise PipelineError("dvc exp show lists no commit: commit once before running experiments")
    exps: list[Experiment] = []
    for group in base.get("experiments") or []:
        state = ((group.get("executor") or {}).get("state")) or "success"
        for rev in group.get("revs") or []:
            data = rev.get("data") or {}
            exps.append(
                Experiment(
                    name=rev.get("name") or group.get("name") or rev["rev"][:7],
                    rev=rev["rev"],
                    state=state if rev.get("error") is None else "failed",
                    params=_section(data, "params", params_file),
                    metrics=_section(data, "metrics", metrics_file),
                )
            )
    bdata = base.get("data") or {}
    return Listing(base["rev"], _section(bdata, "params", params_file), _section(bdata, "metrics", metrics_file), exps)


def show(params_file: str, metrics_file: str, cwd: Path | None = None) -> Listing:
    res = dvc("exp", "show", "--json", cwd=cwd)
    return parse_show(json.loads(res.stdout or "[]"), params_file, metrics_file)


def queue(name: str, sets: Mapping[str, Any], cwd: Path | None = None) -> None:
    args = ["exp", "run", "--queue", "--name", name]
    for key, value in sets.items():
        args += ["--set-param", f"{key}={json.dumps(value)}"]
    dvc(*args, cwd=cwd)
    log.info("queued experiment %s: %s", name, dict(sets))


def run_queue(names: list[str], params_file: str, metrics_file: str, timeout_s: float, cwd: Path | None = None,
              jobs: int = 1) -> Listing:  # fmt: skip
    """Start the queue's workers and wait until every experiment in ``names`` has finished."""
    dvc("queue", "start", "--jobs", str(jobs), cwd=cwd)
    deadline = time.monotonic() + timeout_s
    wanted = set(names)
    while True:
        listing = show(params_file, metrics_file, cwd)
        states = {e.name: e.state for e in listing.experiments if e.name in wanted}
        if wanted <= states.keys() and all(s in DONE for s in states.values()):
            return listing
        if time.monotonic() > deadline:
            raise PipelineError(
                f"experiments not finished after {timeout_s:.0f}s: {states} (see `dvc queue logs NAME`)"
            )
        time.sleep(POLL_S)


def read_bytes(path: str | Path, rev: str, cwd: Path | None = None) -> bytes:
    """A DVC-tracked output as it was at ``rev`` (a commit or an experiment's commit), from the cache."""
    import dvc.api  # noqa: PLC0415 - imports dvc: only where an experiment's files are read

    with dvc.api.open(Path(path).as_posix(), repo=str(cwd or "."), rev=rev, mode="rb") as fh:
        data: bytes = fh.read()
    return data
