"""``make check-lock``: is the committed ``dvc.lock`` current for the committed code, params and data?

Run before ``dvc repro`` on a fresh checkout. Outputs that are merely missing here (not
pulled, not in this machine's cache) are fine; a dependency, parameter or command that differs
from what ``dvc.lock`` records means the author changed something without re-running the
pipeline. CI must not commit for them, so it fails and says what to run. So does a stage that
``dvc.lock`` still records but ``dvc.yaml`` no longer has: renaming or removing a stage by editing
``dvc.yaml`` leaves its entry (``dvc remove <stage>`` drops it).

Only ``dvc.yaml``'s pipeline is checked: ``tune/dvc.yaml``'s search is a record of the last
``make tune``, rerun on demand, not something a commit must keep current.
"""

from __future__ import annotations

import argparse
import json
import logging
import subprocess
import sys
from typing import Any

from mlpipe.cli import run_stage
from mlpipe.errors import PipelineError
from mlpipe.io.files import load_yaml
from mlpipe.io.pipeline import DVC_LOCK, DVC_YAML

log = logging.getLogger(__name__)
MISSING = {"deleted", "not in cache"}


def stale_stages(status: dict[str, list[Any]]) -> dict[str, list[str]]:
    """Stage -> reasons, from ``dvc status --json``, ignoring deps and outs that are only missing."""
    stale: dict[str, list[str]] = {}
    for stage, entries in status.items():
        reasons = []
        for entry in entries:
            if isinstance(entry, str):  # "changed command", "always changed", ...
                reasons.append(entry)
                continue
            for path, state in entry.get("changed deps", {}).items():
                if isinstance(state, dict):
                    reasons += [f"params {path}:{key} {how}" for key, how in state.items()]
                elif state not in MISSING:
                    reasons.append(f"{path} {state}")
        if reasons:
            stale[stage] = reasons
    return stale


def orphan_stages(dvc_yaml: Any, dvc_lock: Any) -> list[str]:
    """Stages ``dvc.lock`` records that ``dvc.yaml`` does not define. ``name@key`` is an entry of
    ``name`` only while that stage is a ``foreach``/``matrix`` one."""
    defined = (dvc_yaml or {}).get("stages") or {}
    recorded = (dvc_lock or {}).get("stages") or {}

    def known(name: str) -> bool:
        base, at, _ = name.partition("@")
        if not at:
            return name in defined
        stage = defined.get(base)
        return isinstance(stage, dict) and ("foreach" in stage or "matrix" in stage)

    return [name for name in recorded if not known(name)]


def main(argv: list[str] | None = None) -> None:
    argparse.ArgumentParser(description=__doc__).parse_args(argv)
    res = subprocess.run(
        [sys.executable, "-m", "dvc", "status", "--json", str(DVC_YAML)], capture_output=True, text=True, check=False
    )
    if res.returncode != 0:
        raise PipelineError(f"dvc status failed: {res.stderr.strip()}")
    stale = stale_stages(json.loads(res.stdout or "{}"))
    lines = [f"  - {stage}: {', '.join(reasons)}" for stage, reasons in stale.items()]
    if stale:
        lines.append("Run `make repro` and commit dvc.lock and reports/ (CI does not commit for you).")
    orphans = orphan_stages(load_yaml(DVC_YAML), load_yaml(DVC_LOCK)) if DVC_LOCK.exists() else []
    if orphans:
        lines.append(
            f"{DVC_LOCK} records stages {DVC_YAML} no longer has: {', '.join(orphans)}. "
            f"Delete their entries from {DVC_LOCK} and commit it."
        )
    if lines:
        raise PipelineError("dvc.lock is not current for this commit:\n" + "\n".join(lines))
    log.info("dvc.lock is current")


if __name__ == "__main__":
    run_stage(main)
