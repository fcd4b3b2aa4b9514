"""Estimators built from the contract and params: preprocessing plus classifier in one Pipeline.

Fitting is deterministic across machines and thread counts (same inputs, same saved bytes): see
:func:`fit_estimator`.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from mlpipe.config import Contract, Estimator, HistGradientBoosting, LogisticRegression, Prior
from mlpipe.core.metrics import Ranked

# scikit-learn is imported where an estimator is built or fitted, not with this module: importing it
# costs about a second, which every process that only reads the model's figures would pay.
if TYPE_CHECKING:
    from sklearn.compose import ColumnTransformer
    from sklearn.dummy import DummyClassifier
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.linear_model import LogisticRegression as SkLogisticRegression
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import OneHotEncoder, OrdinalEncoder

MAX_CATEGORIES = 250
# Permutation importance scores this many cells (rows x columns) a call at most: 16 MB of float64, and
# the example's 49 copies of 2,000 x 16 in one call. All copies at once grew with columns squared.
IMPORTANCE_CELLS = 2_000_000
# Logistic regression's stored weights keep this many significant digits of the largest one (see _settle).
LINEAR_DIGITS = 6
# Newton steps converge quadratically: at this gradient norm the solution is exact to about 1e-11
# relative on any BLAS kernel, where lbfgs (even at tol=1e-10) stops percent apart between kernels.
LINEAR_TOL = 1e-10


def _preprocessor(contract: Contract, estimator: Estimator) -> ColumnTransformer:
    from sklearn.compose import ColumnTransformer  # noqa: PLC0415 - see the module's imports
    from sklearn.impute import SimpleImputer  # noqa: PLC0415
    from sklearn.pipeline import Pipeline  # noqa: PLC0415
    from sklearn.preprocessing import OneHotEncoder, OrdinalEncoder, StandardScaler  # noqa: PLC0415

    cat, num = contract.feature_kinds()
    if isinstance(estimator, LogisticRegression):
        # A linear model takes no NaN: missing numbers become the median plus a "was missing" flag
        # (missing categories are a category of their own for the one-hot encoder).
        # At most MAX_CATEGORIES columns per feature keeps the Newton solver's dense Hessian small.
        cat_enc: OneHotEncoder | OrdinalEncoder = OneHotEncoder(handle_unknown="ignore", max_categories=MAX_CATEGORIES)
        num_enc: Pipeline | str = Pipeline(
            [("impute", SimpleImputer(strategy="median", add_indicator=True)), ("scale", StandardScaler())]
        )
    else:
        # Unknown categories at serving time become NaN, which HistGradientBoosting routes as missing.
        # HistGradientBoosting takes at most 255 categories per feature: the rarest beyond MAX_CATEGORIES
        # share one code (a zip code or a free-text column would otherwise stop training).
        cat_enc = OrdinalEncoder(
            handle_unknown="use_encoded_value",
            unknown_value=np.nan,
            encoded_missing_value=np.nan,
            dtype=np.float64,
            max_categories=MAX_CATEGORIES,
        )
        num_enc = "passthrough"
    return ColumnTransformer(
        [("categorical", cat_enc, cat), ("numeric", num_enc, num)],
        remainder="drop",
        verbose_feature_names_out=False,
    )


def build_estimator(spec: Estimator, contract: Contract, seed: int) -> Pipeline:
    """A full Pipeline taking the contract's feature columns, so serving needs no other code."""
    from sklearn.dummy import DummyClassifier  # noqa: PLC0415 - see the module's imports
    from sklearn.ensemble import HistGradientBoostingClassifier  # noqa: PLC0415
    from sklearn.linear_model import LogisticRegression as SkLogisticRegression  # noqa: PLC0415
    from sklearn.pipeline import Pipeline  # noqa: PLC0415

    cat, _ = contract.feature_kinds()
    clf: HistGradientBoostingClassifier | SkLogisticRegression | DummyClassifier
    if isinstance(spec, HistGradientBoosting):
        clf = HistGradientBoostingClassifier(
            max_iter=spec.max_iter,
            learning_rate=spec.learning_rate,
            max_leaf_nodes=spec.max_leaf_nodes,
            min_samples_leaf=spec.min_samples_leaf,
            l2_regularization=spec.l2_regularization,
            categorical_features=np.arange(len(contract.features)) < len(cat),
            # The fit records its training loss after each iteration (train_score_: the curve in
            # reports/live/train) from the raw predictions it keeps anyway, on all training rows; patience beyond
            # max_iter means it never stops early, so the trees are those of early_stopping=False.
            # Recomputing the curve afterwards (staged_predict_proba) took 0.6 s of the example's 5.
            early_stopping=True,
            scoring="loss",
            validation_fraction=None,
            n_iter_no_change=spec.max_iter + 1,
            random_state=seed,
        )
    elif isinstance(spec, LogisticRegression):
        clf = SkLogisticRegression(C=spec.C, max_iter=spec.max_iter, solver="newton-cholesky", tol=LINEAR_TOL)
    elif isinstance(spec, Prior):
        clf = DummyClassifier(strategy="prior")
    else:  # pragma: no cover - the discriminated union makes this unreachable
        raise TypeError(f"unknown estimator {spec!r}")
    return Pipeline([("features", _preprocessor(contract, spec)), ("model", clf)])


