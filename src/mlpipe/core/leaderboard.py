"""The noise-aware leaderboard: experiments against the current model, each delta with the gate's
paired bootstrap interval, marked ``better``/``worse`` only when the interval excludes zero.

Comparing many experiments with one model makes some look better by chance: the intervals are
Bonferroni-adjusted (family-wise ``confidence`` over the experiments shown), so a ``better`` holds
for the whole table at once. Pure: predictions in, rows and Markdown out.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from mlpipe.config import BootstrapParams
from mlpipe.core.bootstrap import DeltaCI, bootstrap_deltas
from mlpipe.core.metrics import DIRECTION

TITLE = "Experiment leaderboard"


@dataclass(frozen=True)
class Row:
    name: str
    rev: str
    changes: dict[str, Any]
    gate: str  # the experiment's own verdict column (bounds, baseline, slices)
    deltas: dict[str, DeltaCI] = field(default_factory=dict)
    note: str = ""  # why there are no deltas

    def call(self, metric: str) -> str:
        ci = self.deltas.get(metric)
        return "n/a" if ci is None else significance(ci)


def significance(ci: DeltaCI) -> str:
    """``better``/``worse`` when the whole interval is on one side of zero, else ``noise``."""
    sign = DIRECTION[ci.metric]
    lo, hi = sorted((sign * ci.low, sign * ci.high))
    if lo > 0:
        return "better"
    if hi < 0:
        return "worse"
    return "noise"


def adjusted_confidence(confidence: float, comparisons: int) -> float:
    return 1 - (1 - confidence) / max(comparisons, 1)


def compare(
    y: np.ndarray, p_current: np.ndarray, p_experiment: np.ndarray, threshold: float, bs: BootstrapParams,
    comparisons: int,
) -> dict[str, DeltaCI]:  # fmt: skip
    """Paired: both models scored the same test rows, resampled together."""
    return bootstrap_deltas(
        y, p_experiment, p_current, threshold=threshold, n_resamples=bs.n_resamples,
        confidence=adjusted_confidence(bs.confidence, comparisons), seed=bs.seed,
    )  # fmt: skip


def changed_params(params: dict[str, Any], current: dict[str, Any], prefix: str = "train.") -> dict[str, Any]:
    """The experiment's settings that differ from the current ones (under ``prefix``)."""
    keys = sorted(k for k in set(params) | set(current) if k.startswith(prefix))
    return {k.removeprefix(prefix): params.get(k) for k in keys if params.get(k) != current.get(k)}


def _fmt_change(changes: dict[str, Any]) -> str:
    return ", ".join(f"`{k}={v}`" for k, v in changes.items()) or "(same settings)"


def to_dict(rows: list[Row], metric: str, confidence: float, current: str) -> dict[str, Any]:
    top = best(rows, metric)
    return {
        "metric": metric,
        "best": top.name if top else None,
        "current": current,
        "family_confidence": confidence,
        "interval_confidence": adjusted_confidence(confidence, len(rows)),
        "rows": [
            {
                "name": r.name,
                "rev": r.rev,
                "changes": r.changes,
                "gate": r.gate,
                "note": r.note,
                "deltas": {m: vars(ci) | {"call": significance(ci)} for m, ci in r.deltas.items()},
            }
            for r in rows
        ],
    }


def best(rows: list[Row], metric: str) -> Row | None:
    """The experiment to promote: a real improvement on ``metric`` that passes its own checks."""
    for r in rows:
        if r.call(metric) == "better" and r.gate == "pass":
            return r
    return None


def markdown(rows: list[Row], metric: str, confidence: float, current: str, others: Sequence[str]) -> str:
    conf = adjusted_confidence(confidence, len(rows))
    lines = [
        f"### {TITLE}",
        "",
        f"{len(rows)} experiment(s) against the current model ({current}), on the same frozen test set. "
        f"Intervals are paired bootstrap {conf:.2%} intervals: {confidence:.0%} for all {len(rows)} at once "
        "(Bonferroni), so **better** / **worse** mean the whole interval is on one side of zero; "
        "**noise** means the difference could be chance.",
        "",
        f"| # | experiment | changes | {metric} | Δ vs current | interval | call | other real changes | checks |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for i, r in enumerate(rows, start=1):
        ci = r.deltas.get(metric)
        if ci is None:
            lines.append(f"| {i} | `{r.name}` | {_fmt_change(r.changes)} | | | | n/a | {r.note} | {r.gate} |")
            continue
        real = [f"{m} {significance(d)} ({d.delta:+.4f})" for m, d in r.deltas.items()
                if m in others and significance(d) != "noise"]  # fmt: skip
        call = significance(ci)
        lines.append(
            f"| {i} | `{r.name}` | {_fmt_change(r.changes)} | {ci.candidate:.4f} | {ci.delta:+.4f} "
            f"| [{ci.low:+.4f}, {ci.high:+.4f}] | {'**' + call + '**' if call != 'noise' else call} "
            f"| {', '.join(real) or '-'} | {r.gate} |"
        )
    top = best(rows, metric)
    lines += [
        "",
        f"Best real improvement: `{top.name}` (`make promote EXP={top.name}`)."
        if top
        else f"No experiment improves {metric} beyond noise while passing its checks: keep the current model.",
    ]
    return "\n".join(lines) + "\n"
