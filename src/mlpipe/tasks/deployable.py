"""``make deployable`` (deploy.yml): may this commit ship? ``deploy=true|false`` into ``$GITHUB_OUTPUT``.

deploy.yml starts when ``pipeline`` succeeded on a push to main, which means the gate passed for
this commit. Two more conditions: main has not moved on (a newer commit's run will deploy; shipping
an older one after it would roll production back), and ``ci`` (lint and tests) passed for the same
commit; ci may still be running, so it is awaited. A failed ci fails this step loudly.
"""

from __future__ import annotations

import argparse
import logging
import os
import re
import time
from collections.abc import Callable
from pathlib import Path

from mlpipe.cli import run_stage
from mlpipe.env import process_env
from mlpipe.errors import PipelineError
from mlpipe.io.github import GitHub

log = logging.getLogger(__name__)


def deployable(
    gh: GitHub, sha: str, branch: str, workflow: str, wait_s: float, poll_s: float,
    sleep: Callable[[float], None] = time.sleep, clock: Callable[[], float] = time.monotonic,
) -> tuple[bool, str]:  # fmt: skip
    if not re.fullmatch(r"[0-9a-f]{40}", sha):
        raise PipelineError(f"SHA must be a 40-hex commit, got {sha[:60]!r}")
    head = gh.get(f"commits/{branch}")["sha"]
    if head != sha:
        return False, f"{branch} has moved on to {head[:12]}: its own run deploys, not {sha[:12]}"
    deadline = clock() + wait_s
    while True:
        runs = [r for r in gh.paginate("actions/runs", head_sha=sha, event="push")
                if Path(str(r.get("path", ""))).name == workflow]  # fmt: skip
        done = [r for r in runs if r.get("status") == "completed"]
        if runs and len(done) == len(runs):
            newest = max(done, key=lambda r: (int(r.get("run_attempt", 1)), int(r["id"])))
            if newest.get("conclusion") != "success":
                raise PipelineError(f"{workflow} concluded {newest.get('conclusion')} for {sha[:12]}: not deploying")
            return True, f"{workflow} passed and {branch} is still at {sha[:12]}"
        if clock() >= deadline:
            raise PipelineError(f"{workflow} for {sha[:12]} did not finish within {wait_s / 60:.0f} min: not deploying")
        log.info("waiting for %s on %s (%d run(s), %d finished)", workflow, sha[:12], len(runs), len(done))
        sleep(poll_s)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--sha", default=process_env().sha)
    ap.add_argument("--branch", default="main")
    ap.add_argument("--workflow", default="ci.yml", help="file name of the workflow that must have passed")
    ap.add_argument("--wait-minutes", type=float, default=40)
    ap.add_argument("--poll-seconds", type=float, default=20)
    args = ap.parse_args(argv)
    ok, why = deployable(GitHub.from_env(), args.sha, args.branch, args.workflow, args.wait_minutes * 60,
                         args.poll_seconds)  # fmt: skip
    log.info("deploy=%s: %s", str(ok).lower(), why)
    with open(process_env().github_output or os.devnull, "a", encoding="utf-8") as fh:
        fh.write(f"deploy={str(ok).lower()}\n")


if __name__ == "__main__":
    run_stage(main)
