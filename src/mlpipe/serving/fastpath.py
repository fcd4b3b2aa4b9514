"""An exact shortcut through a fitted HistGradientBoosting Pipeline for the service's small calls.

``Pipeline.predict_proba`` on one row costs ~20 ms here, almost none of it arithmetic: pandas in
``model_input``, then two ColumnTransformers (ours, and the one HistGradientBoosting keeps inside to
re-encode categorical columns), each validating its input. This module builds the classifier's final
float matrix straight from the request's columns with per-column lookup tables, then runs the fitted
trees' own compiled ``predict`` (the very code ``predict_proba`` runs) and sums them in the same order.

Exactness is by construction, then checked: every table entry is computed by the generic path
itself (``encode_columns`` for a value never seen before, the fitted encoders for the categories),
and :meth:`FastPath.build` scores probe rows (every category, missing and unknown values, every
split threshold and its neighbours) both ways and returns ``None`` (the caller keeps the generic
path) unless every probability is bit-identical. Other estimators (the logistic baseline) return
``None`` too.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import FunctionTransformer, OrdinalEncoder

from mlpipe.config import Contract
from mlpipe.core.features import as_float, encode_columns, model_input
from mlpipe.core.model import positive_proba

log = logging.getLogger(__name__)

_UNKNOWN = "\x00mlpipe-unknown-category\x00"  # a category no encoder can have seen


# (model file sha256, contract) whose fast path matched its Pipeline on every probe, in this process
_EXACT: set[tuple[str, str]] = set()


class _Unsupported(Exception):
    """The Pipeline is not the layout this module reads: the caller keeps the generic path."""


def _need(condition: bool) -> None:
    if not condition:
        raise _Unsupported


@dataclass
class _Categorical:
    """One categorical feature: raw value -> the classifier's float.

    The cache keys values with their type: ``1``, ``1.0`` and ``True`` may become different text.
    """

    name: str
    by_text: dict[str, float]  # what encode_columns makes of a value -> the classifier's float
    unknown: float  # text the encoders never saw
    missing: float
    cache: dict[tuple[type, Any], float]

    def column(self, values: pd.Series, contract: Contract) -> np.ndarray:
        arr = values.to_numpy()
        out = np.full(len(arr), self.missing, dtype=np.float64)
        if arr.dtype.kind in "iuf":  # numbers: each distinct one looked up once, not a Python step a row
            rows = np.flatnonzero(~np.isnan(arr)) if arr.dtype.kind == "f" else np.arange(len(arr))
            distinct, first, where = np.unique(arr[rows], return_index=True, return_inverse=True)
            # indexing gives the array's own scalar type: the cache's keys are the row loop's below
            items = [(distinct[j], int(rows[first[j]])) for j in range(len(distinct))]
            out[rows] = np.asarray(self._lookup(values, items, contract))[where]
            return out
        present = np.flatnonzero(~pd.isna(arr)).tolist()
        out[present] = self._lookup(values, [(arr[i], i) for i in present], contract)
        return out

    def _lookup(self, values: pd.Series, items: list[tuple[Any, int]], contract: Contract) -> list[float]:
        """The code of each (value, a row holding it), from the cache or, for values not seen yet, from
        the generic path, all in one call (one per value made a model's start-up ~0.5 s)."""
        cache = self.cache
        codes: list[float] = []
        misses: dict[tuple[type, Any], list[int]] = {}
        for n, (v, row) in enumerate(items):
            key = (type(v), v)
            code = cache.get(key)
            if code is None:
                misses.setdefault(key, [row]).append(n)
            codes.append(self.missing if code is None else code)
        if misses:
            found = self._codes(values.iloc[[spots[0] for spots in misses.values()]], contract)
            for (key, spots), code in zip(misses.items(), found, strict=True):
                for n in spots[1:]:
                    codes[n] = code
                if len(cache) < 100_000:  # bounded: a flood of junk values must not grow memory
                    cache[key] = code
        return codes

    def _codes(self, some: pd.Series, contract: Contract) -> list[float]:
        """The generic path's text for these values (same dtype, encoded together: the text of each
        value depends on its own type and the column's dtype only), then the table."""
        texts = encode_columns(some.reset_index(drop=True).to_frame(self.name), contract, [self.name])[self.name]
        return [self.missing if pd.isna(text) else self.by_text.get(text, self.unknown) for text in texts.tolist()]


@dataclass
class FastPath:
    contract: Contract
    columns: list[_Categorical | str]  # the classifier's input columns, in its order (str: a numeric feature)
    classifier: HistGradientBoostingClassifier
    known_cat_bitsets: np.ndarray
    f_idx_map: np.ndarray
    positive: int | None  # column of the positive class in predict_proba, None when 1 is not a class

    @classmethod
    def build(cls, pipeline: Any, contract: Contract, file_sha256: str | None = None) -> FastPath | None:
        """The shortcut for this Pipeline, or None when it is not one this module knows or a probe differs.

        ``file_sha256``: the checked hash of the file the Pipeline was just loaded from. The same bytes
        give the same Pipeline, so its probes are compared once per process (~0.15 s a load: a test
        process loads the same model for every app it starts).
        """
        try:
            fast = cls._build(pipeline, contract)
        except _Unsupported:
            log.info("no fast scoring path for %s; using the Pipeline", type(pipeline[-1]).__name__)
            return None
        except Exception:  # an unexpected layout (another scikit-learn version): the generic path is exact
            log.warning("no fast scoring path for this model; using the Pipeline", exc_info=True)
            return None
        key = None if file_sha256 is None else (file_sha256, contract.model_dump_json())
        if key in _EXACT:
            return fast
        for missing in (True, False):  # with None a coded column is float, without it int: both are cached
            probes = fast.probe_rows(contract, missing)
            expected = positive_proba(pipeline, model_input(probes, contract)).view(np.int64)
            got = fast.proba(probes, threads=1).view(np.int64)
            if not np.array_equal(expected, got):
                bad = int(np.sum(expected != got))
                log.warning("fast scoring path differs on %d of %d probe rows; using the Pipeline", bad, len(probes))
                return None
        if key is not None:
            _EXACT.add(key)
        return fast

    @classmethod
    def _build(cls, pipeline: Any, contract: Contract) -> FastPath:
        _need(isinstance(pipeline, Pipeline) and len(pipeline.steps) == 2)
        ct, clf = pipeline[0], pipeline[-1]
        _need(isinstance(ct, ColumnTransformer) and isinstance(clf, HistGradientBoostingClassifier))
        # our ColumnTransformer's output columns: one per input column, from an OrdinalEncoder or passthrough
        outer: list[tuple[str, int | None]] = []  # (feature, its column in the ordinal encoder or None)
        encoder: OrdinalEncoder | None = None
        for name, trans, cols in ct.transformers_:
            if trans == "drop" or not len(cols):  # e.g. the encoder of a contract with no categorical feature
                continue
            if isinstance(trans, OrdinalEncoder) and encoder is None:
                encoder = trans
                outer += [(c, k) for k, c in enumerate(cols)]
            else:
                _need((isinstance(trans, FunctionTransformer) and trans.func is None) or trans == "passthrough")
                outer += [(c, None) for c in cols]
            _need(ct.output_indices_[name] == slice(len(outer) - len(cols), len(outer)))
        _need(clf.n_trees_per_iteration_ == 1)
        known, f_idx_map = clf._bin_mapper.make_known_categories_bitsets()
        classes = list(pipeline.classes_)
        positive = classes.index(1) if 1 in classes else None
        if clf._preprocessor is None:  # no categorical feature: the classifier takes our columns as they are
            _need(encoder is None and clf.is_categorical_ is None and clf.n_features_in_ == len(outer))
            return cls(contract, [name for name, _ in outer], clf, known, f_idx_map, positive)
        inner = clf._preprocessor  # HistGradientBoosting's own: categorical columns first, then the rest
        mask = np.asarray(clf.is_categorical_, dtype=bool)
        order = [*np.flatnonzero(mask).tolist(), *np.flatnonzero(~mask).tolist()]
        n_cat = int(mask.sum())
        numerical = inner.output_indices_["numerical"]
        none = numerical.start == numerical.stop and n_cat == len(outer)  # categories only: slice(0, 0)
        _need(
            len(mask) == len(outer)
            and inner.output_indices_["encoder"] == slice(0, n_cat)
            and (numerical == slice(n_cat, len(outer)) or none)
        )
        # categorical in the classifier exactly where our encoder's columns are
        _need(all(outer[j][1] is not None for j in order[:n_cat]) and all(outer[j][1] is None for j in order[n_cat:]))
        final = cls._category_floats(ct, inner, encoder, contract, outer, order[:n_cat])
        columns: list[_Categorical | str] = [*final, *(outer[j][0] for j in order[n_cat:])]
        return cls(contract, columns, clf, known, f_idx_map, positive)

    @staticmethod
    def _category_floats(
        ct: ColumnTransformer,
        inner: ColumnTransformer,
        encoder: OrdinalEncoder | None,
        contract: Contract,
        outer: list[tuple[str, int | None]],
        cat_cols: list[int],
    ) -> list[_Categorical]:
        """Each category's float as both fitted encoders give it: one probe frame through both."""
        assert encoder is not None
        cats = {outer[j][0]: [c for c in encoder.categories_[outer[j][1]] if not pd.isna(c)] for j in cat_cols}
        m = max(len(v) for v in cats.values()) + 2  # + an unknown and a missing row
        frame = {}
        for name in contract.features:
            if name in cats:
                values = [*cats[name], _UNKNOWN, np.nan]
                frame[name] = pd.Series(
                    [values[min(i, len(values) - 1)] for i in range(m - 2)] + values[-2:], dtype=object
                )
            else:
                frame[name] = pd.Series(np.zeros(m), dtype=np.float64)
        X = inner.transform(ct.transform(pd.DataFrame(frame)))
        out = []
        for k, j in enumerate(cat_cols):
            name = outer[j][0]
            col = X[:, k]
            by_text = {str(c): float(col[i]) for i, c in enumerate(cats[name])}
            out.append(_Categorical(name, by_text, float(col[m - 2]), float(col[m - 1]), {}))
        return out

    def probe_rows(self, contract: Contract, missing: bool = True) -> pd.DataFrame:
        """Raw rows that visit every category, missing and unknown values, and both sides of every split."""
        values: dict[str, list[Any]] = {}
        for j, c in enumerate(self.columns):
            if isinstance(c, str):
                nodes = np.concatenate([p.nodes for (p,) in self.classifier._predictors])
                used = nodes[(nodes["is_leaf"] == 0) & (nodes["is_categorical"] == 0) & (nodes["feature_idx"] == j)]
                t = np.unique(used["num_threshold"])
                vals = np.concatenate([t, np.nextafter(t, -np.inf), np.nextafter(t, np.inf), [0.0, -1.0, 1e300]])
                values[c] = [*vals.tolist(), *([None] if missing else [])]
            else:
                col = contract.columns[c.name]
                if col.labels is not None:
                    codes = list(col.labels)
                    ints = [k for k in codes if isinstance(k, int)]
                    unknown = [max(ints) + 1] if ints else []
                    raw: list[Any] = [*codes, *unknown]
                elif col.dtype == "bool":
                    raw = [True, False, "TRUE", "0"]
                else:
                    raw = [*c.by_text, _UNKNOWN]
                values[c.name] = [*raw, *([None] if missing else [])]
        n = max(len(v) for v in values.values())
        return pd.DataFrame({f: [values[f][i % len(values[f])] for i in range(n)] for f in contract.features})

    def matrix(self, raw: pd.DataFrame) -> np.ndarray:
        """The classifier's input, as ``inner.transform(ct.transform(model_input(raw)))`` would give it."""
        X = np.empty((len(raw), len(self.columns)), dtype=np.float64)
        for j, c in enumerate(self.columns):
            if isinstance(c, str):
                X[:, j] = as_float(raw[c])  # as encode_columns converts numbers
            else:
                X[:, j] = c.column(raw[c.name], self.contract)
        return X

    def proba(self, raw: pd.DataFrame, threads: int) -> np.ndarray:
        """Positive-class probabilities, summed tree by tree in the order ``_raw_predict`` sums them."""
        if self.positive is None:
            return np.zeros(len(raw))
        X = self.matrix(raw)
        clf = self.classifier
        raw_pred = np.zeros((len(raw), 1), dtype=clf._baseline_prediction.dtype, order="F")
        raw_pred += clf._baseline_prediction
        for (predictor,) in clf._predictors:
            raw_pred[:, 0] += predictor.predict(X, self.known_cat_bitsets, self.f_idx_map, threads)
        p: np.ndarray = clf._loss.predict_proba(raw_pred)
        return np.asarray(p[:, self.positive], dtype=np.float64)
