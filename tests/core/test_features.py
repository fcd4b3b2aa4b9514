from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from mlpipe.config import Contract, HistGradientBoosting, LogisticRegression, Prior
from mlpipe.core.features import TARGET, bands, prepare, slice_groups
from mlpipe.core.model import build_estimator, positive_proba

pytestmark = pytest.mark.unit


def test_prepare_maps_codes_to_labels_and_target_to_01(raw_sample: pd.DataFrame, contract: Contract) -> None:
    out = prepare(raw_sample, contract)
    assert set(out["SEX"]) == {"Male", "Female"}
    assert out["AGEP"].dtype == np.float64
    assert set(out[TARGET]) == {0, 1}
    assert (out[TARGET] == (raw_sample.sort_values("id")["employed"].to_numpy() == 1)).all()
    assert out["id"].is_monotonic_increasing
    assert list(out.columns[:2]) == ["id", "year"]


def test_bands_are_left_closed_with_other_outside() -> None:
    got = bands(pd.Series([0, 15, 16, 64, 65, 120]), [0, 16, 65, 100])
    assert got.tolist() == ["[0, 16)", "[0, 16)", "[16, 65)", "[16, 65)", "[65, 100)", "other"]


def test_slice_groups_follow_the_contract(raw_sample: pd.DataFrame, contract: Contract) -> None:
    groups = slice_groups(prepare(raw_sample, contract), contract)
    assert set(groups) == set(contract.sensitive)
    assert groups["AGEP"].str.startswith("[").all()


@pytest.mark.parametrize(
    "spec",
    [
        HistGradientBoosting(kind="hist_gradient_boosting", max_iter=20),
        LogisticRegression(kind="logistic_regression"),
        Prior(kind="prior"),
    ],
    ids=lambda s: s.kind,
)
def test_every_estimator_fits_and_survives_unseen_categories(
    spec: HistGradientBoosting | LogisticRegression | Prior, raw_sample: pd.DataFrame, contract: Contract
) -> None:
    df = prepare(raw_sample, contract)
    model = build_estimator(spec, contract, seed=0).fit(df[contract.features], df[TARGET])
    unseen = df[contract.features].head(5).copy()
    unseen["SCHL"] = "A category nobody has seen"
    p = positive_proba(model, unseen)
    assert p.shape == (5,)
    assert np.isfinite(p).all()
    assert ((p >= 0) & (p <= 1)).all()
