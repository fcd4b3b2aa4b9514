"""The regression gate's decision: pure, so every rule is unit-tested without files.

Rules, each a named check in the verdict:
- absolute: every metric in ``minimums``/``maximums`` is within its bound;
- baseline: the candidate beats the simple baseline on the primary metric;
- reference: no metric in ``tolerance`` is worse than the reference (the base branch's
  model) by more than its tolerance; the bootstrap interval of each delta is reported;
- slices: the largest gap between groups of each sensitive attribute is within its limit.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

from mlpipe.config import GateParams
from mlpipe.core.bootstrap import DeltaCI
from mlpipe.core.metrics import DIRECTION


@dataclass(frozen=True)
class Check:
    name: str
    passed: bool
    detail: str


@dataclass(frozen=True)
class Verdict:
    passed: bool
    checks: list[Check]
    deltas: dict[str, dict[str, Any]] = field(default_factory=dict)
    reference: str | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def reasons(self) -> list[str]:
        return [c.detail for c in self.checks if not c.passed]

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["reasons"] = self.reasons
        return d


def _fmt(x: float) -> str:
    return f"{x:.4f}"


def decide(
    params: GateParams,
    candidate: Mapping[str, float],
    baseline: Mapping[str, float] | None,
    reference: Mapping[str, DeltaCI] | None,
    slice_gaps: Mapping[str, float | None],
    reference_label: str | None = None,
    notes: list[str] | None = None,
) -> Verdict:
    checks: list[Check] = []
    for metric, bound in params.minimums.items():
        v = candidate[metric]
        checks.append(Check(f"min:{metric}", v >= bound, f"{metric} {_fmt(v)} must be >= {_fmt(bound)}"))
    for metric, bound in params.maximums.items():
        v = candidate[metric]
        checks.append(Check(f"max:{metric}", v <= bound, f"{metric} {_fmt(v)} must be <= {_fmt(bound)}"))

    pm = params.primary_metric
    if params.must_beat_baseline and baseline is not None:
        sign = DIRECTION[pm]
        ok = sign * (candidate[pm] - baseline[pm]) > 0
        detail = f"{pm} {_fmt(candidate[pm])} must beat the baseline's {_fmt(baseline[pm])}"
        if not ok:  # what to try: on near-linear business data a linear baseline often wins
            detail += (
                ": try `make tune` (searches train.model), or, if the data is near-linear, the linear model as "
                "the model (train.model.kind: logistic_regression, train.baseline.kind: prior)"
            )
        checks.append(Check("baseline", ok, detail))

    deltas: dict[str, dict[str, Any]] = {}
    if reference:
        deltas = {name: asdict(ci) for name, ci in reference.items()}
        for metric, tol in params.tolerance.items():
            if metric not in reference:
                continue
            ci = reference[metric]
            worse_by = -DIRECTION[metric] * ci.delta
            ok = worse_by <= tol
            checks.append(
                Check(
                    f"reference:{metric}",
                    ok,
                    f"{metric} {_fmt(ci.candidate)} vs reference {_fmt(ci.reference)}: "
                    f"delta {ci.delta:+.4f} [{ci.low:+.4f}, {ci.high:+.4f}], tolerance {_fmt(tol)}",
                )
            )

    for attr, limit in params.max_slice_gap.items():
        gap = slice_gaps.get(attr)
        if gap is None:
            checks.append(Check(f"slice:{attr}", True, f"{attr}: fewer than two groups large enough to compare"))
            continue
        checks.append(
            Check(
                f"slice:{attr}",
                gap <= limit,
                f"{attr}: largest {params.slice_metric} gap {_fmt(gap)} must be <= {_fmt(limit)}",
            )
        )
    return Verdict(
        passed=all(c.passed for c in checks),
        checks=checks,
        deltas=deltas,
        reference=reference_label,
        notes=list(notes or []),
    )


COLUMN_CHECKS = {"bounds": ("min:", "max:"), "baseline": ("baseline",), "slices": ("slice:",)}


def verdict_columns(v: Verdict) -> dict[str, str]:
    """The verdict as ``pass``/``fail``/``n/a`` per kind of check plus ``passed``: short columns for
    ``dvc exp show``. Reference checks are left out: an experiment is judged without a base branch
    (the leaderboard compares it with the current model instead)."""
    out = {}
    for column, prefixes in COLUMN_CHECKS.items():
        checks = [c for c in v.checks if c.name.startswith(prefixes)]
        out[column] = "n/a" if not checks else "pass" if all(c.passed for c in checks) else "fail"
    out["passed"] = "pass" if v.passed else "fail"
    return out
