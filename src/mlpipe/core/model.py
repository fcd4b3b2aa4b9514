"""Estimators built from the contract and params: preprocessing plus classifier in one Pipeline."""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.dummy import DummyClassifier
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression as SkLogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, OrdinalEncoder, StandardScaler

from mlpipe.config import Contract, Estimator, HistGradientBoosting, LogisticRegression, Prior

MAX_CATEGORIES = 250


def _preprocessor(contract: Contract, estimator: Estimator) -> ColumnTransformer:
    cat, num = contract.feature_kinds()
    if isinstance(estimator, LogisticRegression):
        # A linear model takes no NaN: missing numbers become the median plus a "was missing" flag
        # (missing categories are a category of their own for the one-hot encoder).
        cat_enc: OneHotEncoder | OrdinalEncoder = OneHotEncoder(handle_unknown="ignore")
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
            early_stopping=False,
            random_state=seed,
        )
    elif isinstance(spec, LogisticRegression):
        clf = SkLogisticRegression(C=spec.C, max_iter=spec.max_iter)
    elif isinstance(spec, Prior):
        clf = DummyClassifier(strategy="prior")
    else:  # pragma: no cover - the discriminated union makes this unreachable
        raise TypeError(f"unknown estimator {spec!r}")
    return Pipeline([("features", _preprocessor(contract, spec)), ("model", clf)])


def positive_proba(model: Pipeline, X: pd.DataFrame) -> np.ndarray:
    proba = model.predict_proba(X)
    classes = list(model.classes_)
    if 1 not in classes:
        return np.zeros(len(X))
    return np.asarray(proba[:, classes.index(1)], dtype=np.float64)
