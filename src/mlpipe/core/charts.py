"""The evaluate stage's plots as Mermaid ``xychart-beta`` blocks, so they show in the PR comment itself.

GitHub renders Mermaid in comments: the charts reach the reviewer with nothing uploaded anywhere.
Mermaid spaces every series of a chart evenly along one x-axis and draws no legend, so curves are
resampled onto a common grid, and each chart says in words which colour is which.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from mlpipe.core.metrics import FloatArray

#: The plot files (``<name>.json``) drawn here, in the order they are drawn.
CHARTS: tuple[str, ...] = ("roc", "precision_recall", "calibration", "importance")
#: 0, 0.05, ..., 1: fine enough to see the shape of a curve, short enough to keep a comment small.
GRID: FloatArray = np.linspace(0.0, 1.0, 21)
#: Bars in the importance chart. More labels than this no longer fit the chart's default height, and
#: the cap keeps the comment's size independent of the number of features (params.yaml has no report
#: section to hold it); every feature is in the artifact's importance.json.
TOP_FEATURES = 15
#: Longer feature names are cut: a few long names would otherwise squeeze the bars to nothing.
LABEL_CHARS = 40
DIGITS = 3  # curves live in [0, 1]: 3 decimals are below what a 500-pixel chart can show


Rows = list[dict[str, Any]]
Plots = dict[str, Rows]

# Characters a quoted Mermaid string cannot hold ("), that open a markdown string (`), that Mermaid's
# sanitiser treats as HTML (< >) or as an entity code (#name;), and line breaks.
_UNSAFE = str.maketrans({'"': "'", "`": "'", "<": "‹", ">": "›", "#": "＃", "\n": " ", "\r": " ", "\t": " "})


@dataclass(frozen=True)
class Series:
    name: str
    colour: str
    values: list[float]
    kind: str = "line"


@dataclass(frozen=True)
class Role:
    """What a line stands for, its colour, and the colour's name for the caption (Mermaid has no legend)."""

    name: str
    colour: str
    word: str
    shown: str = ""  # the caption's Markdown for name, when not name itself


THIS_PR = Role("this PR", "#0969da", "blue")
IDEAL = Role("perfectly calibrated", "#8c959f", "grey")


def base_role(base: str) -> Role:
    return Role(base, "#bc4c00", "orange", f"`{base}`")


def text(s: str) -> str:
    """``s`` with what Mermaid cannot take inside double quotes replaced by look-alikes."""
    out = "".join(c if c.isprintable() else " " for c in str(s).translate(_UNSAFE))
    return " ".join(out.split())


def label(s: str, width: int = LABEL_CHARS) -> str:
    """A category label: safe text, at most ``width`` characters, never empty."""
    out = text(s) or "(unnamed)"
    return out if len(out) <= width else out[: width - 1].rstrip() + "…"


def _fmt(v: float, digits: int = DIGITS) -> str:
    """Fixed-point, trailing zeros dropped: Mermaid's number syntax has no exponents (1e-05 breaks it)."""
    s = f"{v:.{digits}f}".rstrip("0").rstrip(".")
    return "0" if s in ("-0", "") else s


def _points(rows: Any, x: str, y: str) -> tuple[FloatArray, FloatArray] | None:
    """The finite (x, y) pairs of ``rows`` sorted by x, or None when there are none (or no rows)."""
    if not isinstance(rows, list):
        return None
    pairs = []
    for r in rows:
        if isinstance(r, dict) and isinstance(r.get(x), int | float) and isinstance(r.get(y), int | float):
            pairs.append((float(r[x]), float(r[y])))
    arr = np.array([p for p in pairs if math.isfinite(p[0]) and math.isfinite(p[1])], dtype=np.float64)
    if arr.size == 0:
        return None
    arr = arr[np.argsort(arr[:, 0], kind="stable")]
    return arr[:, 0], arr[:, 1]


def roc_on_grid(rows: Any) -> FloatArray | None:
    """TPR at each grid FPR: linear between operating points (any point between two is reachable by
    randomising between their thresholds); at a repeated FPR the highest TPR; from (0, 0) to (1, 1)."""
    pts = _points(rows, "fpr", "tpr")
    if pts is None:
        return None
    x, y = np.r_[0.0, np.clip(pts[0], 0, 1), 1.0], np.r_[0.0, np.clip(pts[1], 0, 1), 1.0]
    xs, first = np.unique(x, return_index=True)
    ys = np.maximum.accumulate(np.maximum.reduceat(y, first))  # a ROC curve never goes down
    return np.interp(GRID, xs, ys)


def pr_on_grid(rows: Any) -> FloatArray | None:
    """Interpolated precision at each grid recall: the best precision at that recall or more.

    The usual definition for a PR curve on a grid; it settles repeated recall values (precision falls
    while recall stands still) and needs no extrapolation to recall 0. Recall no threshold reaches: 0.
    """
    pts = _points(rows, "recall", "precision")
    if pts is None:
        return None
    recall, precision = pts
    best_from = np.maximum.accumulate(np.clip(precision, 0, 1)[::-1])[::-1]
    idx = np.searchsorted(recall, GRID - 1e-9, side="left")
    return np.where(idx < recall.size, best_from[np.minimum(idx, recall.size - 1)], 0.0)


