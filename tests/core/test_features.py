from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from mlpipe.config import Contract, HistGradientBoosting, LogisticRegression, Prior, parse_contract
from mlpipe.core.features import TARGET, bands, encode_columns, is_positive, prepare, slice_groups
from mlpipe.core.model import build_estimator, positive_proba
from mlpipe.core.synth import synthesise, target_labels
from tests.datasets import INCOME, SENSORS

pytestmark = pytest.mark.unit


def test_prepare_maps_codes_to_labels_and_target_to_01(sample: pd.DataFrame, contract: Contract) -> None:
    out = prepare(sample, contract)
    for name in contract.features:
        col = contract.columns[name]
        present = out[name].dropna()
        if col.labels is not None:
            assert set(present) <= set(col.labels.values()), name
        elif col.categorical:
            assert all(isinstance(v, str) for v in present), name
        else:
            assert out[name].dtype == np.float64, name
    assert set(out[TARGET]) == {0, 1}
    expected = sample.sort_values(contract.id)[contract.target].to_numpy() == contract.positive
    assert (out[TARGET].to_numpy() == expected).all()
    assert out[contract.id].is_monotonic_increasing


@pytest.mark.parametrize(
    ("written", "positive", "expected"),
    [
        (["true", "false", "TRUE"], True, [1, 0, 1]),
        ([True, False, True], True, [1, 0, 1]),
        ([1, 0, 1], True, [1, 0, 1]),
        ([">50K", "<=50K", ">50K"], ">50K", [1, 0, 1]),
        (["yes", "no", "no"], "yes", [1, 0, 0]),
        ([0, 1, 1], 1, [0, 1, 1]),
    ],
)
def test_any_two_target_labels(written: list[object], positive: object, expected: list[int]) -> None:
    dtype = "bool" if isinstance(positive, bool) else "str" if isinstance(positive, str) else "int"
    columns = {"i": {"dtype": "int"}, "x": {"dtype": "float"}, "y": {"dtype": dtype}}
    c = parse_contract(
        {"name": "t", "id": "i", "target": "y", "positive": positive, "features": ["x"], "columns": columns}
    )
    assert is_positive(pd.Series(written, dtype=object), c).astype(int).tolist() == expected


def test_missing_values_stay_missing_and_booleans_are_one_spelling() -> None:
    c = parse_contract(SENSORS)
    raw = pd.DataFrame(
        {"maintained": [True, "false", None, 1], "line": [1, 2, None, 3], "vibration": [1.5, None, 2.0, 3.0]}
    )
    raw["shift"] = pd.array([1, None, 3, 2], dtype="Int64")
    out = encode_columns(raw, c, ["maintained", "line", "vibration", "shift"])
    assert out["maintained"].tolist()[:2] == ["true", "false"]
    assert out["maintained"].isna().tolist() == [False, False, True, False]
    assert out["line"].tolist()[:2] == ["North", "South"]
    assert out["line"].isna().sum() == 1
    assert out["vibration"].isna().sum() == 1
    assert out["shift"].dtype == np.float64
    assert out["shift"].isna().sum() == 1


def test_bands_are_left_closed_with_other_outside() -> None:
    got = bands(pd.Series([0, 15, 16, 64, 65, 120]), [0, 16, 65, 100])
    assert got.tolist() == ["[0, 16)", "[0, 16)", "[16, 65)", "[16, 65)", "[65, 100)", "other"]


def test_slice_groups_follow_the_contract(sample: pd.DataFrame, contract: Contract) -> None:
    groups = slice_groups(prepare(sample, contract), contract)
    assert set(groups) == set(contract.sensitive)
    for name, attr in contract.sensitive.items():
        if attr.bins is not None:
            assert (groups[name].str.startswith("[") | (groups[name] == "other")).all()


