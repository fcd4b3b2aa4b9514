"""The search's pure parts: candidates drawn from the space, folds, ranking."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from mlpipe.config import Contract, HistGradientBoosting, LogisticRegression, Params, Prior, Range, TuneParams
from mlpipe.core import tune
from mlpipe.core.features import TARGET, feature_frame, prepare
from mlpipe.errors import DataError

pytestmark = pytest.mark.unit
BASE = HistGradientBoosting(kind="hist_gradient_boosting", max_iter=50)


def space(
    **dims: Range | list[int | float | str | bool],
) -> dict[str, dict[str, Range | list[int | float | str | bool]]]:
    return {"hist_gradient_boosting": dict(dims)}


def test_candidate_zero_is_the_current_model_and_draws_are_seeded_distinct_and_in_range() -> None:
    tp = TuneParams(
        candidates=12,
        seed=3,
        space=space(
            learning_rate=Range(low=0.01, high=0.5, log=True), max_leaf_nodes=Range(low=4, high=64), max_iter=[20, 40]
        ),
    )
    first, again = tune.draw_candidates(BASE, tp), tune.draw_candidates(BASE, tp)
    assert [c.spec for c in first] == [c.spec for c in again]
    assert first[0].spec == BASE
    assert first[0].changes == {}
    assert len(first) == 12
    assert len({c.spec.model_dump_json() for c in first}) == 12
    for c in first[1:]:
        assert isinstance(c.spec, HistGradientBoosting)
        assert 0.01 <= c.spec.learning_rate <= 0.5
        assert isinstance(c.spec.max_leaf_nodes, int)
        assert 4 <= c.spec.max_leaf_nodes <= 64
        assert c.spec.max_iter in (20, 40)
        assert all(getattr(BASE, k) != v for k, v in c.changes.items())
    other = tune.draw_candidates(BASE, tp.model_copy(update={"seed": 4}))
    assert [c.spec for c in other] != [c.spec for c in first]


def test_a_small_discrete_space_is_tried_once_each_not_repeated() -> None:
    tp = TuneParams(candidates=20, space=space(max_iter=[50, 60, 70]))
    got = tune.draw_candidates(BASE, tp)
    assert sorted(c.spec.max_iter for c in got) == [50, 60, 70]  # type: ignore[union-attr]


def test_drawn_floats_keep_four_significant_digits() -> None:
    tp = TuneParams(candidates=5, space=space(learning_rate=Range(low=0.01, high=0.3, log=True)))
    for c in tune.draw_candidates(BASE, tp)[1:]:
        value = c.changes["learning_rate"]
        assert value == float(f"{value:.4g}")


def test_folds_need_enough_rows_of_each_class() -> None:
    y = np.array([0] * 10 + [1] * 2)
    with pytest.raises(DataError, match=r"at least 3 rows of each class.*\[10, 2\]"):
        tune.folds(y, 3, 0)
    splits = tune.folds(np.array([0, 1] * 6), 3, 0)
    assert len(splits) == 3
    assert sorted(np.concatenate([va for _, va in splits]).tolist()) == list(range(12))


def test_stratified_sample_keeps_the_class_balance() -> None:
    y = np.array([0] * 900 + [1] * 100)
    frame = pd.DataFrame({"y": y})
    rows = tune.stratified_sample(frame, y, 200, 0)
    assert len(rows) == 200
    assert y[rows].sum() == 20
    assert len(tune.stratified_sample(frame, y, None, 0)) == 1000


def test_search_scores_every_candidate_on_every_fold_best_first(
    sample: pd.DataFrame, synth_contract: Contract, params: Params
) -> None:
    frame = prepare(sample, synth_contract).head(600)
    X, y = feature_frame(frame, synth_contract), frame[TARGET].to_numpy()
    tp = TuneParams(candidates=3, seed=1, space=space(max_iter=[5, 10, 20, 40]))
    cands = tune.draw_candidates(BASE, tp)
    scores = tune.search(cands, synth_contract, 0, X, y, tune.folds(y, 2, 0), "roc_auc", 0.5)
    assert sorted(s.candidate.index for s in scores) == [0, 1, 2]
    assert all(len(s.folds) == 2 for s in scores)
    assert [s.mean for s in scores] == sorted((s.mean for s in scores), reverse=True)
    record = tune.summary(scores, "roc_auc", len(y), 2, tp)
    assert record["top"] == [s.candidate.index for s in scores[: tp.top]]
    loss = tune.ranked(scores, "log_loss")  # lower is better: the order flips
    assert [s.candidate.index for s in loss] == [s.candidate.index for s in reversed(scores)]


def test_the_space_follows_the_model_kind(params: Params) -> None:
    """A fork that switches train.model.kind edits nothing else: the search uses that kind's space."""
    linear = LogisticRegression(kind="logistic_regression", C=1.0)
    got = tune.draw_candidates(linear, params.tune.model_copy(update={"candidates": 6}))
    assert got[0].spec == linear
    if "logistic_regression" in params.tune.space:
        assert len(got) == 6
        assert all(set(c.changes) <= {"C", "max_iter"} for c in got)
    prior = tune.draw_candidates(Prior(kind="prior"), params.tune)
    assert [c.spec for c in prior] == [Prior(kind="prior")]  # nothing to search: the current model alone
