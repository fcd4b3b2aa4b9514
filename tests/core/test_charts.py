"""The Mermaid charts of the PR comment: their structure, the curves on the grid, labels, and size.

Curves come from the pipeline's own curve functions on synthetic scores; feature names are generic.
A small reader (``parse``) turns each block back into title, axes and series, so the assertions are
about what Mermaid would draw, not about spacing.
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np
import pytest

from mlpipe.core import charts as ch
from mlpipe.core.metrics import calibration_table, pr_curve, roc_curve

pytestmark = pytest.mark.unit
NUMBER = re.compile(r"^-?\d+(\.\d+)?$")  # Mermaid's number syntax: no exponent, no nan/inf


def parse(markdown: str) -> list[dict[str, Any]]:
    """Every ```mermaid block of ``markdown`` as {header, title, x, y, categories, series: [(kind, name, values)]}."""
    out = []
    for body in re.findall(r"^```mermaid\n(.*?)\n```$", markdown, re.S | re.M):
        lines = [ln.strip() for ln in body.splitlines()]
        assert re.fullmatch(r"%%\{init: \{.*\}\}%%", lines[0]), "the colour directive comes first"
        chart: dict[str, Any] = {"header": lines[1], "series": [], "categories": None}
        for ln in lines[2:]:
            key, _, rest = ln.partition(" ")
            if key == "title":
                chart["title"] = rest.strip('"')
            elif key in ("x-axis", "y-axis"):
                chart[key[0]] = rest
                if rest.startswith("["):
                    chart["categories"] = re.findall(r'"([^"]*)"', rest)
                    assert rest == "[" + ", ".join(f'"{c}"' for c in chart["categories"]) + "]", "every label quoted"
            elif key in ("line", "bar"):
                m = re.fullmatch(r'"([^"]*)" \[(.*)\]', rest)
                assert m, ln
                numbers = m.group(2).split(", ")
                assert all(NUMBER.match(n) for n in numbers), numbers
                chart["series"].append((key, m.group(1), [float(n) for n in numbers]))
            else:
                pytest.fail(f"unexpected line {ln!r}")
        out.append(chart)
    return out


def plots(seed: int, separation: float = 1.5, features: int = 8) -> ch.Plots:
    """The evaluate stage's four plot files for synthetic scores: positives score ``separation`` higher."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, 3000)
    p = 1 / (1 + np.exp(-(rng.normal(0, 1, y.size) + separation * (y - 0.5))))
    imp = sorted(rng.exponential(0.02, features), reverse=True)
    return {
        "roc": roc_curve(y, p),
        "precision_recall": pr_curve(y, p),
        "calibration": calibration_table(y, p),
        "importance": [{"feature": f"feature_{i}", "importance": float(v), "std": 0.001} for i, v in enumerate(imp)],
    }


@pytest.fixture(scope="module")
def head() -> ch.Plots:
    return plots(0, separation=2.0)


@pytest.fixture(scope="module")
def base() -> ch.Plots:
    return plots(1, separation=1.0)


def test_roc_and_precision_recall_draw_this_pr_against_the_base(head: ch.Plots, base: ch.Plots) -> None:
    text = "\n".join(ch.charts(head, base, "main"))
    roc, pr, calibration, importance = parse(text)
    for chart, x in ((roc, "false positive rate"), (pr, "recall")):
        assert chart["header"] == "xychart-beta"
        assert chart["x"] == f'"{x}" 0 --> 1'
        assert chart["y"].endswith(" 0 --> 1")
        assert [(kind, name, len(v)) for kind, name, v in chart["series"]] == [
            ("line", "this PR", ch.GRID.size),
            ("line", "main", ch.GRID.size),
        ]
        assert all(0 <= v <= 1 for _, _, values in chart["series"] for v in values)
    (_, _, mine), (_, _, theirs) = roc["series"]
    assert mine == sorted(mine), "a ROC curve never goes down"
    assert mine[-1] == 1
    assert sum(mine) > sum(theirs), "the better-separated scores lie above"
    assert "_Blue: this PR · orange: `main`._" in text, "no legend in Mermaid: the caption names the colours"
    assert '"plotColorPalette": "#0969da, #bc4c00"' in text
    assert [name for _, name, _ in calibration["series"]] == ["this PR", "main", "perfectly calibrated"]
    assert calibration["series"][2][2] == [round(v, 3) for v in ch.GRID.tolist()], "the diagonal"
    assert importance["header"] == "xychart-beta horizontal"
    assert importance["categories"] == [f"feature_{i}" for i in range(8)]
    assert importance["title"] == "Permutation importance, 8 features"


def test_without_base_plots_only_this_pr_is_drawn_and_the_report_says_so(head: ch.Plots) -> None:
    text = "\n".join(ch.charts(head, None, "main"))
    assert text.startswith("_No plots on `main` to compare with: this PR's curves only._")
    roc, pr, calibration, _ = parse(text)
    assert [name for _, name, _ in roc["series"]] == ["this PR"]
    assert [name for _, name, _ in pr["series"]] == ["this PR"]
    assert [name for _, name, _ in calibration["series"]] == ["this PR", "perfectly calibrated"]
    assert '"plotColorPalette": "#0969da, #8c959f"' in text, "the diagonal stays grey without the base's line"
    assert "main" not in text.split("\n", 1)[1]


def test_a_base_missing_one_plot_is_compared_on_the_others(head: ch.Plots, base: ch.Plots) -> None:
    partial = {k: v for k, v in base.items() if k != "roc"}
    roc, pr, *_ = parse("\n".join(ch.charts(head, partial, "main")))
    assert len(roc["series"]) == 1
    assert len(pr["series"]) == 2


def test_roc_on_the_grid_takes_the_top_of_vertical_steps_and_runs_from_0_to_1() -> None:
    rows = [{"fpr": 0.0, "tpr": 0.2}, {"fpr": 0.0, "tpr": 0.6}, {"fpr": 0.5, "tpr": 0.8}, {"fpr": 0.5, "tpr": 0.9}]
    got = ch.roc_on_grid(rows)
    assert got is not None
    assert got[0] == pytest.approx(0.6)  # the best TPR at FPR 0, not the first
    assert got[10] == pytest.approx(0.9)  # FPR 0.5
    assert got[5] == pytest.approx(0.75)  # halfway between (0, 0.6) and (0.5, 0.9)
    assert got[-1] == pytest.approx(1.0)  # (1, 1) is always reachable
    assert np.all(np.diff(got) >= 0)


def test_precision_at_a_repeated_recall_is_the_best_from_there_on() -> None:
    rows = [
        {"recall": 0.1, "precision": 1.0},
        {"recall": 0.5, "precision": 0.6},
        {"recall": 0.5, "precision": 0.9},  # same recall, precision moved: the duplicate
        {"recall": 0.8, "precision": 0.7},
    ]
    got = ch.pr_on_grid(rows)
    assert got is not None
    assert got[0] == pytest.approx(1.0)
    assert got[4] == pytest.approx(0.9)  # recall 0.2: best precision at recall >= 0.2
    assert got[10] == pytest.approx(0.9)  # recall 0.5
    assert got[12] == pytest.approx(0.7)  # recall 0.6
    assert got[-1] == 0.0, "no threshold reaches recall 1"


def test_calibration_is_interpolated_between_bins_and_flat_beyond_them() -> None:
    rows = [{"mean_predicted": 0.2, "fraction_positive": 0.1}, {"mean_predicted": 0.6, "fraction_positive": 0.7}]
    got = ch.calibration_on_grid(rows)
    assert got is not None
    assert got[0] == pytest.approx(0.1)
    assert got[8] == pytest.approx(0.4)  # 0.4 is halfway
    assert got[-1] == pytest.approx(0.7)


def test_unusable_plot_data_draws_nothing_rather_than_failing() -> None:
    assert ch.roc_on_grid(None) is None
    assert ch.roc_on_grid([{"fpr": float("nan"), "tpr": 0.5}, {"fpr": "x", "tpr": 1}]) is None
    assert ch.pr_on_grid({"recall": 1}) is None
    assert ch.importance_chart([{"feature": "a"}]) == []
    assert ch.charts({}, None, "main") == ["_No plots on `main` to compare with: this PR's curves only._", ""]


NASTY = [
    'say "hi"',
    "a, b",
    "[bracketed]",
    "`code`",
    "<b>bold</b>",
    "#quot; entity",
    "50%% off",
    "semi;colon",
    "two\nlines",
    "",
    "x" * 80,
    "x" * 80 + " twin",
    "naïve café",
    "-->",
    "x" * 39 + "…",
]


def test_feature_names_are_quoted_safe_short_and_distinct() -> None:
    rows = [{"feature": f, "importance": 0.1 / (i + 1)} for i, f in enumerate(NASTY)]
    (chart,) = parse("\n".join(ch.importance_chart(rows, top=len(NASTY))))
    cats = chart["categories"]
    assert len(cats) == len(NASTY) == len(set(cats)), "Mermaid would merge equal categories"
    assert all(0 < len(c) <= ch.LABEL_CHARS for c in cats)
    assert not any(bad in c for c in cats for bad in '"`<>#\n')
    assert cats[0] == "say 'hi'"
    assert cats[1:3] == ["a, b", "[bracketed]"], "commas and brackets are fine inside quotes"
    assert cats[9] == "(unnamed)"
    assert cats[10] == "x" * 39 + "…"
    assert cats[11] == "x" * 35 + "… (2)"
    assert cats[-1] == "x" * 35 + "… (3)", "equal to a cut name and to its numbered twin: the next number"
    assert cats[12] == "naïve café"
    assert len(chart["series"][0][2]) == len(cats)