@pytest.mark.parametrize(
    "spec",
    [
        HistGradientBoosting(kind="hist_gradient_boosting", max_iter=20),
        LogisticRegression(kind="logistic_regression"),
        Prior(kind="prior"),
    ],
    ids=lambda s: s.kind,
)
@pytest.mark.parametrize("dataset", ["repository", "income"])
def test_every_estimator_fits_and_survives_unseen_categories_and_missing_values(
    spec: HistGradientBoosting | LogisticRegression | Prior, dataset: str, sample: pd.DataFrame, contract: Contract
) -> None:
    if dataset == "income":  # text categories with nulls, a text target
        contract = parse_contract(INCOME)
        sample = synthesise(contract, 1000, seed=1)
    df = prepare(sample, contract)
    model = build_estimator(spec, contract, seed=0).fit(df[contract.features], df[TARGET])
    unseen = df[contract.features].head(5).copy()
    cat, _ = contract.feature_kinds()
    for name in cat:
        unseen[name] = "A category nobody has seen"
    p = positive_proba(model, unseen)
    assert p.shape == (5,)
    assert np.isfinite(p).all()
    assert ((p >= 0) & (p <= 1)).all()


def test_synthesised_rows_follow_the_contract_and_carry_a_signal() -> None:
    c = parse_contract(INCOME)
    df = synthesise(c, 2000, seed=0)
    assert list(df.columns) == list(c.columns)
    assert df[c.id].is_unique
    assert 0.03 < df["workclass"].isna().mean() < 0.08
    assert set(df["workclass"].dropna()) <= set(c.columns["workclass"].allowed or [])
    assert df["age"].between(17, 90).all()
    assert set(df[c.target]) == set(target_labels(c))
    assert (df[c.target] == c.positive).mean() == pytest.approx(0.5, abs=0.01)
    s = parse_contract(SENSORS)
    frame = synthesise(s, 2000, seed=0, periods=4)
    assert frame["month"].nunique() == 4
    assert 40 <= frame["temperature"].mean() <= 80  # the contract's extra expectation is honoured
    hist = build_estimator(HistGradientBoosting(kind="hist_gradient_boosting", max_iter=30), c, 0)
    prepared = prepare(df, c)
    train, test = prepared.iloc[:1500], prepared.iloc[1500:]
    hist.fit(train[c.features], train[TARGET])
    from sklearn.metrics import roc_auc_score

    assert roc_auc_score(test[TARGET], positive_proba(hist, test[c.features])) > 0.7


def test_a_missing_boolean_stays_missing_whatever_pandas_type_holds_it() -> None:
    c = parse_contract(SENSORS)
    as_read = pd.DataFrame({"maintained": pd.array([True, None, False], dtype="boolean")})  # parquet's nullable bool
    as_sent = pd.DataFrame({"maintained": [True, None, False]})  # a request
    a, b = (encode_columns(f, c, ["maintained"])["maintained"].tolist() for f in (as_read, as_sent))
    assert a[0] == b[0] == "true"
    assert a[2] == b[2] == "false"
    assert pd.isna(a[1])
    assert pd.isna(b[1])


def test_synthesised_ids_continue_where_asked_for_text_and_integer_ids() -> None:
    for spec in (INCOME, SENSORS):  # an integer id, a text id
        c = parse_contract(spec)
        old, new = synthesise(c, 500, seed=1), synthesise(c, 500, seed=2, first_id=10**6)
        assert not set(old[c.id]) & set(new[c.id])
        assert pd.concat([old, new])[c.id].is_unique


def test_a_text_column_comes_out_the_same_whatever_pandas_holds_it_in() -> None:
    c = parse_contract(INCOME)
    names = [n for n in c.features if c.columns[n].categorical and c.columns[n].labels is None]
    names = [n for n in names if c.columns[n].dtype != "bool"]
    assert names, "the dataset has a plain categorical feature"
    values = ["b", None, "a", "b", np.nan]
    outs = [
        encode_columns(pd.DataFrame({n: pd.Series(values, dtype=dtype) for n in names}), c, names)
        for dtype in ("str", object, "string")
    ]
    for out in outs:
        for n in names:
            got = out[n].tolist()
            assert got[0] == got[3] == "b"
            assert got[2] == "a"
            assert all(type(v) is float and np.isnan(v) for v in (got[1], got[4]))  # NaN, never pd.NA or None