def fit_estimator(spec: Estimator, contract: Contract, seed: int, X: pd.DataFrame, y: np.ndarray) -> Pipeline:
    """Fit on one BLAS/OpenMP thread, then settle the linear weights: same inputs, same bytes.

    One thread: a parallel reduction's order, hence its last bits, depends on the thread count, and
    HistGradientBoosting's bin mapper stores the count it ran with (``n_threads``), which alone
    changed the saved bytes between 1 and 2 threads. Its fit is otherwise thread-count independent
    in scikit-learn 1.9 (histograms are built per feature); one thread costs little at this size.
    """
    from threadpoolctl import threadpool_limits  # noqa: PLC0415 - see the module's imports

    # Built first: threadpool_limits only limits the libraries loaded when it is entered, and
    # building imports scikit-learn, which loads OpenMP (inside the block, the fit ran on every core).
    model = build_estimator(spec, contract, seed)
    with threadpool_limits(limits=1):
        model.fit(X, y)
    if isinstance(spec, LogisticRegression):
        _settle(model[-1], LINEAR_DIGITS)
    return model


def _settle(clf: SkLogisticRegression, digits: int) -> None:
    """Round ``coef_`` and ``intercept_`` to ``digits`` significant digits of the largest of them.

    Different CPUs run different BLAS kernels (AVX-512, AVX2, SSE), whose sums differ in the last
    bits. With lbfgs that moved weights by up to 1e-2 between kernels; the Newton solver at
    LINEAR_TOL leaves about 1e-12, which this rounding (a 1e-5 grid for the example's 99 weights, one
    grid for all, so small weights are not cut finer than the error they carry) removes unless a
    weight lies within 1e-12 of a grid midpoint: odds about 1e-5 per retraining machine. The cost
    is a probability change of about 1e-5 at most (8e-6 on the example's test set). Python's ``round``
    is correctly rounded, unlike ``log10``/``pow``, whose last bits may themselves vary by CPU.
    """
    largest = max(float(np.max(np.abs(clf.coef_), initial=0.0)), float(np.max(np.abs(clf.intercept_))))
    if largest == 0.0:
        return
    exponent = int(f"{largest:e}".split("e")[1])  # exact decimal exponent (no log10)
    places = digits - 1 - exponent

    def rounded(a: np.ndarray) -> np.ndarray:
        return np.array([round(float(v), places) for v in a.ravel()], dtype=np.float64).reshape(a.shape)

    clf.coef_, clf.intercept_ = rounded(clf.coef_), rounded(clf.intercept_)


def training_curve(model: Pipeline) -> list[float]:
    """Log loss on the training rows after each boosting iteration (the curve ``dvc plots`` shows per step), as
    the fit recorded it (see build_estimator); empty for a model fitted in one go (logistic
    regression, the prior)."""
    scores = getattr(model[-1], "train_score_", None)
    if scores is None:
        return []
    return [round(float(-score), 6) for score in np.asarray(scores)[1:]]  # [0]: before the first tree


