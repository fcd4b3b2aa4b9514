"""A monitoring window, part by part: what each part contributes, and the parts combined.

Both engines go through here: ``ENGINE=pandas`` makes one part of the whole window, ``ENGINE=dask``
one per partition on the workers (:mod:`mlpipe.scale.monitor`). A part contributes counts that add
up (drift: :mod:`mlpipe.core.drift`; quality: great-expectations per part, combined by
:mod:`mlpipe.core.quality`), plus the few columns the metrics need whole: the label, the probability
and the slice groups of labelled data, and the request ids of logged traffic (champion vs
challenger pairs). One part holding the whole window gives the in-memory figures.
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from mlpipe.config import Contract
from mlpipe.core.drift import (
    Counts,
    ExactSum,
    NumericReference,
    Reference,
    add_exact,
    exact_mean,
    exact_sum,
    merge_counts,
    numeric_counts,
    window_counts,
)
from mlpipe.core.expectations import Spec, suite_specs
from mlpipe.core.features import encode_columns, is_positive, model_input, slice_groups
from mlpipe.core.quality import MEAN, UNIQUE, merge_checks
from mlpipe.core.schema import frame_problems
from mlpipe.errors import DataError
from mlpipe.serving.scorer import Scorer

LOGGED = ["request_id", "role", "probability", "prediction"]
_NO = np.zeros(0, dtype=np.int64)


@dataclass(frozen=True)
class Context:
    """What every part is counted against (sent once to each worker)."""

    contract: Contract
    features: Reference  # the training rows' summary
    predictions: NumericReference  # the test set's probabilities
    specs: list[Spec]
    from_log: bool
    role: str


@dataclass(frozen=True)
class PartStats:
    """One part's contribution: what adds up (counts, exact sums, id hashes) and the few columns that cannot."""

    rows: int
    counts: dict[str, Counts]
    predictions: Counts
    proba_sum: ExactSum
    checks: list[dict[str, Any]]
    id_hashes: np.ndarray | None
    sums: dict[str, tuple[ExactSum, int, int]]  # mean-checked column: sum, numbers, values that are not numbers
    labelled: pd.DataFrame | None  # y, probability and one column per slice attribute
    logged: pd.DataFrame | None  # LOGGED columns, every role (log windows)
    ts: tuple[str, str] | None


def quality_specs(contract: Contract, columns: list[str], from_log: bool) -> list[Spec]:
    """The contract's suite on the columns the window has (a log has no target, time, or whole records)."""
    return [
        s
        for s in suite_specs(contract)
        if (s.column is None or s.column in columns)
        and not (from_log and s.type in ("expect_table_columns_to_match_set", "expect_column_values_to_be_unique"))
    ]


def part_stats(raw: pd.DataFrame, scorer: Scorer | None, ctx: Context, where: str) -> PartStats:
    """One part of the window: ``raw`` as read (data rows, or prediction-log rows of every role)."""
    from mlpipe.io.gx import run_gx  # noqa: PLC0415 - great-expectations costs ~5 s to import

    contract = ctx.contract
    logged = ts = None
    if ctx.from_log:
        logged = raw[LOGGED].copy()
        raw = raw[raw["role"] == ctx.role].reset_index(drop=True)
        ts = (str(raw["ts"].min()), str(raw["ts"].max())) if len(raw) else None
    missing = [f for f in contract.features if f not in raw]
    if missing:
        raise DataError(f"{where}: missing feature columns {missing}")
    if ctx.from_log or scorer is None:
        proba = raw["probability"].to_numpy(dtype=np.float64)
    else:
        # unknown codes, gaps and outliers are what the quality checks report; text in a number
        # column cannot be scored at all (the log holds only values the service took)
        wrong = frame_problems(raw, contract, domain=False)
        if wrong:
            raise DataError(f"{where}: cannot be monitored:\n  - " + "\n  - ".join(wrong))
        proba = scorer.proba(raw) if len(raw) else np.zeros(0)
    cols = [c for c in raw.columns if c in contract.columns]
    checks = in_spec_order(run_gx(raw[cols], ctx.specs), ctx.specs)
    hashes = None
    if any(s.type == UNIQUE for s in ctx.specs) and contract.id in raw:
        ids = raw[contract.id].dropna()
        hashes = pd.util.hash_pandas_object(ids, index=False).to_numpy()
    sums = {}
    for s in ctx.specs:
        if s.type == MEAN and s.column in raw:
            present = raw[s.column].dropna()
            x = pd.to_numeric(present, errors="coerce")
            numbers = x.dropna().to_numpy(dtype=np.float64)
            sums[str(s.column)] = (exact_sum(numbers), len(numbers), int(x.isna().sum()))  # isna here: text
    labelled = None
    if contract.target in raw:
        labelled = pd.DataFrame({"y": is_positive(raw[contract.target], contract).to_numpy().astype(np.int8),
                                 "probability": proba})  # fmt: skip
        groups = slice_groups(encode_columns(raw, contract, list(contract.sensitive)), contract)
        for name, g in groups.items():
            labelled[f"group:{name}"] = g.astype("str").array
    return PartStats(
        len(raw), window_counts(ctx.features, model_input(raw, contract)), numeric_counts(ctx.predictions, proba),
        exact_sum(proba), checks, hashes, sums, labelled, logged, ts,
    )  # fmt: skip