def test_importance_numbers_stay_in_mermaid_syntax_and_keep_three_digits() -> None:
    rows = [{"feature": "f1", "importance": 0.000123456}, {"feature": "f2", "importance": 2e-7},
            {"feature": "f3", "importance": -0.00005}]  # fmt: skip
    lines = ch.importance_chart(rows)
    (chart,) = parse("\n".join(lines))  # parse() rejects exponents
    assert chart["y"] == '"drop in ROC AUC" 0 --> 0.000123'
    assert chart["series"][0][2] == [0.000123, 0.0, 0.0]
    assert "negative importances (noise) are drawn as 0" in lines[-2]


def test_five_hundred_features_stay_a_small_chart_and_the_title_says_it_is_cut() -> None:
    rows = [{"feature": f"{'very long feature name ' * 4}{i}", "importance": 1 / (i + 1)} for i in range(500)]
    lines = ch.importance_chart(rows)
    (chart,) = parse("\n".join(lines))
    assert chart["title"] == f"Permutation importance, top {ch.TOP_FEATURES} of 500 features"
    assert len(chart["categories"]) == len(chart["series"][0][2]) == ch.TOP_FEATURES
    assert len("\n".join(lines)) < 2_000
    (chart,) = parse("\n".join(ch.importance_chart(rows, top=3)))
    assert len(chart["categories"]) == 3
