"""The fast scoring path gives the evaluate stage's probabilities bit for bit, or is not used; the
Pipeline gives them bit for bit too, whatever the call's size.

Every row of the test split, one call per row and all rows in one call, for the gradient-boosting
model (fast path) and the logistic baseline (the Pipeline); then rows the test split may lack:
missing values, unknown categories, values on and beside every split threshold, odd value types.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest
from sklearn.utils._openmp_helpers import _openmp_effective_n_threads

from mlpipe.config import Contract
from mlpipe.core.features import model_input
from mlpipe.core.model import positive_proba
from mlpipe.io.files import read_frame
from mlpipe.io.models import load_model
from mlpipe.serving import fastpath
from mlpipe.serving import scorer as scorer_module
from mlpipe.serving.fastpath import FastPath
from mlpipe.serving.scorer import SMALL_CALL_ROWS, Scorer, load_scorer
from tests.servers import Served

pytestmark = pytest.mark.integration


def bits(a: Any) -> list[int]:
    return np.asarray(a, dtype=np.float64).view(np.int64).tolist()  # type: ignore[no-any-return]


@pytest.fixture(scope="module")
def champion(served: Served) -> Scorer:
    return load_scorer(served.paths.card, served.contract, root=served.repo)


@pytest.fixture(scope="module")
def baseline(served: Served) -> Scorer:
    b = served.card["baseline"]
    pipeline = load_model(served.repo / b["path"], b["sha256"])
    return Scorer(pipeline, served.card, served.contract)


@pytest.fixture(scope="module")
def tree(served: Served, champion: Scorer) -> Scorer:
    """A scorer with a fast path: the champion when it is a tree model; else (a fork whose champion is
    linear) one fitted here on the same training rows, so the fast path is still tested on its data."""
    if served.card["model"]["kind"] == "hist_gradient_boosting":
        return champion  # a fast path it refused fails test_every_test_row_matches_the_evaluate_stage
    from mlpipe.config import HistGradientBoosting
    from mlpipe.stages.train import fit

    spec = HistGradientBoosting(kind="hist_gradient_boosting")
    pipeline = fit(spec, read_frame(served.paths.train), served.contract, served.params.train.seed)
    scorer = Scorer(pipeline, served.card, served.contract)
    assert scorer.fast is not None
    return scorer


def evaluate_stage(served: Served, column: str) -> list[int]:
    """The evaluate stage's probability of each test row (artifacts/predictions.parquet), in test_raw's order."""
    preds = pd.read_parquet(served.paths.predictions).set_index(served.contract.id)[column]
    return bits(preds[served.test_raw[served.contract.id]].to_numpy())


@pytest.mark.parametrize("kind", ["model", "baseline"])
def test_every_test_row_matches_the_evaluate_stage(
    served: Served, champion: Scorer, baseline: Scorer, kind: str
) -> None:
    scorer = champion if kind == "model" else baseline
    assert (scorer.fast is not None) == (served.card[kind]["kind"] == "hist_gradient_boosting")
    rows = served.test_raw
    expected = evaluate_stage(served, kind)

    # bit for bit, on the fast path and through the Pipeline alike (a linear model's sums do not depend
    # on the rows beside a row: mlpipe.core.model.positive_proba)
    assert bits(scorer.proba(rows)) == expected  # one call, all rows
    # calls of 1 and 7 rows, and one each side of the thread-count switch: every call on the fast path
    # (microseconds each); every 7th call through the Pipeline (~10 ms a call: all of them took 24 s of
    # the suite for what a sample shows as well)
    step = 1 if scorer.fast is not None else 7
    for size in (1, 7, SMALL_CALL_ROWS + 1):
        starts = range(0, len(rows), size * step)
        got = [b for k in starts for b in bits(scorer.proba(rows.iloc[k : k + size]))]
        assert got == [b for k in starts for b in expected[k : k + size]], f"calls of {size} rows"


def generic(scorer: Scorer, raw: pd.DataFrame) -> list[int]:
    return bits(positive_proba(scorer.pipeline, model_input(raw, scorer.contract)))


def odd_rows(served: Served, fast: FastPath) -> list[pd.DataFrame]:
    """Frames the test split may not contain, shaped like requests (object, float and int columns)."""
    c = served.contract
    rows = served.test_raw[list(c.features)].head(200).astype(object).reset_index(drop=True)
    rng = np.random.default_rng(0)
    holes = rows.mask(pd.DataFrame(rng.random(rows.shape) < 0.3, columns=rows.columns), None)
    unknown = rows.copy()
    for name in c.features:
        col = c.columns[name]
        if col.labels is not None:
            unknown.loc[::3, name] = max(k for k in col.labels if isinstance(k, int)) + 7
        elif col.categorical:
            unknown.loc[::3, name] = "never seen"
    as_float = rows.copy()
    for name in c.features:
        as_float[name] = pd.to_numeric(rows[name], errors="coerce").astype(np.float64)
    na_holes = holes.astype(object).where(holes.notna(), pd.NA)  # type: ignore[arg-type]  # as a nullable column's rows
    nullable = holes.copy()  # an int column with blanks read as pandas' nullable types
    for name in c.features:
        numbers = pd.to_numeric(holes[name], errors="coerce")
        if c.columns[name].dtype == "int":
            nullable[name] = numbers.astype("Int64")
        elif c.columns[name].dtype == "float":
            nullable[name] = numbers.astype("Float64")
    return [
        holes,
        na_holes,
        nullable,
        unknown,
        as_float,
        fast.probe_rows(c),
        fast.probe_rows(c, missing=False),
        pd.DataFrame({f: [None] for f in c.features}),
    ]


def test_missing_unknown_and_boundary_values_match_the_pipeline(served: Served, tree: Scorer) -> None:
    assert tree.fast is not None
    for frame in odd_rows(served, tree.fast):
        assert bits(tree.proba(frame)) == generic(tree, frame)
        assert [bits(tree.proba(frame.iloc[i : i + 1]))[0] for i in range(len(frame))] == generic(tree, frame)


def test_a_fast_path_that_differs_is_never_used(served: Served, tree: Scorer, monkeypatch: pytest.MonkeyPatch) -> None:
    real = FastPath.proba

    def off_by_one_bit(self: FastPath, raw: pd.DataFrame, threads: int) -> np.ndarray:
        p = real(self, raw, threads)
        p[-1] = np.nextafter(p[-1], 2.0)
        return p

    monkeypatch.setattr(FastPath, "proba", off_by_one_bit)
    assert FastPath.build(tree.pipeline, served.contract) is None


def test_a_checked_model_file_is_probed_once_a_process(
    served: Served, tree: Scorer, monkeypatch: pytest.MonkeyPatch
) -> None:
    probed: list[bool] = []
    real = FastPath.probe_rows

    def spy(self: FastPath, contract: Any, missing: bool = True) -> pd.DataFrame:
        probed.append(missing)
        return real(self, contract, missing)

    monkeypatch.setattr(FastPath, "probe_rows", spy)
    monkeypatch.setattr(fastpath, "_EXACT", set())  # this process's other loads do not count
    sha = "f" * 64
    assert FastPath.build(tree.pipeline, served.contract, sha) is not None
    assert probed == [True, False]
    again = FastPath.build(tree.pipeline, served.contract, sha)
    assert again is not None
    assert probed == [True, False]  # the same bytes: not probed again
    assert FastPath.build(tree.pipeline, served.contract) is not None  # no checked file: probed
    assert probed == [True, False, True, False]
    frame = served.test_raw.head(64)
    assert bits(again.proba(frame, threads=1)) == generic(tree, frame)


def test_small_calls_run_on_one_thread(tree: Scorer, served: Served, monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[tuple[int, int]] = []
    real = FastPath.proba

    def spy(self: FastPath, raw: pd.DataFrame, threads: int) -> np.ndarray:
        seen.append((threads, _openmp_effective_n_threads()))
        return real(self, raw, threads)

    monkeypatch.setattr(FastPath, "proba", spy)
    tree.proba(served.test_raw.head(1))
    tree.proba(served.test_raw.head(SMALL_CALL_ROWS - 1))
    assert seen == [(1, 1), (1, 1)]
    assert served.params.serve.max_batch_rows < scorer_module.SMALL_CALL_ROWS  # every service call is small


@pytest.mark.parametrize("only", ["numeric", "categorical"])
def test_a_contract_of_one_kind_of_feature_gets_the_fast_path(
    sample: pd.DataFrame, synth_contract: Contract, only: str
) -> None:
    """Without a categorical feature HistGradientBoosting keeps no encoder of its own, and our
    ColumnTransformer has an empty part: such forks were served on the slow path."""
    from mlpipe.config import HistGradientBoosting
    from mlpipe.core.features import TARGET, feature_frame, prepare
    from mlpipe.core.model import fit_estimator

    cat, num = synth_contract.feature_kinds()
    features = num if only == "numeric" else cat
    if not features:
        pytest.skip(f"the contract has no {only} feature")
    contract = synth_contract.model_copy(update={"features": features})
    rows = prepare(sample, contract)
    spec = HistGradientBoosting(kind="hist_gradient_boosting", max_iter=20)
    pipeline = fit_estimator(spec, contract, 0, feature_frame(rows, contract), rows[TARGET].to_numpy())
    fast = FastPath.build(pipeline, contract)
    assert fast is not None
    raw = sample[features].head(500)
    assert bits(fast.proba(raw, threads=1)) == bits(positive_proba(pipeline, model_input(raw, contract)))
