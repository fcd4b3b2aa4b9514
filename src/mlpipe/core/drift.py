"""Drift between a reference sample and a window: per feature and for the predictions. Pure.

Each feature gets the population stability index (PSI, over the reference's deciles for numbers,
over categories otherwise) and a two-sample test (Kolmogorov-Smirnov for numbers, chi-square for
categories, from scipy) with its effect size (the KS statistic D; Cramér's V). With tens of
thousands of rows every p-value is tiny, so a test alone never flags drift: a feature drifts when
its PSI crosses the threshold, or when the test is significant *and* the effect is large enough.
The thresholds are conventions (PSI 0.1 = "moderate shift"), set in params.yaml, not fitted here.

Every statistic is computed from counts that add up across partitions of the window (:class:`Counts`:
the window's values binned at the reference's deciles, categories, and cumulative counts at the
reference's distinct values), so a window larger than memory is judged part by part, and one part
holding the whole window gives the same figures. The KS statistic from those counts is exactly
scipy's ``ks_2samp``'s (its maximum is reached at a reference value or just below one); its p-value
is Smirnov's asymptotic one, what ``ks_2samp`` uses when either sample has more than 10,000 values.
"""

from __future__ import annotations

import itertools
from dataclasses import asdict, dataclass, field
from fractions import Fraction
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from mlpipe.config import Contract, MonitorParams
from mlpipe.core.profile import psi

_EPS = 1e-12


@dataclass(frozen=True)
class Drift:
    name: str
    kind: str  # numeric | categorical
    psi: float
    test: str  # ks | chi2
    statistic: float
    p_value: float
    effect: float  # KS D or Cramér's V
    drifted: bool
    reasons: list[str] = field(default_factory=list)
    # what the plot shows: bin or category labels with reference and window shares
    bins: list[str] = field(default_factory=list)
    reference: list[float] = field(default_factory=list)
    window: list[float] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _decide(name: str, psi_value: float, p: float, effect: float, m: MonitorParams) -> tuple[bool, list[str]]:
    reasons = []
    if psi_value >= m.psi:
        reasons.append(f"PSI {psi_value:.3f} ≥ {m.psi}")
    if p < m.alpha and effect >= m.min_effect:
        reasons.append(f"p {p:.1e} < {m.alpha} with effect {effect:.3f} ≥ {m.min_effect}")
    return bool(reasons), reasons


@dataclass(frozen=True)
class NumericReference:
    """What a window's numbers are compared with: the reference's decile edges and its sorted distinct values."""

    inner: np.ndarray  # inner decile edges: bin i holds inner[i-1] <= x < inner[i]
    bins: np.ndarray  # reference counts per bin
    values: np.ndarray  # sorted distinct reference values
    le: np.ndarray  # reference counts <= each value
    n: int


@dataclass(frozen=True)
class Counts:
    """One feature's window, as counts that add up across partitions."""

    bins: np.ndarray  # numeric: per reference bin
    le: np.ndarray  # numeric: histogram of searchsorted(values, x, "left"): cumsum = count <= values[j]
    lt: np.ndarray  # numeric: histogram of searchsorted(values, x, "right"): cumsum = count < values[j]
    categories: dict[str, int]  # categorical: count per value (as text)
    n: int

    def __add__(self, other: Counts) -> Counts:
        cats = dict(self.categories)
        for k, v in other.categories.items():
            cats[k] = cats.get(k, 0) + v
        return Counts(self.bins + other.bins, self.le + other.le, self.lt + other.lt, cats, self.n + other.n)


_NONE = np.zeros(0, dtype=np.int64)


def numeric_reference(ref: np.ndarray, m: MonitorParams) -> NumericReference:
    """Computed once from the reference; sent to every partition (distinct values: for the exact KS)."""
    ref = np.sort(ref[~np.isnan(ref)])
    edges = np.unique(np.quantile(ref, np.linspace(0, 1, m.bins + 1)))
    inner = edges[1:-1]
    values, counts = np.unique(ref, return_counts=True)
    bins = np.bincount(np.searchsorted(inner, ref, side="right"), minlength=len(inner) + 1)
    return NumericReference(inner, bins, values, np.cumsum(counts), len(ref))


