"""Behavioural checks declared in the contract (``behaviour:``): domain facts a model must respect.

"Children are not employed" or "a doctorate does not lower the probability" are facts about one
dataset, so they live in configuration, and this one generic runner checks them against any model.
Values are raw (codes, as in the data files); the caller's ``predict`` encodes and scores. Pure.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from mlpipe.config import BehaviourCheck

Predict = Callable[[pd.DataFrame], np.ndarray]


@dataclass(frozen=True)
class Outcome:
    name: str
    passed: bool
    rows: int
    detail: str


def select(raw: pd.DataFrame, check: BehaviourCheck) -> pd.DataFrame:
    keep = pd.Series(True, index=raw.index)
    for name, f in check.rows.items():
        values = raw[name]
        if f.min is not None:
            keep &= pd.to_numeric(values, errors="coerce") >= f.min
        if f.max is not None:
            keep &= pd.to_numeric(values, errors="coerce") <= f.max
        if f.in_ is not None:
            keep &= values.isin(f.in_)
    return raw[keep]


def run(check: BehaviourCheck, raw: pd.DataFrame, predict: Predict) -> Outcome:
    rows = select(raw, check)
    if len(rows) < check.min_rows:
        return Outcome(check.name, False, len(rows), f"only {len(rows)} rows match (min_rows {check.min_rows})")
    if not check.set:
        p = predict(rows)
        if check.max_probability is not None:
            ok, bound = p <= check.max_probability, f"≤ {check.max_probability}"
        else:
            ok, bound = p >= (check.min_probability or 0.0), f"≥ {check.min_probability}"
        share = float(ok.mean())
        return Outcome(check.name, share >= check.share, len(rows),
                       f"{share:.1%} of rows have probability {bound} (need {check.share:.0%})")  # fmt: skip
    changed = predict(rows.assign(**check.set))
    reference = predict(rows.assign(**check.compare)) if check.compare else predict(rows)
    diff = changed - reference if check.direction == "increase" else reference - changed
    if check.by is not None:
        mean = float(diff.mean())
        return Outcome(check.name, mean >= check.by, len(rows),
                       f"mean change {mean:+.4f} in the expected direction (need ≥ {check.by})")  # fmt: skip
    share = float((diff > 0).mean())
    return Outcome(check.name, share >= check.share, len(rows),
                   f"{share:.1%} of rows move {check.direction} (need {check.share:.0%})")  # fmt: skip