def positive_proba(model: Pipeline, X: pd.DataFrame) -> np.ndarray:
    """The positive class's probability of each row: the same for a row whether it comes alone (the
    service) or with all the others (the evaluate stage, batch scoring), for every estimator kind this
    template builds."""
    from sklearn.linear_model import LogisticRegression as SkLogisticRegression  # noqa: PLC0415

    classes = list(model.classes_)
    if 1 not in classes:
        return np.zeros(len(X))
    if isinstance(model[-1], SkLogisticRegression) and classes == [0, 1]:
        return _linear_positive(model, X)
    proba = model.predict_proba(X)
    return np.asarray(proba[:, classes.index(1)], dtype=np.float64)


def _linear_positive(model: Pipeline, X: pd.DataFrame) -> np.ndarray:
    """``expit(x @ w + b)`` as scikit-learn's ``predict_proba`` computes it, but with each row's sum in
    a fixed order. scikit-learn multiplies dense features through BLAS, whose kernel (and so the last
    bit of a row's sum) depends on how many rows the call has: one request and the whole test set
    differed by 1e-16. Sparse features (one-hot encoded columns) already sum row by row, in scikit-learn
    as here: the same bits as ``predict_proba``."""
    import scipy.sparse  # noqa: PLC0415 - loaded with scikit-learn already
    from scipy.special import expit  # noqa: PLC0415

    Xt = model[:-1].transform(X)
    clf = model[-1]
    w = np.asarray(clf.coef_[0], dtype=np.float64)
    if Xt.shape[1] != w.size:  # what scikit-learn's own input check would have refused
        raise ValueError(f"the features have {Xt.shape[1]} columns, the linear model {w.size} weights")
    if scipy.sparse.issparse(Xt):
        z = np.asarray(scipy.sparse.csr_matrix(Xt) @ w, dtype=np.float64)
    else:
        dense = np.asarray(Xt, dtype=np.float64)
        z = np.zeros(len(dense))
        for j in range(dense.shape[1]):  # column by column: every row's terms added in the same order
            z += dense[:, j] * w[j]
    if not np.isfinite(z).all():  # scikit-learn refuses NaN input; the template's imputer leaves none
        raise ValueError("the linear model's features hold NaN or infinite values")
    out: np.ndarray = expit(z + clf.intercept_[0])
    return out


def permutation_importance(
    estimator: Any, X: np.ndarray | pd.DataFrame, y: np.ndarray, n_repeats: int, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """Mean and standard deviation of the drop in ROC AUC when each column is shuffled.

    The permutations are scikit-learn's ``permutation_importance`` for the same ``random_state`` (one
    seed drawn from it, shared by every column; each repeat shuffles the last one again), and so is the
    score (``decision_function`` where the estimator has one). The permuted copies are scored many to
    a call (up to ``IMPORTANCE_CELLS`` cells) instead of one call each: a prediction depends on its own
    row only, and the example's 49 calls on 2,000 rows spent most of their time on per-call overhead.
    """
    n, columns = X.shape
    rng = np.random.RandomState(seed)
    column_seed = rng.randint(np.iinfo(np.int32).max + 1)

    def copies() -> Iterator[Any]:
        yield X
        for j in range(columns):
            shuffled = np.random.RandomState(column_seed)
            permuted = X.copy()
            order = np.arange(n)
            for _ in range(n_repeats):
                shuffled.shuffle(order)
                if isinstance(permuted, pd.DataFrame):
                    permuted.iloc[:, j] = permuted.iloc[order, j].to_numpy()
                else:
                    permuted[:, j] = permuted[order, j]
                yield permuted.copy()

    def score(batch: list[Any]) -> list[float]:
        stacked = pd.concat(batch, ignore_index=True) if isinstance(X, pd.DataFrame) else np.vstack(batch)
        if hasattr(estimator, "decision_function"):
            response = np.asarray(estimator.decision_function(stacked), dtype=np.float64)
        else:
            response = np.asarray(estimator.predict_proba(stacked)[:, 1], dtype=np.float64)
        return [Ranked.of(y, part).roc_auc(np.ones(n)) for part in np.split(response, len(batch))]

    per_call = max(1, IMPORTANCE_CELLS // max(1, n * columns))
    scores: list[float] = []
    batch: list[Any] = []
    for permuted in copies():
        batch.append(permuted)
        if len(batch) == per_call:
            scores += score(batch)
            batch = []
    if batch:
        scores += score(batch)
    drops = (scores[0] - np.array(scores[1:])).reshape(columns, n_repeats)
    return drops.mean(axis=1), drops.std(axis=1)
