"""``make comment`` (pr-comment.yml): the steps around CML, which posts the report comment.

``check``     the PR number from the (untrusted) artifact names a PR whose head is the commit the
              pipeline ran on; prints the number.
``prepare``   the Markdown CML will post: cut to GitHub's size limit; with ``--publish`` every link
              is made plain text except images under the plots folder (CML uploads what links point at);
              prints the report's title, CML's watermark (written once: mlpipe.core.comment.WATERMARK).
``reconcile`` after CML: exactly one report comment. CML 0.20.6 reads only the first 30 comments of
              a PR, so on a busy PR it posts a second report; the first one (which keeps its place in
              the thread) gets the new body and the extra ones are deleted.
"""

from __future__ import annotations

import argparse
import logging
import re
from pathlib import Path

from mlpipe.cli import run_stage
from mlpipe.core.comment import WATERMARK, cml_watermark_pattern, fit_comment, neutralise_links, one_comment
from mlpipe.env import process_env
from mlpipe.errors import PipelineError
from mlpipe.io.files import write_text
from mlpipe.io.github import GitHub

log = logging.getLogger(__name__)
IMAGE_SUFFIXES = {".svg", ".png", ".jpg", ".jpeg", ".gif"}


def check(pr_file: Path, head_sha: str, gh: GitHub) -> int:
    text = pr_file.read_text().strip() if pr_file.exists() else ""
    if not re.fullmatch(r"[0-9]{1,9}", text):
        raise PipelineError(f"{pr_file}: not a pull-request number: {text[:40]!r}")
    if not re.fullmatch(r"[0-9a-f]{40}", head_sha):
        raise PipelineError(f"HEAD_SHA must be a 40-hex commit, got {head_sha[:60]!r}")
    head = gh.get(f"pulls/{text}")["head"]["sha"]
    if head != head_sha:
        raise PipelineError(f"PR {text}'s head {head} is not the commit the pipeline ran on ({head_sha}): not posting")
    return int(text)


def prepare(report: Path, plots: Path, out: Path, publish: bool) -> str:
    text = fit_comment(report.read_text(encoding="utf-8"))
    if publish:
        root = plots.resolve()

        def allowed(target: str) -> bool:
            p = (report.parent / target).resolve()
            return p.is_relative_to(root) and p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES

        text = neutralise_links(text, allowed)
    write_text(out, text)
    return text


def reconcile(pr: int, title: str, gh: GitHub) -> str:
    pattern = cml_watermark_pattern(title)
    comments = [(int(c["id"]), str(c.get("body") or "")) for c in gh.paginate(f"issues/{pr}/comments")]
    plan = one_comment(comments, lambda body: bool(pattern.search(body)))
    if plan.keep is None:
        raise PipelineError(f"PR {pr} has no report comment after CML ran (watermark {title!r} not found)")
    if plan.body is not None:
        gh.patch(f"issues/comments/{plan.keep}", {"body": plan.body})
        for cid in plan.delete:
            gh.delete(f"issues/comments/{cid}")
        log.info("PR %d: updated report comment %d in place, removed %d duplicate(s)", pr, plan.keep, len(plan.delete))
        return "merged"
    log.info("PR %d: one report comment (%d)", pr, plan.keep)
    return "one"


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    sub = ap.add_subparsers(dest="cmd", required=True)
    c = sub.add_parser("check")
    c.add_argument("--pr-file", type=Path, required=True)
    c.add_argument("--head-sha", default=process_env().head_sha)
    p = sub.add_parser("prepare")
    p.add_argument("--report", type=Path, required=True)
    p.add_argument("--plots", type=Path, required=True)
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--publish", action=argparse.BooleanOptionalAction, default=False)
    r = sub.add_parser("reconcile")
    r.add_argument("--pr", type=int, required=True)
    r.add_argument("--title", default=WATERMARK)
    args = ap.parse_args(argv)
    if args.cmd == "check":
        print(check(args.pr_file, args.head_sha, GitHub.from_env()))  # noqa: T201 - the number is the output
    elif args.cmd == "prepare":
        prepare(args.report, args.plots, args.out, args.publish)
        print(WATERMARK)  # noqa: T201 - the title is the output
    else:
        reconcile(args.pr, args.title, GitHub.from_env())


if __name__ == "__main__":
    run_stage(main)
