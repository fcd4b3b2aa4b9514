from __future__ import annotations

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression

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
