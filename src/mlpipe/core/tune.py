"""The hyperparameter search: candidates drawn from ``params.yaml`` and scored by cross-validation.

Pure: it fits and scores the rows it is handed. The ``tune`` stage hands it the training split and
nothing else, so the frozen test set cannot influence which settings win (the leakage guard is in
``tune/dvc.yaml``'s deps and in tests/stages/test_tune.py). A seeded random search rather than a
grid: for the same budget it tries more distinct values of the settings that matter.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from mlpipe.config import Contract, Estimator, Range, Scalar, TuneParams
from mlpipe.core.metrics import DIRECTION, classification_metrics
from mlpipe.core.model import fit_estimator, positive_proba
from mlpipe.errors import DataError

SIGNIFICANT = 4  # drawn floats keep 4 significant digits: readable, and `dvc exp run -S` reproduces them exactly


@dataclass(frozen=True)
class Candidate:
    index: int
    spec: Estimator
    changes: dict[str, Scalar]  # settings that differ from train.model


@dataclass(frozen=True)
class Score:
    candidate: Candidate
    mean: float
    std: float
    folds: list[float] = field(default_factory=list)


def _is_int(spec: Estimator, key: str) -> bool:
    return type(spec).model_fields[key].annotation is int


def _draw(rng: np.random.Generator, dim: Range | list[Scalar], integer: bool) -> Scalar:
    if isinstance(dim, list):
        choice: Scalar = dim[int(rng.integers(len(dim)))]
        return choice
    if dim.log:
        value = float(np.exp(rng.uniform(np.log(dim.low), np.log(dim.high))))
    else:
        value = float(rng.uniform(dim.low, dim.high))
    if integer:
        return int(min(max(round(value), np.ceil(dim.low)), np.floor(dim.high)))
    return float(f"{value:.{SIGNIFICANT}g}")


def _key(spec: Estimator) -> str:
    return json.dumps(spec.model_dump(), sort_keys=True)


def draw_candidates(base: Estimator, tune: TuneParams) -> list[Candidate]:
    """Candidate 0 is ``base``; the others are distinct draws from ``tune.space`` for its kind (seeded).

    A small discrete space may hold fewer than ``tune.candidates`` distinct settings: the search
    then tries each once instead of repeating one.
    """
    rng = np.random.default_rng(tune.seed)
    out = [Candidate(0, base, {})]
    space = tune.dims(base.kind)
    if not space:
        return out
    seen = {_key(base)}
    attempts = 0
    while len(out) < tune.candidates and attempts < 100 * tune.candidates:
        attempts += 1
        draw = {k: _draw(rng, dim, _is_int(base, k)) for k, dim in sorted(space.items())}
        spec = type(base).model_validate(base.model_dump() | draw)
        if _key(spec) in seen:
            continue
        seen.add(_key(spec))
        changes = {k: v for k, v in draw.items() if getattr(base, k) != v}
        out.append(Candidate(len(out), spec, changes))
    return out


def stratified_sample(frame: pd.DataFrame, y: np.ndarray, rows: int | None, seed: int) -> np.ndarray:
    """Row positions of a class-stratified sample of ``rows`` (all rows when None or larger)."""
    n = len(frame)
    if rows is None or rows >= n:
        return np.arange(n)
    rng = np.random.default_rng(seed)
    keep: list[np.ndarray] = []
    for cls in np.unique(y):
        idx = np.flatnonzero(y == cls)
        take = max(1, round(rows * idx.size / n))
        keep.append(rng.choice(idx, size=min(take, idx.size), replace=False))
    return np.sort(np.concatenate(keep))


def folds(y: np.ndarray, n_folds: int, seed: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """Stratified folds of the training rows. Random, not by time: the training split of a temporal
    split may hold a single period; the test set stays the out-of-time check."""
    counts = np.unique(y, return_counts=True)[1]
    if counts.size < 2 or counts.min() < n_folds:
        raise DataError(
            f"cross-validation needs at least {n_folds} rows of each class in the training split "
            f"(class counts: {counts.tolist()}); lower tune.folds or add data"
        )
    from sklearn.model_selection import StratifiedKFold  # noqa: PLC0415 - scikit-learn: only where folds are cut

    skf = StratifiedKFold(n_splits=n_folds, shuffle=True, random_state=seed)
    return [(tr, va) for tr, va in skf.split(np.zeros(y.size), y)]


def fold_score(
    spec: Estimator,
    contract: Contract,
    seed: int,
    X: pd.DataFrame,
    y: np.ndarray,
    split: tuple[np.ndarray, np.ndarray],
    metric: str,
    threshold: float,
) -> float:
    tr, va = split
    model = fit_estimator(spec, contract, seed, X.iloc[tr], y[tr])
    return float(classification_metrics(y[va], positive_proba(model, X.iloc[va]), threshold)[metric])


Runner = Callable[[Sequence[tuple[Candidate, int]], Callable[[Candidate, int], float]], list[float]]


def serial(jobs: Sequence[tuple[Candidate, int]], score: Callable[[Candidate, int], float]) -> list[float]:
    return [score(c, i) for c, i in jobs]


def search(
    candidates: list[Candidate],
    contract: Contract,
    seed: int,
    X: pd.DataFrame,
    y: np.ndarray,
    splits: list[tuple[np.ndarray, np.ndarray]],
    metric: str,
    threshold: float,
    run: Runner = serial,
) -> list[Score]:
    """Every candidate on every fold (``run`` may spread the fits over processes), best first."""
    jobs = [(c, i) for c in candidates for i in range(len(splits))]

    def score(c: Candidate, i: int) -> float:
        return fold_score(c.spec, contract, seed, X, y, splits[i], metric, threshold)

    values = run(jobs, score)
    per: dict[int, list[float]] = {c.index: [] for c in candidates}
    for (c, _), v in zip(jobs, values, strict=True):
        per[c.index].append(v)
    scores = [Score(c, float(np.mean(per[c.index])), float(np.std(per[c.index])), per[c.index]) for c in candidates]
    return ranked(scores, metric)


def ranked(scores: list[Score], metric: str) -> list[Score]:
    sign = DIRECTION[metric]
    return sorted(scores, key=lambda s: (-sign * s.mean, s.candidate.index))


def summary(scores: list[Score], metric: str, rows: int, n_folds: int, tune: TuneParams) -> dict[str, Any]:
    """The search's record: deterministic (no timings), so the committed file only changes with its inputs."""
    return {
        "metric": metric,
        "folds": n_folds,
        "rows": rows,
        "seed": tune.seed,
        "top": [s.candidate.index for s in scores[: tune.top]],
        "candidates": [
            {
                "rank": rank,
                "index": s.candidate.index,
                "changes": s.candidate.changes,
                "mean": round(s.mean, 6),
                "std": round(s.std, 6),
                "folds": [round(v, 6) for v in s.folds],
            }
            for rank, s in enumerate(scores, start=1)
        ],
    }