def numeric_counts(r: NumericReference, cur: np.ndarray) -> Counts:
    """Missing values are left out, as ``ks_2samp`` and the PSI bins would leave them."""
    cur = cur[~np.isnan(cur)]
    size = len(r.values) + 1
    return Counts(
        np.bincount(np.searchsorted(r.inner, cur, side="right"), minlength=len(r.inner) + 1),
        np.bincount(np.searchsorted(r.values, cur, side="left"), minlength=size),
        np.bincount(np.searchsorted(r.values, cur, side="right"), minlength=size),
        {},
        len(cur),
    )


def categorical_counts(cur: pd.Series) -> Counts:
    """Values as text: a category is the same key in every partition whatever dtype pandas inferred there."""
    counts = cur.astype(str).value_counts()
    return Counts(_NONE, _NONE, _NONE, {str(k): int(v) for k, v in counts.items()}, int(counts.sum()))


def ks_from_counts(r: NumericReference, c: Counts) -> tuple[float, float]:
    """(D, p) of the two-sample KS test, from the reference and the window's counts.

    Between two reference values the reference's CDF is flat and the window's rises, so the
    largest gap is at a reference value or at the last window value below the next one.
    """
    n1, n2 = r.n, c.n
    if n1 == 0 or n2 == 0:
        return 0.0, 1.0
    cdf1 = r.le / n1
    le2 = np.cumsum(c.le)[:-1] / n2  # window share <= values[j]
    below = np.cumsum(c.lt)[1:] / n2  # window share < values[j + 1] (the last: all of it)
    gaps = np.concatenate([[c.lt[0] / n2], np.abs(cdf1 - le2), np.abs(cdf1[:-1] - below[:-1])])
    d = float(np.max(gaps))
    big, small = sorted([float(n1), float(n2)], reverse=True)
    p = float(np.clip(stats.kstwo.sf(d, np.round(big * small / (big + small))), 0, 1))
    return d, p


def numeric_drift_from(name: str, r: NumericReference, c: Counts, m: MonitorParams) -> Drift:
    value = psi(r.bins, c.bins)
    d, p = ks_from_counts(r, c)
    drifted, reasons = _decide(name, value, p, d, m)
    inner = r.inner
    labels = ["all"]
    if len(inner):
        labels = [f"< {_fmt(inner[0])}", *(f"{_fmt(a)}–{_fmt(b)}" for a, b in itertools.pairwise(inner))]
        labels.append(f"≥ {_fmt(inner[-1])}")
    return Drift(
        name, "numeric", value, "ks", d, p, d, drifted, reasons, labels, _shares(r.bins), _shares(c.bins),
    )  # fmt: skip


def categorical_drift_from(name: str, ref: Counts, cur: Counts, m: MonitorParams) -> Drift:
    rc, cc = ref.categories, cur.categories
    keys = sorted(set(rc) | set(cc), key=lambda k: (-rc.get(k, 0), k))
    r = np.array([rc.get(k, 0) for k in keys])
    c = np.array([cc.get(k, 0) for k in keys])
    value = psi(r, c)
    table = np.vstack([r, c])
    table = table[:, table.sum(axis=0) > 0]
    if table.shape[1] < 2:
        chi2, p, v = 0.0, 1.0, 0.0
    else:
        res = stats.chi2_contingency(table, correction=False)
        chi2, p = float(res.statistic), float(res.pvalue)
        v = float(np.sqrt(chi2 / (table.sum() * (min(table.shape) - 1))))
    drifted, reasons = _decide(name, value, p, v, m)
    return Drift(name, "categorical", value, "chi2", chi2, p, v, drifted, reasons, keys, _shares(r), _shares(c))


def numeric_drift(name: str, ref: np.ndarray, cur: np.ndarray, m: MonitorParams) -> Drift:
    r = numeric_reference(ref, m)
    return numeric_drift_from(name, r, numeric_counts(r, cur), m)


