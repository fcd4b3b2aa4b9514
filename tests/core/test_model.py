from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression

from mlpipe.config import Contract
from mlpipe.core.model import _settle

pytestmark = pytest.mark.unit


def weights(coef: list[float], intercept: float) -> LogisticRegression:
    clf = LogisticRegression()
    clf.coef_, clf.intercept_ = np.array([coef]), np.array([intercept])
    return clf


def test_settle_rounds_every_weight_on_the_largest_ones_grid() -> None:
    clf = weights([6.0720941353, -0.0123456789, 3.4e-9], 1.2345678)
    _settle(clf, 6)
    np.testing.assert_array_equal(clf.coef_, [[6.07209, -0.01235, 0.0]])
    np.testing.assert_array_equal(clf.intercept_, [1.23457])
    assert clf.coef_.shape == (1, 3)
    assert clf.coef_.dtype == np.float64


def test_weights_a_few_bits_apart_are_stored_equal() -> None:
    """What another CPU's BLAS kernel leaves after the Newton solver: about 1e-12 apart."""
    rng = np.random.default_rng(0)
    coef, intercept = rng.normal(size=100), -1.2261885
    a, b = weights(list(coef), intercept), weights(list(coef * (1 + 1e-13)), intercept + 1e-13)
    _settle(a, 6)
    _settle(b, 6)
    np.testing.assert_array_equal(a.coef_, b.coef_)
    np.testing.assert_array_equal(a.intercept_, b.intercept_)


def test_settle_leaves_all_zero_weights_alone() -> None:
    clf = weights([0.0, 0.0], 0.0)
    _settle(clf, 6)
    np.testing.assert_array_equal(clf.coef_, [[0.0, 0.0]])


def test_the_training_curve_is_recorded_by_the_fit_without_changing_the_trees(
    sample: pd.DataFrame, synth_contract: Contract
) -> None:
    """The fit tracks its training loss (no early stop): the trees must be those of a plain fit, one
    point per iteration, the last one the model's own training log loss (it is logged as such)."""
    from sklearn.base import clone
    from threadpoolctl import threadpool_limits

    from mlpipe.config import HistGradientBoosting
    from mlpipe.config import LogisticRegression as Linear
    from mlpipe.core.features import TARGET, feature_frame, prepare
    from mlpipe.core.metrics import classification_metrics
    from mlpipe.core.model import fit_estimator, positive_proba, training_curve

    rows = prepare(sample, synth_contract)
    X, y = feature_frame(rows, synth_contract), rows[TARGET].to_numpy()
    spec = HistGradientBoosting(kind="hist_gradient_boosting", max_iter=30, learning_rate=0.3, min_samples_leaf=2)
    model = fit_estimator(spec, synth_contract, 0, X, y)
    with threadpool_limits(limits=1):
        plain = clone(model).set_params(model__early_stopping=False).fit(X, y)
    np.testing.assert_array_equal(model.predict_proba(X), plain.predict_proba(X))
    curve = training_curve(model)
    assert len(curve) == model[-1].n_iter_ == spec.max_iter
    assert curve[-1] < curve[0]
    # the same loss summed in another order: equal but for the 6th decimal's rounding
    assert curve[-1] == pytest.approx(classification_metrics(y, positive_proba(model, X))["log_loss"], abs=1e-6)
    assert training_curve(plain) == []
    assert training_curve(fit_estimator(Linear(kind="logistic_regression"), synth_contract, 0, X, y)) == []


@pytest.mark.parametrize("sparse_threshold", [1.0, 0.0])  # sparse one-hot columns, and dense
def test_a_linear_models_probability_of_a_row_does_not_depend_on_the_other_rows(
    sample: pd.DataFrame, synth_contract: Contract, sparse_threshold: float
) -> None:
    """The service scores one row, the evaluate stage all of them: the same bits for each row. Through
    BLAS (scikit-learn's predict_proba on dense features), a third of the rows differed in the last bit."""
    import scipy.sparse

    from mlpipe.config import LogisticRegression as Linear
    from mlpipe.core.features import TARGET, feature_frame, prepare
    from mlpipe.core.model import build_estimator, positive_proba

    rows = prepare(sample, synth_contract)
    X, y = feature_frame(rows, synth_contract), rows[TARGET].to_numpy()
    model = build_estimator(Linear(kind="logistic_regression"), synth_contract, 0)
    model.set_params(features__sparse_threshold=sparse_threshold).fit(X, y)
    sparse = scipy.sparse.issparse(model[:-1].transform(X.head(5)))
    if sparse_threshold and not sparse:
        pytest.skip("the contract has no categorical feature: the features are dense")
    every = positive_proba(model, X)
    alone = [positive_proba(model, X.iloc[i : i + 1])[0] for i in range(40)]  # a Pipeline call: ~5 ms each
    assert np.array_equal(alone, every[:40])
    in_sevens = np.concatenate([positive_proba(model, X.iloc[k : k + 7]) for k in range(0, 280, 7)])
    assert np.array_equal(in_sevens, every[:280])
    sklearn_says = model.predict_proba(X)[:, 1]
    if sparse:  # scikit-learn sums sparse rows in the same order: the same bits
        assert np.array_equal(every, sklearn_says)
    np.testing.assert_allclose(every, sklearn_says, rtol=0, atol=1e-12)  # the same model


@pytest.mark.parametrize("kind", ["hist_gradient_boosting", "logistic_regression"])
def test_permutation_importance_is_scikit_learns(
    sample: pd.DataFrame, synth_contract: Contract, kind: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The same permutations and scores as scikit-learn's, on encoded columns (an array) and on the
    raw features (a frame through the whole pipeline); a shuffled informative column must matter."""
    from sklearn.inspection import permutation_importance as sklearns

    from mlpipe.config import HistGradientBoosting
    from mlpipe.config import LogisticRegression as Linear
    from mlpipe.core.features import TARGET, feature_frame, prepare
    from mlpipe.core.model import fit_estimator, permutation_importance

    rows = prepare(sample, synth_contract)
    X, y = feature_frame(rows, synth_contract), rows[TARGET].to_numpy()
    spec = (
        HistGradientBoosting(kind="hist_gradient_boosting", max_iter=20, learning_rate=0.3, min_samples_leaf=2)
        if kind == "hist_gradient_boosting"
        else Linear(kind="logistic_regression")
    )
    model = fit_estimator(spec, synth_contract, 0, X, y)
    X, y = X.iloc[:400], y[:400]  # scikit-learn's side makes a call per column and repeat: keep them small
    encoded = model[:-1].transform(X)
    encoded = np.asarray(encoded.toarray() if hasattr(encoded, "toarray") else encoded)  # one-hot may be sparse
    for estimator, data in ((model, X), (model[-1], encoded)):
        mean, std = permutation_importance(estimator, data, y, 3, 7)
        expected = sklearns(estimator, data, y, scoring="roc_auc", n_repeats=3, random_state=7)
        np.testing.assert_allclose(mean, expected.importances_mean, rtol=0, atol=1e-9)
        np.testing.assert_allclose(std, expected.importances_std, rtol=0, atol=1e-9)
        assert mean.shape == (data.shape[1],)
        assert mean.max() > 0
        with monkeypatch.context() as m:  # many columns or rows: the copies go in several calls, same result
            m.setattr("mlpipe.core.model.IMPORTANCE_CELLS", data.shape[0] * data.shape[1] * 5)
            np.testing.assert_array_equal(permutation_importance(estimator, data, y, 3, 7)[0], mean)
