"""The README and docs/: every relative link and anchor resolves, every make target they name exists,
and the README stays a front page (at most 250 lines), the reference beside it."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.repos import ROOT

pytestmark = pytest.mark.unit
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
LINK = re.compile(r"(?<!!)\[[^\]]*\]\(([^)\s]+)\)|!\[[^\]]*\]\(([^)\s]+)\)")
FENCE = re.compile(r"```.*?```", re.S)


def slug(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped (not - or _), spaces as hyphens."""
    text = re.sub(r"`|\*\*|\[([^\]]*)\]\([^)]*\)", r"\1", heading.strip()).lower()
    return re.sub(r"[^\w\- ]", "", text).replace(" ", "-")


def anchors(page: Path) -> set[str]:
    seen: dict[str, int] = {}
    out = set()
    for heading in re.findall(r"^#{1,6} (.+)$", FENCE.sub("", page.read_text()), re.M):
        base = slug(heading)
        n = seen.get(base, 0)
        out.add(base if n == 0 else f"{base}-{n}")
        seen[base] = n + 1
    return out


def links(page: Path) -> list[str]:
    text = FENCE.sub("", page.read_text())
    text = re.sub(r"`[^`\n]*`", "", text)  # code spans are not links
    return [a or b for a, b in LINK.findall(text)]


def make_targets() -> set[str]:
    return set(re.findall(r"^([a-zA-Z][\w-]*):", (ROOT / "Makefile").read_text(), re.M))


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_relative_link_and_anchor_resolves(page: Path) -> None:
    broken = []
    for target in links(page):
        if re.match(r"^[a-z][a-z0-9+.-]*:", target):  # https:, mailto:: not ours to check offline
            continue
        path, _, anchor = target.partition("#")
        dest = (page.parent / path).resolve() if path else page
        if not dest.exists():
            broken.append(f"{target}: {dest.relative_to(ROOT) if dest.is_relative_to(ROOT) else dest} does not exist")
        elif anchor and dest.suffix == ".md" and anchor not in anchors(dest):
            broken.append(f"{target}: no heading with the anchor #{anchor} in {dest.name}")
    assert not broken, f"{page.relative_to(ROOT)}: " + "; ".join(broken)


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_make_target_named_exists(page: Path) -> None:
    text = page.read_text()
    code = " ; ".join([*FENCE.findall(text), *re.findall(r"`([^`\n]*)`", text)])
    named = set(re.findall(r"(?<![\w/.-])make ([a-z][a-z0-9-]*)", code))
    missing = sorted(named - make_targets())
    assert not missing, f"{page.relative_to(ROOT)} names make targets the Makefile does not have: {missing}"


def test_the_readme_is_a_front_page() -> None:
    lines = (ROOT / "README.md").read_text().splitlines()
    assert len(lines) <= 250, f"README.md has {len(lines)} lines: move the reference to docs/"
    for page in sorted((ROOT / "docs").glob("*.md")):
        assert f"(docs/{page.name})" in "\n".join(lines), f"README.md does not link {page.name}"


def test_the_slug_rules() -> None:
    assert slug("Monitoring: `make monitor`") == "monitoring-make-monitor"
    assert slug("CI/CD") == "cicd"
    assert slug("What a push costs, and how to cut it") == "what-a-push-costs-and-how-to-cut-it"
