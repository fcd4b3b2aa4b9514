"""The noise-aware leaderboard: experiments against the current model, each delta with the gate's
paired bootstrap interval, marked ``better``/``worse`` only when the interval excludes zero.

Comparing many experiments with one model makes some look better by chance, and the ones shown were
picked by their test score: the intervals are Bonferroni-adjusted over every finished experiment the
top ones were picked from, so a ``better`` on the primary metric holds for the whole pool at once.
Other metrics' calls use the same per-experiment level, uncorrected for the number of metrics.
Pure: predictions in, rows and Markdown out.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
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
    comparisons: int, resamples: int,
) -> dict[str, DeltaCI]:  # fmt: skip
    """Paired: both models scored the same test rows, resampled together (the gate's bootstrap, with
    more resamples: a Bonferroni-wide interval's ends sit far out in the tails)."""
    return bootstrap_deltas(
        y, p_experiment, p_current, threshold=threshold, n_resamples=max(resamples, bs.n_resamples),
        confidence=adjusted_confidence(bs.confidence, comparisons), seed=bs.seed,
    )  # fmt: skip


def changed_params(params: dict[str, Any], current: dict[str, Any]) -> dict[str, Any]:
    """The experiment's params that differ from the current ones (every key, not only ``train``)."""
    keys = sorted(set(params) | set(current))
    return {k: params.get(k) for k in keys if params.get(k) != current.get(k)}


def _fmt_change(changes: dict[str, Any]) -> str:
    return ", ".join(f"`{k}={v}`" for k, v in changes.items()) or "(same settings)"


@dataclass(frozen=True)
class Board:
    rows: list[Row]
    metric: str
    confidence: float  # family-wise
    comparisons: int  # finished experiments the rows were picked from
    current: str
    tolerance: Mapping[str, float] = field(default_factory=dict)  # the gate's, vs the reference

    @property
    def interval_confidence(self) -> float:
        return adjusted_confidence(self.confidence, self.comparisons)

    def within_tolerance(self, row: Row) -> bool:
        """No metric worse than the current model by more than the gate's tolerance (its PR would be blocked)."""
        return all(-DIRECTION[m] * row.deltas[m].delta <= tol for m, tol in self.tolerance.items() if m in row.deltas)

    def best(self) -> Row | None:
        """The experiment to promote: a real improvement on the primary metric that passes its own
        checks and would pass the gate's reference check against the current model."""
        for r in self.rows:
            if r.call(self.metric) == "better" and r.gate == "pass" and self.within_tolerance(r):
                return r
        return None


def to_dict(board: Board) -> dict[str, Any]:
    top = board.best()
    return {
        "metric": board.metric,
        "best": top.name if top else None,
        "current": board.current,
        "family_confidence": board.confidence,
        "comparisons": board.comparisons,
        "interval_confidence": board.interval_confidence,
        "rows": [
            {
                "name": r.name,
                "rev": r.rev,
                "changes": r.changes,
                "gate": r.gate,
                "within_tolerance": board.within_tolerance(r),
                "note": r.note,
                "deltas": {m: vars(ci) | {"call": significance(ci)} for m, ci in r.deltas.items()},
            }
            for r in board.rows
        ],
    }


def markdown(board: Board, others: Sequence[str]) -> str:
    metric, n = board.metric, board.comparisons
    lines = [
        f"### {TITLE}",
        "",
        f"The best {len(board.rows)} of {n} finished experiment(s) against the current model ({board.current}), "
        f"on the same frozen test set. Intervals are paired bootstrap {board.interval_confidence:.2%} intervals: "
        f"{board.confidence:.0%} for all {n} at once (Bonferroni), so **better** / **worse** mean the whole "
        f"interval is on one side of zero; **noise** means the difference could be chance. "
        "Other metrics are called at the same level, uncorrected for their number.",
        "",
        f"| # | experiment | changes | {metric} | Δ vs current | interval | call | other real changes | checks |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for i, r in enumerate(board.rows, start=1):
        ci = r.deltas.get(metric)
        if ci is None:
            lines.append(f"| {i} | `{r.name}` | {_fmt_change(r.changes)} | | | | n/a | {r.note} | {r.gate} |")
            continue
        real = [f"{m} {significance(d)} ({d.delta:+.4f})" for m, d in r.deltas.items()
                if m in others and significance(d) != "noise"]  # fmt: skip
        call = significance(ci)
        checks = r.gate if board.within_tolerance(r) else f"{r.gate}; beyond the gate's tolerance"
        lines.append(
            f"| {i} | `{r.name}` | {_fmt_change(r.changes)} | {ci.candidate:.4f} | {ci.delta:+.4f} "
            f"| [{ci.low:+.4f}, {ci.high:+.4f}] | {'**' + call + '**' if call != 'noise' else call} "
            f"| {', '.join(real) or '-'} | {checks} |"
        )
    top = board.best()
    held = [r.name for r in board.rows if r.call(metric) == "better" and r is not top]
    if top:
        verdict = f"Best real improvement: `{top.name}` (`make promote EXP={top.name}`)."
    elif held:
        verdict = (f"{len(held)} experiment(s) improve {metric} beyond noise but fail their checks or the gate's "
                   f"tolerance ({', '.join(f'`{n}`' for n in held)}): nothing to promote as is.")  # fmt: skip
    else:
        verdict = f"No experiment improves {metric} beyond noise: keep the current model."
    lines += ["", verdict]
    return "\n".join(lines) + "\n"
