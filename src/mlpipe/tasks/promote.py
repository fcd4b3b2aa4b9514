"""``make promote EXP=<name>``: an experiment becomes a branch with one commit, ready for a pull request.

The experiment must be one of the current commit's. A new branch ``exp/<name>``, ``dvc exp apply
<name>`` (its params, ``dvc.lock`` and outputs), the golden predictions re-recorded from its model
(the regression test retrains with its params and must match them), and one commit of exactly
those files. Uncommitted changes to tracked files stop it (they would be mixed in); untracked files
stay out. If a step fails, the work tree goes back to the commit it started from and the branch is
deleted. From there the usual pull request pipeline, gate and report take over; nothing is pushed here.
"""

from __future__ import annotations

import argparse
import logging
import re
import subprocess
import sys
from pathlib import Path

from mlpipe.cli import run_stage
from mlpipe.core.leaderboard import changed_params
from mlpipe.errors import PipelineError
from mlpipe.io.experiments import dvc
from mlpipe.io.files import load_config, read_json
from mlpipe.io.pipeline import DVC_LOCK, DVC_YAML, SEARCH_YAML, pipeline_paths
from mlpipe.tasks import golden
from mlpipe.tasks.leaderboard import listing, verdict_text

log = logging.getLogger(__name__)
BOT = ("github-actions[bot]", "41898282+github-actions[bot]@users.noreply.github.com")


def git(*args: str, check: bool = True) -> str:
    res = subprocess.run(["git", *args], capture_output=True, text=True, check=False)
    if check and res.returncode != 0:
        raise PipelineError(f"git {' '.join(args)} failed: {(res.stderr or res.stdout).strip()}")
    return res.stdout


def commit_message(name: str, changes: dict[str, object], metrics: dict[str, object], metric: str, verdict: str) -> str:
    settings = "\n".join(f"- {k}: {v}" for k, v in changes.items()) or "- (no params changed)"
    value = metrics.get(f"model.{metric}")
    return (
        f"Promote experiment {name}\n\nSettings changed:\n{settings}\n\n"
        f"Test {metric} of the experiment: {value}; its checks: {verdict}. Golden predictions re-recorded "
        "from its model.\n"
    )


def best_of_leaderboard(path: Path, metric: str) -> str | None:
    if not path.exists():
        raise PipelineError(f"no {path}: run `make leaderboard` (or `make tune`) first")
    data = read_json(path)
    if data.get("current") is None or data.get("metric") != metric:
        raise PipelineError(f"{path} ranks by {data.get('metric')!r}, not {metric!r}: run `make leaderboard` again")
    return None if data.get("best") is None else str(data["best"])


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    which = ap.add_mutually_exclusive_group(required=True)
    which.add_argument("--exp", help="experiment name (dvc exp show)")
    which.add_argument(
        "--best",
        action="store_true",
        help="the leaderboard's best real improvement (make leaderboard first); none: print nothing",
    )
    ap.add_argument("--branch", help="default: exp/<name>")
    ap.add_argument("--bot", action="store_true", help="commit as github-actions[bot] (the workflow)")
    ap.add_argument("--dvc-yaml", default=DVC_YAML)
    args = ap.parse_args(argv)
    paths = pipeline_paths(args.dvc_yaml)
    params, _ = load_config(paths.params, paths.contract)
    if args.best:
        args.exp = best_of_leaderboard(paths.leaderboard_json, params.gate.primary_metric)
        if args.exp is None:
            log.info("the leaderboard names no real improvement that passes its checks: nothing to promote")
            return
    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]*", args.exp):
        raise PipelineError(f"EXP may hold only letters, digits and . _ - (got {args.exp!r})")
    branch = args.branch or f"exp/{args.exp}"
    search_lock = SEARCH_YAML.with_name(DVC_LOCK.name).as_posix()  # untracked; if committed anyway, a search changes it
    dirty = [f for f in git("diff", "--name-only", "HEAD").split() if f != search_lock]
    if dirty:
        raise PipelineError(f"uncommitted changes to {', '.join(dirty)}: commit or stash them first")
    found = listing(paths)
    exp = next((e for e in found.experiments if e.name == args.exp), None)
    if exp is None:
        known = ", ".join(e.name for e in found.experiments) or "none"
        raise PipelineError(f"no experiment {args.exp!r} of this commit (dvc exp show lists: {known})")
    if exp.state != "success":
        raise PipelineError(f"experiment {args.exp} did not finish ({exp.state}): `dvc queue logs {args.exp}`")
    verdict = verdict_text(exp.metrics)
    if verdict != "pass":
        log.warning("experiment %s's own checks: %s; its pull request will be blocked by the gate", args.exp, verdict)
    if git("rev-parse", "--verify", "--quiet", f"refs/heads/{branch}", check=False).strip():
        raise PipelineError(f"branch {branch} exists already: delete it or give --branch")
    start = git("rev-parse", "--abbrev-ref", "HEAD").strip()
    back = ["--detach", found.baseline_rev] if start == "HEAD" else [start]  # detached: back to the commit
    git("switch", "-c", branch)
    try:
        dvc("exp", "apply", args.exp)
        golden.main([])
        changed = git("diff", "--name-only", found.baseline_rev, exp.rev).split()
        git("add", "--", *changed, golden.GOLDEN.as_posix())
        message = commit_message(args.exp, changed_params(exp.params, found.baseline_params), exp.metrics,
                                 params.gate.primary_metric, verdict)  # fmt: skip
        ident = ["-c", f"user.name={BOT[0]}", "-c", f"user.email={BOT[1]}"] if args.bot else []
        git(*ident, "commit", "-q", "-m", message)
    except Exception:
        log.error("promotion failed: back to %s, branch %s removed", back[-1], branch)
        git("reset", "-q", "--hard", check=False)
        git("switch", "-q", *back, check=False)
        git("branch", "-q", "-D", branch, check=False)
        dvc("checkout", "--quiet", check=False)
        raise
    log.info("branch %s: %s", branch, git("log", "-1", "--format=%h %s").strip())
    log.info("next: git push -u origin %s && gh pr create --fill --head %s", branch, branch)
    sys.stdout.write(branch + "\n")  # for make promote-pr


if __name__ == "__main__":
    run_stage(main)