def calibration_on_grid(rows: Any) -> FloatArray | None:
    """Observed positive rate at each grid probability: linear between the bins' mean predictions,
    flat beyond the lowest and highest bin (no bin says more there)."""
    pts = _points(rows, "mean_predicted", "fraction_positive")
    if pts is None:
        return None
    x, y = pts
    xs, first, counts = np.unique(x, return_index=True, return_counts=True)
    return np.interp(GRID, xs, np.clip(np.add.reduceat(y, first) / counts, 0, 1))


def xychart(
    title: str, x_axis: str, y_axis: str, series: Sequence[Series], *, horizontal: bool = False, digits: int = DIGITS
) -> list[str]:
    """One fenced ``mermaid`` block; ``x_axis``/``y_axis`` are the axis lines' Mermaid text as is."""
    palette = ", ".join(s.colour for s in series)
    init = json.dumps({"themeVariables": {"xyChart": {"plotColorPalette": palette}}})
    lines = ["```mermaid", f"%%{{init: {init}}}%%", "xychart-beta" + (" horizontal" if horizontal else "")]
    lines += [f'  title "{text(title)}"', f"  x-axis {x_axis}", f"  y-axis {y_axis}"]
    lines += [f'  {s.kind} "{text(s.name)}" [{", ".join(_fmt(v, digits) for v in s.values)}]' for s in series]
    return [*lines, "```"]


def _curve(title: str, x: str, y: str, curves: Sequence[tuple[Role, FloatArray | None]]) -> list[str]:
    drawn = [(role, values) for role, values in curves if values is not None]
    if not drawn:
        return []
    series = [Series(role.name, role.colour, [float(v) for v in values]) for role, values in drawn]
    key = " · ".join(f"{role.word}: {role.shown or role.name}" for role, _ in drawn)
    chart = xychart(title, f'"{text(x)}" 0 --> 1', f'"{text(y)}" 0 --> 1', series)
    return [*chart, f"_{key[:1].upper()}{key[1:]}._", ""]


def importance_chart(rows: Any, top: int = TOP_FEATURES) -> list[str]:
    """The ``top`` features by permutation importance as horizontal bars; the title says when it is a cut."""
    if not isinstance(rows, list):
        return []
    ranked = sorted(
        (r for r in rows if isinstance(r, dict) and isinstance(r.get("importance"), int | float)
         and math.isfinite(r["importance"])),
        key=lambda r: -float(r["importance"]),
    )  # fmt: skip
    shown = ranked[:top]
    if not shown:
        return []
    names: list[str] = []
    for r in shown:  # Mermaid merges equal categories: cut or sanitised names must stay apart
        feature, n = str(r.get("feature", "")), 1
        name = label(feature)
        while name in names:
            n += 1
            name = label(feature, LABEL_CHARS - len(f" ({n})")) + f" ({n})"
        names.append(name)
    values = [max(float(r["importance"]), 0.0) for r in shown]
    hi = max(values) or 1.0
    digits = max(DIGITS, 2 - math.floor(math.log10(hi)))  # 3 significant digits on the longest bar
    cut = f"top {len(shown)} of {len(ranked)} features" if len(ranked) > len(shown) else f"{len(shown)} features"
    categories = ", ".join(f'"{n}"' for n in names)
    chart = xychart(
        f"Permutation importance, {cut}",
        f"[{categories}]",
        f'"drop in ROC AUC" 0 --> {_fmt(hi, digits)}',
        [Series(THIS_PR.name, THIS_PR.colour, values, kind="bar")],
        horizontal=True,
        digits=digits,
    )
    note = "; negative importances (noise) are drawn as 0" if any(float(r["importance"]) < 0 for r in shown) else ""
    return [*chart, f"_This PR's model: drop in ROC AUC when the feature's values are shuffled{note}._", ""]


def charts(plots: Plots, base_plots: Plots | None, base: str, top: int = TOP_FEATURES) -> list[str]:
    """Markdown lines: ROC and precision-recall (this PR vs ``base``), calibration, importance.

    With no plots on the base (first PR, or the base's could not be read) only this PR is drawn, and
    the first line says so.
    """
    other = base_plots or {}
    ref = base_role(base)
    lines = [] if base_plots else [f"_No plots on `{base}` to compare with: this PR's curves only._", ""]
    lines += _curve(
        "ROC curve",
        "false positive rate",
        "true positive rate",
        [(THIS_PR, roc_on_grid(plots.get("roc"))), (ref, roc_on_grid(other.get("roc")))],
    )
    lines += _curve(
        "Precision-recall curve (interpolated precision)",
        "recall",
        "precision",
        [(THIS_PR, pr_on_grid(plots.get("precision_recall"))), (ref, pr_on_grid(other.get("precision_recall")))],
    )
    calibration = [(THIS_PR, calibration_on_grid(plots.get("calibration"))),
                   (ref, calibration_on_grid(other.get("calibration")))]  # fmt: skip
    if any(values is not None for _, values in calibration):
        lines += _curve(
            "Calibration: observed vs predicted",
            "mean predicted probability",
            "observed positive rate",
            [*calibration, (IDEAL, GRID)],
        )
    lines += importance_chart(plots.get("importance"), top)
    return lines
