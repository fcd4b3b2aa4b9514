"""What may reach the PR comment: links neutralised, size bounded, one report comment."""

from __future__ import annotations

import re

import pytest

from mlpipe.core.comment import cml_watermark_pattern, fit_comment, neutralise_links, one_comment

pytestmark = pytest.mark.unit
LINK = re.compile(r"(?<!\\)\]\(([^)]*)\)")


def test_links_images_and_definitions_become_text_but_code_and_charts_stay() -> None:
    md = (
        "# Report\n\n[home](https://example.com) ![a](/etc/passwd) ![ok](plots/roc.svg)\n\n"
        "[ref]: ../../secret\n\n`[not](a link)` in code\n\n"
        '```mermaid\nxychart-beta\n  x-axis ["a", "b"]\n  line [0.1, 0.2]\n```\n'
    )
    out = neutralise_links(md, lambda t: t == "plots/roc.svg")
    assert LINK.findall(re.sub(r"`[^`]*`", "", out)) == ["plots/roc.svg"]
    assert "\\[ref\\]: ../../secret" in out
    assert "`[not](a link)`" in out, "code spans are left alone"
    assert 'x-axis ["a", "b"]' in out, "fenced blocks (the Mermaid charts) are left alone"


def test_an_image_of_a_disallowed_file_stays_text() -> None:
    out = neutralise_links("![x](plots/../../../etc/passwd)\n", lambda t: False)
    assert LINK.findall(out) == []


def test_unclosed_fence_does_not_unescape_the_rest() -> None:
    out = neutralise_links("```\n[a](b)\n", lambda t: False)
    assert out == "```\n[a](b)\n", "inside a fence nothing is a link (CommonMark runs an open fence to the end)"


def test_fit_comment_keeps_small_reports_and_cuts_big_ones_at_a_line() -> None:
    assert fit_comment("small\n") == "small\n"
    big = "".join(f"line {i}\n" for i in range(20_000))
    out = fit_comment(big, limit=10_000)
    assert len(out) <= 10_000 - 300
    assert out.splitlines()[-1].startswith("_(report cut here")
    assert all(line.startswith("line ") for line in out.splitlines()[:-2] if line)


def test_one_comment_keeps_the_first_with_the_newest_body() -> None:
    is_report = lambda body: body.startswith("R")  # noqa: E731
    assert one_comment([(1, "x"), (2, "y")], is_report).keep is None
    single = one_comment([(1, "x"), (2, "R1")], is_report)
    assert (single.keep, single.body, single.delete) == (2, None, ())
    plan = one_comment([(1, "R1"), (2, "x"), (3, "R2"), (4, "R3")], is_report)
    assert (plan.keep, plan.body, plan.delete) == (1, "R3", (3, 4))


def test_the_watermark_pattern_matches_what_cml_writes() -> None:
    # src/watermark.js: ![](https://cml.dev/watermark.png#<sha> "CML watermark <title, _ * [ < escaped>")
    pattern = cml_watermark_pattern("my_model [report]")
    written = '![](https://cml.dev/watermark.png#0123abc "CML watermark my\\_model \\[report]")'
    assert pattern.search(f"body\n\n{written}")
    assert not cml_watermark_pattern("other report").search(written)
