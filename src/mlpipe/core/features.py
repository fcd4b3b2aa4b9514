"""Everything the model sees, derived from the contract: labels, types, preprocessing, estimators."""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.dummy import DummyClassifier
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.linear_model import LogisticRegression as SkLogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, OrdinalEncoder, StandardScaler

from mlpipe.config import Contract, Estimator, HistGradientBoosting, LogisticRegression, Prior

TARGET = "__target__"


def prepare(raw: pd.DataFrame, contract: Contract) -> pd.DataFrame:
    """Validated raw rows -> model-ready rows.

    Coded categories become their readable labels (strings), numeric features float64,
    the target a 0/1 int in ``TARGET``; the id, time and sensitive columns are kept for
    splitting and slicing. Rows are sorted by id so the output does not depend on file order.
    """
    keep = [contract.id]
    if contract.time is not None:
        keep.append(contract.time)
    for name in [*contract.features, *contract.sensitive]:
        if name not in keep:
            keep.append(name)
    out = pd.DataFrame(index=raw.index)
    for name in keep:
        col = contract.columns[name]
        values = raw[name]
        if col.labels is not None:
            out[name] = values.map(col.labels).astype(str)
        elif col.categorical:
            out[name] = values.astype(str)
        elif name in (contract.id, contract.time):
            out[name] = values
        else:
            out[name] = values.astype(np.float64)
    out[TARGET] = (raw[contract.target] == contract.positive).astype(np.int8)
    return out.sort_values(contract.id, kind="mergesort").reset_index(drop=True)


def feature_frame(df: pd.DataFrame, contract: Contract) -> pd.DataFrame:
    return df[contract.features]


def _preprocessor(contract: Contract, estimator: Estimator) -> ColumnTransformer:
    cat, num = contract.feature_kinds()
    if isinstance(estimator, LogisticRegression):
        cat_enc: OneHotEncoder | OrdinalEncoder = OneHotEncoder(handle_unknown="ignore", sparse_output=False)
        num_enc: StandardScaler | str = StandardScaler()
    else:
        # Unknown categories at serving time become NaN, which HistGradientBoosting routes as missing.
        cat_enc = OrdinalEncoder(
            handle_unknown="use_encoded_value", unknown_value=np.nan, encoded_missing_value=np.nan, dtype=np.float64
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


def bands(values: pd.Series, bins: list[float]) -> pd.Series:
    """Left-closed bands like ``[16, 25)``; values outside the edges become ``other``."""
    labels = [f"[{_num(lo)}, {_num(hi)})" for lo, hi in zip(bins[:-1], bins[1:], strict=True)]
    banded = pd.cut(values, bins=bins, right=False, labels=labels)
    return banded.astype(str).where(banded.notna(), "other")


def _num(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else str(x)


def slice_groups(df: pd.DataFrame, contract: Contract) -> dict[str, pd.Series]:
    """One grouping series per sensitive attribute (binned when the contract gives bins)."""
    out = {}
    for name, attr in contract.sensitive.items():
        out[name] = bands(df[name], attr.bins) if attr.bins is not None else df[name].astype(str)
    return out