def in_spec_order(checks: list[dict[str, Any]], specs: list[Spec]) -> list[dict[str, Any]]:
    """great-expectations reports in an order of its own (it changes with the data): put the checks back
    in the suite's order, matching type, column and arguments, so every part's results line up."""
    waiting = list(checks)
    out = []
    for spec in specs:
        want = _plain_kwargs({k: v for k, v in spec.kwargs.items() if k != "column"})
        same = [c for c in waiting if (c["expectation"], c["column"]) == (spec.type, spec.column)]
        match = next((c for c in same if _plain_kwargs(c.get("kwargs", {})) == want), same[0])
        waiting.remove(match)
        out.append(match)
    return out


def _plain_kwargs(kw: dict[str, Any]) -> str:
    """Arguments compared as great-expectations echoes them (30 comes back as 30.0)."""

    def norm(v: Any) -> Any:
        if isinstance(v, bool) or v is None or isinstance(v, str):
            return v
        if isinstance(v, int | float):
            return float(v)
        if isinstance(v, list | tuple):
            return [norm(x) for x in v]
        if isinstance(v, dict):
            return {str(k): norm(x) for k, x in v.items()}
        return str(v)

    return json.dumps(norm(kw), sort_keys=True)


@dataclass(frozen=True)
class Window:
    """The parts combined: what the report is made from."""

    rows: int
    counts: dict[str, Counts]
    predictions: Counts
    mean: float
    checks: list[dict[str, Any]]
    labelled: pd.DataFrame | None
    logged: pd.DataFrame | None
    ts: tuple[str, str] | None


def combine(parts: list[PartStats], ctx: Context) -> Window:
    """The parts' contributions added up (an empty window: rows 0, which the monitor refuses)."""
    logged = [p.logged for p in parts if p.logged is not None]  # other roles' rows count even without ours
    parts = [p for p in parts if p.rows]
    if not parts:
        return Window(0, {}, Counts(_NO, _NO, _NO, {}, 0), float("nan"), [], None, _concat(logged), None)
    rows = sum(p.rows for p in parts)
    hashes = [p.id_hashes for p in parts if p.id_hashes is not None]
    sums: dict[str, tuple[ExactSum, int, int]] = {}
    for p in parts:
        for k, (total, n, bad) in p.sums.items():
            t0, n0, b0 = sums.get(k, ({}, 0, 0))
            sums[k] = (add_exact(t0, total), n0 + n, b0 + bad)
    clean = {k: (exact_mean(total, n), n) for k, (total, n, bad) in sums.items() if not bad}  # else: GX's verdict
    ids = np.concatenate(hashes) if hashes else None
    checks = merge_checks(ctx.specs, [p.checks for p in parts], rows, ids, clean)
    pred = parts[0].predictions
    for p in parts[1:]:
        pred = pred + p.predictions
    labelled = [p.labelled for p in parts if p.labelled is not None]
    spans = [p.ts for p in parts if p.ts is not None]
    return Window(
        rows,
        merge_counts([p.counts for p in parts]),
        pred,
        exact_mean(functools.reduce(add_exact, (p.proba_sum for p in parts)), rows),
        checks,
        _concat(labelled),
        _concat(logged),
        (min(s[0] for s in spans), max(s[1] for s in spans)) if spans else None,
    )


def _concat(frames: list[pd.DataFrame]) -> pd.DataFrame | None:
    if not frames:
        return None
    return frames[0] if len(frames) == 1 else pd.concat(frames, ignore_index=True)