def categorical_drift(name: str, ref: pd.Series, cur: pd.Series, m: MonitorParams) -> Drift:
    return categorical_drift_from(name, categorical_counts(ref), categorical_counts(cur), m)


Reference = dict[str, "NumericReference | Counts"]


ExactSum = dict[int, int]  # binary exponent -> integer total of the mantissas with that exponent


def exact_sum(x: np.ndarray) -> ExactSum:
    """The finite values' sum, exactly: it adds up across partitions in any order to the same number,
    so a window's mean is the same however it was cut (a float sum depends on the order)."""
    m, e = np.frexp(x[np.isfinite(x)].astype(np.float64))  # x = m * 2**e, m of 53 bits
    mant = (m * 2.0**53).astype(np.int64)
    out: ExactSum = {}
    for exp in np.unique(e):
        sel = mant[e == exp]
        out[int(exp)] = (int((sel >> 26).sum()) << 26) + int((sel & ((1 << 26) - 1)).sum())
    return out


def add_exact(a: ExactSum, b: ExactSum) -> ExactSum:
    return {k: a.get(k, 0) + b.get(k, 0) for k in a.keys() | b.keys()}


def exact_mean(total: ExactSum, n: int) -> float:
    """Correctly rounded."""
    if n == 0:
        return float("nan")
    return float(sum(Fraction(v) * Fraction(2) ** (k - 53) for k, v in total.items()) / n)


def reference_summary(reference: pd.DataFrame, contract: Contract, m: MonitorParams) -> Reference:
    """The training rows (model input space) as what every window partition is counted against."""
    out: Reference = {}
    for name in contract.features:
        if contract.columns[name].categorical:
            out[name] = categorical_counts(reference[name])
        else:
            out[name] = numeric_reference(reference[name].to_numpy(dtype=np.float64), m)
    return out


def window_counts(summary: Reference, window: pd.DataFrame) -> dict[str, Counts]:
    """One partition of the window (model input space), counted per feature."""
    out = {}
    for name, r in summary.items():
        if isinstance(r, NumericReference):
            out[name] = numeric_counts(r, window[name].to_numpy(dtype=np.float64))
        else:
            out[name] = categorical_counts(window[name])
    return out


def merge_counts(parts: list[dict[str, Counts]]) -> dict[str, Counts]:
    """Counts add up: the order of the partitions does not matter."""
    out = dict(parts[0])
    for part in parts[1:]:
        out = {k: out[k] + v for k, v in part.items()}
    return out


def drift_from(summary: Reference, counts: dict[str, Counts], m: MonitorParams) -> list[Drift]:
    """Every feature's verdict from the whole window's counts (one partition's or all of them added)."""
    out = []
    for name, r in summary.items():
        if isinstance(r, NumericReference):
            out.append(numeric_drift_from(name, r, counts[name], m))
        else:
            out.append(categorical_drift_from(name, r, counts[name], m))
    return out


def _shares(counts: np.ndarray) -> list[float]:
    total = counts.sum()
    return [round(float(x) / total, 6) if total else 0.0 for x in counts]


def _fmt(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else f"{x:.3g}"


def feature_drift(reference: pd.DataFrame, window: pd.DataFrame, contract: Contract, m: MonitorParams) -> list[Drift]:
    """Both frames in the model's input space (``model_input``: labels for codes, floats for numbers)."""
    summary = reference_summary(reference, contract, m)
    return drift_from(summary, window_counts(summary, window), m)


def prediction_drift(reference: np.ndarray, window: np.ndarray, m: MonitorParams) -> Drift:
    r = numeric_reference(reference, m)
    return prediction_drift_from(r, numeric_counts(r, window), m)


def prediction_drift_from(r: NumericReference, c: Counts, m: MonitorParams) -> Drift:
    d = numeric_drift_from("prediction", r, c, m)
    drifted, reasons = _decide("prediction", d.psi, d.p_value, d.effect, m.model_copy(update={"psi": m.prediction_psi}))
    return Drift(**{**asdict(d), "drifted": drifted, "reasons": reasons})
