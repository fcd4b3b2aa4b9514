"""Drift between a reference sample and a window: per feature and for the predictions. Pure.

Each feature gets the population stability index (PSI, over the reference's deciles for numbers,
over categories otherwise) and a two-sample test (Kolmogorov-Smirnov for numbers, chi-square for
categories, from scipy) with its effect size (the KS statistic D; Cramér's V). With tens of
thousands of rows every p-value is tiny, so a test alone never flags drift: a feature drifts when
its PSI crosses the threshold, or when the test is significant *and* the effect is large enough.
The thresholds are conventions (PSI 0.1 = "moderate shift"), set in params.yaml, not fitted here.
"""

from __future__ import annotations

import itertools
from dataclasses import asdict, dataclass, field
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


def numeric_drift(name: str, ref: np.ndarray, cur: np.ndarray, m: MonitorParams) -> Drift:
    ref, cur = ref[~np.isnan(ref)], cur[~np.isnan(cur)]
    edges = np.unique(np.quantile(ref, np.linspace(0, 1, m.bins + 1)))
    inner = edges[1:-1]
    r = np.bincount(np.searchsorted(inner, ref, side="right"), minlength=len(inner) + 1)
    c = np.bincount(np.searchsorted(inner, cur, side="right"), minlength=len(inner) + 1)
    value = psi(r, c)
    ks = stats.ks_2samp(ref, cur)
    drifted, reasons = _decide(name, value, float(ks.pvalue), float(ks.statistic), m)
    labels = ["all"]
    if len(inner):
        labels = [f"< {_fmt(inner[0])}", *(f"{_fmt(a)}–{_fmt(b)}" for a, b in itertools.pairwise(inner))]
        labels.append(f"≥ {_fmt(inner[-1])}")
    return Drift(
        name, "numeric", value, "ks", float(ks.statistic), float(ks.pvalue), float(ks.statistic), drifted, reasons,
        labels, _shares(r), _shares(c),
    )  # fmt: skip


def categorical_drift(name: str, ref: pd.Series, cur: pd.Series, m: MonitorParams) -> Drift:
    rc, cc = ref.astype(str).value_counts(), cur.astype(str).value_counts()
    keys = sorted(set(rc.index) | set(cc.index), key=lambda k: -int(rc.get(k, 0)))
    r = np.array([int(rc.get(k, 0)) for k in keys])
    c = np.array([int(cc.get(k, 0)) for k in keys])
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


def _shares(counts: np.ndarray) -> list[float]:
    total = counts.sum()
    return [round(float(x) / total, 6) if total else 0.0 for x in counts]


def _fmt(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else f"{x:.3g}"


def feature_drift(reference: pd.DataFrame, window: pd.DataFrame, contract: Contract, m: MonitorParams) -> list[Drift]:
    """Both frames in the model's input space (``model_input``: labels for codes, floats for numbers)."""
    out = []
    for name in contract.features:
        if contract.columns[name].categorical:
            out.append(categorical_drift(name, reference[name], window[name], m))
        else:
            ref = reference[name].to_numpy(dtype=np.float64)
            out.append(numeric_drift(name, ref, window[name].to_numpy(dtype=np.float64), m))
    return out


def prediction_drift(reference: np.ndarray, window: np.ndarray, m: MonitorParams) -> Drift:
    d = numeric_drift("prediction", reference, window, m)
    drifted, reasons = _decide("prediction", d.psi, d.p_value, d.effect, m.model_copy(update={"psi": m.prediction_psi}))
    return Drift(**{**asdict(d), "drifted": drifted, "reasons": reasons})
