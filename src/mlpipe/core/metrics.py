"""Binary-classification metrics, curves and slice gaps, in plain numpy.

Every metric takes optional per-row ``weights`` so the bootstrap can resample by
multinomial counts without copying the test set; scores are sorted once per call and
tied scores are treated as one threshold, which matches scikit-learn's definitions
(the unit tests compare against it).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]

#: +1: higher is better; -1: lower is better.
DIRECTION: dict[str, int] = {
    "roc_auc": 1,
    "pr_auc": 1,
    "f1": 1,
    "accuracy": 1,
    "log_loss": -1,
    "brier": -1,
}
METRICS: tuple[str, ...] = tuple(DIRECTION)
_EPS = 1e-15


@dataclass(frozen=True)
class Ranked:
    """Labels and scores sorted by descending score, with the last index of each tie group."""

    y: FloatArray
    p: FloatArray
    order: npt.NDArray[np.intp]
    threshold_idx: npt.NDArray[np.intp]

    @classmethod
    def of(cls, y: npt.ArrayLike, p: npt.ArrayLike) -> Ranked:
        y_arr = np.asarray(y, dtype=np.float64)
        p_arr = np.asarray(p, dtype=np.float64)
        if y_arr.shape != p_arr.shape or y_arr.ndim != 1:
            raise ValueError(f"labels {y_arr.shape} and scores {p_arr.shape} must be 1-D and equal length")
        if y_arr.size == 0:
            raise ValueError("cannot score an empty set")
        order = np.argsort(-p_arr, kind="mergesort")
        sorted_p = p_arr[order]
        distinct = np.flatnonzero(np.diff(sorted_p)) if sorted_p.size > 1 else np.array([], dtype=np.intp)
        threshold_idx = np.r_[distinct, sorted_p.size - 1].astype(np.intp)
        return cls(y_arr, p_arr, order, threshold_idx)

    def _cum(self, w: FloatArray) -> tuple[FloatArray, FloatArray]:
        ys = self.y[self.order]
        ws = w[self.order]
        tps = np.cumsum(ws * ys)[self.threshold_idx]
        fps = np.cumsum(ws * (1.0 - ys))[self.threshold_idx]
        return tps, fps

    def roc_auc(self, w: FloatArray) -> float:
        tps, fps = self._cum(w)
        if tps[-1] <= 0 or fps[-1] <= 0:
            return float("nan")
        tpr = np.r_[0.0, tps / tps[-1]]
        fpr = np.r_[0.0, fps / fps[-1]]
        return float(np.sum(np.diff(fpr) * (tpr[1:] + tpr[:-1]) / 2.0))

    def pr_auc(self, w: FloatArray) -> float:
        """Average precision (step-wise, no interpolation), as scikit-learn defines it."""
        tps, fps = self._cum(w)
        if tps[-1] <= 0:
            return float("nan")
        precision = tps / np.maximum(tps + fps, _EPS)
        recall = tps / tps[-1]
        return float(np.sum(np.diff(np.r_[0.0, recall]) * precision))


def _weights(n: int, weights: npt.ArrayLike | None) -> FloatArray:
    return np.ones(n) if weights is None else np.asarray(weights, dtype=np.float64)


def threshold_metrics(y: FloatArray, p: FloatArray, w: FloatArray, threshold: float) -> dict[str, float]:
    pred = p >= threshold
    pos = y == 1
    tp = float(np.sum(w[pred & pos]))
    fp = float(np.sum(w[pred & ~pos]))
    fn = float(np.sum(w[~pred & pos]))
    total = float(np.sum(w))
    f1 = 2 * tp / (2 * tp + fp + fn) if (2 * tp + fp + fn) > 0 else 0.0
    accuracy = float(np.sum(w[pred == pos])) / total
    return {"f1": f1, "accuracy": accuracy}


def probability_metrics(y: FloatArray, p: FloatArray, w: FloatArray) -> dict[str, float]:
    pc = np.clip(p, _EPS, 1 - _EPS)
    total = float(np.sum(w))
    log_loss = -float(np.sum(w * (y * np.log(pc) + (1 - y) * np.log(1 - pc)))) / total
    brier = float(np.sum(w * (p - y) ** 2)) / total
    return {"log_loss": log_loss, "brier": brier}


def classification_metrics(
    y: npt.ArrayLike,
    p: npt.ArrayLike,
    threshold: float = 0.5,
    weights: npt.ArrayLike | None = None,
    ranked: Ranked | None = None,
) -> dict[str, float]:
    """All six metrics; pass ``ranked`` to reuse one sort across many weightings."""
    r = ranked or Ranked.of(y, p)
    w = _weights(r.y.size, weights)
    out = {"roc_auc": r.roc_auc(w), "pr_auc": r.pr_auc(w)}
    out.update(threshold_metrics(r.y, r.p, w, threshold))
    out.update(probability_metrics(r.y, r.p, w))
    return {k: out[k] for k in METRICS}


def _downsample(n: int, points: int) -> npt.NDArray[np.intp]:
    if n <= points:
        return np.arange(n)
    return np.unique(np.linspace(0, n - 1, points).round().astype(np.intp))


def roc_curve(y: npt.ArrayLike, p: npt.ArrayLike, points: int = 200) -> list[dict[str, float]]:
    r = Ranked.of(y, p)
    tps, fps = r._cum(np.ones(r.y.size))
    tpr = np.r_[0.0, tps / max(tps[-1], _EPS)]
    fpr = np.r_[0.0, fps / max(fps[-1], _EPS)]
    keep = _downsample(tpr.size, points)
    return [{"fpr": round(float(fpr[i]), 6), "tpr": round(float(tpr[i]), 6)} for i in keep]


def pr_curve(y: npt.ArrayLike, p: npt.ArrayLike, points: int = 200) -> list[dict[str, float]]:
    r = Ranked.of(y, p)
    tps, fps = r._cum(np.ones(r.y.size))
    precision = tps / np.maximum(tps + fps, _EPS)
    recall = tps / max(tps[-1], _EPS)
    keep = _downsample(recall.size, points)
    return [{"recall": round(float(recall[i]), 6), "precision": round(float(precision[i]), 6)} for i in keep]


def calibration_table(y: npt.ArrayLike, p: npt.ArrayLike, bins: int = 10) -> list[dict[str, float]]:
    """Equal-width bins of predicted probability: mean prediction vs observed rate."""
    y_arr = np.asarray(y, dtype=np.float64)
    p_arr = np.asarray(p, dtype=np.float64)
    idx = np.minimum((p_arr * bins).astype(int), bins - 1)
    rows = []
    for b in range(bins):
        mask = idx == b
        if mask.any():
            rows.append(
                {
                    "bin": b,
                    "mean_predicted": round(float(p_arr[mask].mean()), 6),
                    "fraction_positive": round(float(y_arr[mask].mean()), 6),
                    "count": int(mask.sum()),
                }
            )
    return rows


def expected_calibration_error(table: list[dict[str, float]]) -> float:
    total = sum(r["count"] for r in table)
    return float(sum(r["count"] * abs(r["mean_predicted"] - r["fraction_positive"]) for r in table) / total)


@dataclass(frozen=True)
class SliceReport:
    attribute: str
    metric: str
    groups: dict[str, dict[str, float]]
    gap: float | None
    best: str | None
    worst: str | None
    skipped: dict[str, int]


def slice_report(
    attribute: str,
    groups: npt.ArrayLike,
    y: npt.ArrayLike,
    p: npt.ArrayLike,
    metric: str,
    threshold: float,
    min_size: int,
) -> SliceReport:
    """Metrics per group and the largest gap in ``metric`` among groups of at least ``min_size``.

    Small groups are reported under ``skipped`` instead of silently inflating the gap.
    """
    g = np.asarray(groups).astype(str)
    y_arr = np.asarray(y, dtype=np.float64)
    p_arr = np.asarray(p, dtype=np.float64)
    per_group: dict[str, dict[str, float]] = {}
    skipped: dict[str, int] = {}
    for name in sorted(set(g.tolist())):
        mask = g == name
        n = int(mask.sum())
        if n < min_size or len(np.unique(y_arr[mask])) < 2:
            skipped[name] = n
            continue
        m = classification_metrics(y_arr[mask], p_arr[mask], threshold)
        per_group[name] = {"n": n, "positive_rate": float(y_arr[mask].mean()), **m}
    if len(per_group) < 2:
        return SliceReport(attribute, metric, per_group, None, None, None, skipped)
    values = {k: v[metric] for k, v in per_group.items()}
    sign = DIRECTION[metric]
    best = max(values, key=lambda k: sign * values[k])
    worst = min(values, key=lambda k: sign * values[k])
    return SliceReport(attribute, metric, per_group, abs(values[best] - values[worst]), best, worst, skipped)
