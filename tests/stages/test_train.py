"""Model regression tests on the real data: quality, fairness gaps, behaviour, determinism, golden rows.

They need the real data (skipped when it cannot be had); the bars are the repository's own
(params.yaml gate, contract.yaml behaviour), so they follow a swapped-in dataset.

The model is trained here, in-process, exactly as the ``train`` stage does (same function,
params.yaml, data), so these tests need no pipeline outputs.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.pipeline import Pipeline

from mlpipe.config import BehaviourCheck, Contract, Params
from mlpipe.core import behaviour
from mlpipe.core.features import TARGET, feature_frame, model_input, prepare, slice_groups
from mlpipe.core.gate import decide
from mlpipe.core.metrics import DIRECTION, classification_metrics, slice_report
from mlpipe.core.model import positive_proba
from mlpipe.core.split import split
from mlpipe.io.files import read_table, text_columns
from mlpipe.stages.train import fit
from mlpipe.tasks.golden import GOLDEN

pytestmark = pytest.mark.regression


@dataclass
class Trained:
    model: Pipeline
    baseline: Pipeline
    train: pd.DataFrame
    test: pd.DataFrame
    p: np.ndarray


def _train(raw: pd.DataFrame, params: Params, contract: Contract) -> Trained:
    s = split(prepare(raw, contract), contract, params.split)
    model = fit(params.train.model, s.train, contract, params.train.seed)
    baseline = fit(params.train.baseline, s.train, contract, params.train.seed)
    return Trained(model, baseline, s.train, s.test, positive_proba(model, feature_frame(s.test, contract)))


@pytest.fixture(scope="module")
def trained(raw: pd.DataFrame, params: Params, contract: Contract) -> Trained:
    """The model on the real data: the repository's own bars apply."""
    return _train(raw, params, contract)


@pytest.fixture(scope="module")
def synthetic(sample: pd.DataFrame, params: Params, synth_contract: Contract) -> Trained:
    """The model on rows synthesised from the contract: behaviour of the training code, any data."""
    return _train(sample, params, synth_contract)


def test_meets_the_gate_minimums_and_maximums(trained: Trained, params: Params) -> None:
    m = classification_metrics(trained.test[TARGET], trained.p, params.evaluate.threshold)
    for metric, bound in params.gate.minimums.items():
        assert m[metric] >= bound, f"{metric} {m[metric]:.4f} < {bound}"
    for metric, bound in params.gate.maximums.items():
        assert m[metric] <= bound, f"{metric} {m[metric]:.4f} > {bound}"


def test_beats_the_baseline(trained: Trained, params: Params, contract: Contract) -> None:
    """The gate's baseline check on the real data, with the gate's advice when it fails."""
    if not params.gate.must_beat_baseline:
        pytest.skip("params.yaml gate.must_beat_baseline is false")
    pm = params.gate.primary_metric
    y = trained.test[TARGET]
    p_base = positive_proba(trained.baseline, feature_frame(trained.test, contract))
    model, base = classification_metrics(y, trained.p)[pm], classification_metrics(y, p_base)[pm]
    only_baseline = params.gate.model_copy(update={"minimums": {}, "maximums": {}, "max_slice_gap": {}})
    verdict = decide(only_baseline, {pm: model}, {pm: base}, None, {})
    assert DIRECTION[pm] * (model - base) > 0, verdict.reasons


def test_slice_gaps_within_thresholds(trained: Trained, params: Params, contract: Contract) -> None:
    ev = params.evaluate
    for attr, groups in slice_groups(trained.test, contract).items():
        rep = slice_report(attr, groups, trained.test[TARGET], trained.p, params.gate.slice_metric,
                           ev.threshold, ev.min_slice_size)  # fmt: skip
        limit = params.gate.max_slice_gap.get(attr)
        if limit is not None and rep.gap is not None:
            assert rep.gap <= limit, f"{attr}: gap {rep.gap:.4f} between {rep.best} and {rep.worst}"


def _p(trained: Trained, contract: Contract, frame: pd.DataFrame) -> np.ndarray:
    return positive_proba(trained.model, feature_frame(frame, contract))


def test_behaviour_declared_in_the_contract(
    behaviour_check: BehaviourCheck, trained: Trained, raw: pd.DataFrame, contract: Contract
) -> None:
    """contract.yaml ``behaviour:``: the dataset's domain facts, run by one generic test."""
    check = behaviour_check
    test_raw = raw[raw[contract.id].isin(trained.test[contract.id])]
    outcome = behaviour.run(check, test_raw, lambda rows: positive_proba(trained.model, model_input(rows, contract)))
    assert outcome.passed, f"{check.name}: {outcome.detail} ({outcome.rows} rows)"


def test_invariance_to_row_and_column_order(synthetic: Trained, contract: Contract) -> None:
    sample = synthetic.test.head(500)
    base = _p(synthetic, contract, sample)
    shuffled = sample.sample(frac=1.0, random_state=1)
    np.testing.assert_array_equal(_p(synthetic, contract, shuffled), base[sample.index.get_indexer(shuffled.index)])
    reordered = sample[list(reversed(sample.columns))]
    np.testing.assert_array_equal(positive_proba(synthetic.model, reordered[contract.features[::-1]]), base)


def test_invariance_to_columns_that_are_not_features(synthetic: Trained, contract: Contract) -> None:
    sample = synthetic.test.head(500)
    others = {c: sample[c].iloc[::-1].to_numpy() for c in sample.columns if c not in contract.features}
    np.testing.assert_array_equal(_p(synthetic, contract, sample.assign(**others)), _p(synthetic, contract, sample))


def test_training_is_deterministic(synthetic: Trained, params: Params, contract: Contract) -> None:
    again = fit(params.train.model, synthetic.train, contract, params.train.seed)
    np.testing.assert_array_equal(positive_proba(again, feature_frame(synthetic.test, contract)), synthetic.p)


def test_golden_predictions(trained: Trained, root: Path, contract: Contract) -> None:
    """Re-record with `make golden` only after an intended change to data, features or params."""
    if not (root / GOLDEN).exists():
        pytest.skip(f"no {GOLDEN}: record it with `make golden` after `make repro`")
    golden = read_table(root / GOLDEN, text_columns(contract))
    raw = golden.drop(columns=["expected_probability"])
    if set(raw.columns) != set(contract.columns):
        pytest.skip(f"{GOLDEN} was recorded for other data (its columns are not the contract's): run `make golden`")
    p = positive_proba(trained.model, feature_frame(prepare(raw, contract), contract))
    why = "the model's answers changed: if you meant it (data, features or params changed), `make golden`"
    np.testing.assert_allclose(p, golden["expected_probability"].to_numpy(), atol=1e-8, err_msg=why)
