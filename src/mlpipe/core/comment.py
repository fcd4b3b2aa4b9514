"""What may reach the pull-request comment, decided on text alone (no files, no network).

The report Markdown is built by the pull request's own code, so the posting job (which holds a
write token) treats it as untrusted: with publishing on, CML uploads every local file a link or
image points at. ``neutralise_links`` turns every link into plain text except images of the
allowed files; ``one_comment`` decides how to get back to ONE report comment when CML, which reads
only the first page of a PR's comments, has posted a second one.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

#: The report comment's title, and CML's watermark title: how the one report comment is found again.
WATERMARK = "mlpipe model report"

GITHUB_COMMENT_LIMIT = 65_536  # characters GitHub accepts in one comment body
FENCE = re.compile(r"^\s{0,3}(`{3,}|~{3,})")
CODE_SPAN = re.compile(r"(`+)(?:.|\n)*?\1")
IMAGE = re.compile(r"!\\\[([^\]\\\n]*)\\\]\(([^()\s]+)\)")


def _escape_text(text: str) -> str:
    # outside code spans, brackets lose their Markdown meaning (HTML and <autolinks> are not uploaded by CML)
    out, last = [], 0
    for m in CODE_SPAN.finditer(text):
        out.append(re.sub(r"([\[\]])", r"\\\1", text[last : m.start()]))
        out.append(m.group(0))
        last = m.end()
    out.append(re.sub(r"([\[\]])", r"\\\1", text[last:]))
    return "".join(out)


def neutralise_links(markdown: str, allowed: Callable[[str], bool]) -> str:
    """Every link, image and reference definition outside code becomes text, except images
    ``![alt](target)`` whose target ``allowed`` accepts (which then stay images)."""
    out: list[str] = []
    block: list[str] = []
    fence: str | None = None
    for line in markdown.splitlines(keepends=True):
        m = FENCE.match(line)
        if fence is None and m:
            out.append(_escape_text("".join(block)))
            block, fence = [], m.group(1)[0] * 3
            out.append(line)
        elif fence is not None:
            out.append(line)
            if line.strip().startswith(fence):
                fence = None
        else:
            block.append(line)
    out.append(_escape_text("".join(block)))
    text = "".join(out)
    return IMAGE.sub(lambda m: f"![{m.group(1)}]({m.group(2)})" if allowed(m.group(2)) else m.group(0), text)


def fit_comment(markdown: str, limit: int = GITHUB_COMMENT_LIMIT, reserve: int = 500) -> str:
    """GitHub refuses bodies over its limit; cut at a line and say so (``reserve`` is left for CML's watermark)."""
    if len(markdown) <= limit - reserve:
        return markdown
    cut = markdown[: limit - reserve - 200].rsplit("\n", 1)[0]
    note = "report cut here: a GitHub comment holds at most 65,536 characters; see the `report` artifact"
    return f"{cut}\n\n_({note})_\n"


@dataclass(frozen=True)
class Plan:
    keep: int | None  # the comment that stays (the oldest: it keeps its place in the thread)
    body: str | None  # the newest report, when ``keep`` must be updated with it
    delete: tuple[int, ...]


def one_comment(comments: Sequence[tuple[int, str]], is_report: Callable[[str], bool]) -> Plan:
    """From a PR's comments (id, body) in thread order: keep the first report comment, give it the
    newest report's body, delete the other report comments. Nothing to do when there is one or none."""
    reports = [(cid, body) for cid, body in comments if is_report(body)]
    if len(reports) <= 1:
        return Plan(reports[0][0] if reports else None, None, ())
    (first, _), (_, newest) = reports[0], reports[-1]
    return Plan(first, newest, tuple(cid for cid, _ in reports[1:]))


def cml_watermark_pattern(title: str) -> re.Pattern[str]:
    """CML's watermark for ``--watermark-title`` (src/watermark.js at v0.20.6): an image whose title
    is ``CML watermark <title>`` with ``_ * [ <`` backslash-escaped, any commit after ``#``."""
    escaped = re.sub(r"([_*\[<])", r"\\\1", f"CML watermark {title}".strip())
    return re.compile(r"!\[\]\(https://cml\.dev/watermark\.png#[0-9a-fA-F]+ \"" + re.escape(escaped) + r"\"\)")
