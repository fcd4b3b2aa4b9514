"""Bootstrap confidence intervals of metric deltas on one frozen test set.

Paired when both models scored the same rows (resample rows once, score both); unpaired
when only the reference's point value is known (its uncertainty is then not counted,
which the report says). Resampling draws multinomial row counts used as weights, so
the test set is sorted once per model, not once per resample.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from mlpipe.core.metrics import METRICS, Ranked, classification_metrics


@dataclass(frozen=True)
class DeltaCI:
    metric: str
    candidate: float
    reference: float
    delta: float
    low: float
    high: float
    paired: bool


def bootstrap_deltas(
    y: npt.ArrayLike,
    p_candidate: npt.ArrayLike,
    p_reference: npt.ArrayLike | None,
    reference_values: dict[str, float] | None = None,
    *,
    threshold: float = 0.5,
    n_resamples: int = 200,
    confidence: float = 0.95,
    seed: int = 0,
) -> dict[str, DeltaCI]:
    """Delta = candidate - reference for every metric, with a percentile interval.

    Give ``p_reference`` for a paired bootstrap, or ``reference_values`` (point metrics)
    when the reference model's predictions on this test set are not available.
    """
    if p_reference is None and reference_values is None:
        raise ValueError("need reference predictions or reference metric values")
    cand = Ranked.of(y, p_candidate)
    ref = Ranked.of(y, p_reference) if p_reference is not None else None
    n = cand.y.size
    cand_point = classification_metrics(y, p_candidate, threshold, ranked=cand)
    ref_point = (
        classification_metrics(y, p_reference, threshold, ranked=ref)
        if ref is not None and p_reference is not None
        else dict(reference_values or {})
    )
    rng = np.random.default_rng(seed)
    uniform = np.full(n, 1.0 / n)
    samples = np.empty((n_resamples, len(METRICS)))
    for i in range(n_resamples):
        w = rng.multinomial(n, uniform).astype(np.float64)
        c = classification_metrics(cand.y, cand.p, threshold, weights=w, ranked=cand)
        r = classification_metrics(ref.y, ref.p, threshold, weights=w, ranked=ref) if ref is not None else ref_point
        samples[i] = [c[m] - r.get(m, np.nan) for m in METRICS]
    alpha = (1 - confidence) / 2
    out = {}
    for j, m in enumerate(METRICS):
        if m not in ref_point:
            continue
        col = samples[:, j]
        col = col[np.isfinite(col)]
        low, high = np.quantile(col, [alpha, 1 - alpha]) if col.size else (np.nan, np.nan)
        out[m] = DeltaCI(
            metric=m,
            candidate=cand_point[m],
            reference=float(ref_point[m]),
            delta=cand_point[m] - float(ref_point[m]),
            low=float(low),
            high=float(high),
            paired=ref is not None,
        )
    return out
