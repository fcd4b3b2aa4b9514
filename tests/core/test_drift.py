from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from mlpipe.config import MonitorParams
from mlpipe.core.drift import categorical_drift, numeric_drift, prediction_drift
from mlpipe.core.monitor import bar_svg, metric_drops, status, verdict

pytestmark = pytest.mark.unit
M = MonitorParams(max_metric_drop={"roc_auc": 0.02, "log_loss": 0.01})
rng = np.random.default_rng(0)


def test_same_distribution_is_stable() -> None:
    a, b = rng.normal(size=20_000), rng.normal(size=20_000)
    d = numeric_drift("x", a, b, M)
    assert not d.drifted
    assert d.psi < 0.01
    assert status(d, M) == "stable"


def test_a_real_shift_drifts_with_reasons() -> None:
    d = numeric_drift("x", rng.normal(size=20_000), rng.normal(0.5, 1, size=20_000), M)
    assert d.drifted
    assert any(r.startswith("PSI") for r in d.reasons)
    assert any("effect" in r for r in d.reasons)
    assert len(d.bins) == len(d.reference) == len(d.window) == 10


def test_large_samples_make_tiny_shifts_significant_but_not_drift() -> None:
    n = 400_000
    d = numeric_drift("x", rng.normal(size=n), rng.normal(0.03, 1, size=n), M)
    assert d.p_value < M.alpha
    assert not d.drifted
    assert status(d, M) == "shifted (significant, small)"


def test_categorical_shift_and_new_categories() -> None:
    ref = pd.Series(["a"] * 5000 + ["b"] * 5000)
    same = categorical_drift("c", ref, pd.Series(["a"] * 500 + ["b"] * 500), M)
    assert not same.drifted
    moved = categorical_drift("c", ref, pd.Series(["a"] * 300 + ["b"] * 500 + ["new"] * 200), M)
    assert moved.drifted
    assert "new" in moved.bins
    assert moved.effect > 0.1  # Cramér's V


def test_prediction_drift_uses_its_own_threshold() -> None:
    ref = rng.beta(2, 2, size=10_000)
    cur = np.clip(ref + 0.1, 0, 1)
    loose = M.model_copy(update={"prediction_psi": 5.0, "min_effect": 0.9})
    assert not prediction_drift(ref, cur, loose).drifted
    assert prediction_drift(ref, cur, M).drifted


def test_metric_drops_respect_direction_and_bounds() -> None:
    drops = metric_drops({"roc_auc": 0.90, "log_loss": 0.40}, {"roc_auc": 0.87, "log_loss": 0.405}, M)
    assert drops["roc_auc"]["drop"] == pytest.approx(0.03)
    assert drops["roc_auc"]["alert"]
    assert drops["log_loss"]["drop"] == pytest.approx(0.005)  # higher log loss is worse
    assert not drops["log_loss"]["alert"]


def test_verdict() -> None:
    stable = numeric_drift("x", rng.normal(size=5000), rng.normal(size=5000), M)
    assert verdict(100, [stable], stable, 0, {}, M) == {
        "alert": False,
        "judged": False,
        "reasons": ["only 100 rows (< 500): reported, not judged"],
    }
    assert not verdict(5000, [stable], stable, 0, {}, M)["alert"]
    v = verdict(5000, [stable], stable, 2, {}, M, {"sex": 0.09}, {"sex": 0.05})
    assert v["alert"]
    assert v["reasons"] == [
        "2 data-quality expectation(s) failed (> 0)",
        "slice gap for sex is 0.0900 (> 0.05, the gate's bound)",
    ]


def test_bar_svg_is_an_svg_with_one_pair_of_bars_per_bin() -> None:
    d = categorical_drift("c<1>", pd.Series(["a", "b"] * 100), pd.Series(["a"] * 150 + ["b"] * 50), M)
    svg = bar_svg(d)
    assert svg.startswith("<svg")
    assert svg.rstrip().endswith("</svg>")
    assert svg.count("<rect") == 4
    assert "c&lt;1&gt;" in svg


@pytest.mark.parametrize("seed", range(6))
def test_counts_from_parts_give_scipys_ks_and_the_whole_windows_figures(seed: int) -> None:
    """Ties, values the reference never saw, unequal sizes: D exactly scipy's, p its asymptotic one."""
    from scipy import stats

    from mlpipe.core.drift import ks_from_counts, numeric_counts, numeric_drift_from, numeric_reference

    rng = np.random.default_rng(seed)
    ref = rng.integers(0, 20, 800).astype(float) if seed % 2 else rng.normal(size=900)
    cur = np.concatenate([rng.integers(0, 25, 300).astype(float), rng.normal(3, 2, 400).round(1), [np.nan] * 5])
    r = numeric_reference(ref, M)
    parts = [numeric_counts(r, p) for p in np.array_split(cur, 4)]
    total = parts[0] + parts[1] + parts[2] + parts[3]
    d, p = ks_from_counts(r, total)
    expected = stats.ks_2samp(ref, cur[~np.isnan(cur)], method="asymp")
    assert d == float(expected.statistic)
    assert p == float(expected.pvalue)
    assert numeric_drift_from("x", r, total, M) == numeric_drift("x", ref, cur, M)


def test_a_mean_from_exact_sums_is_the_same_however_the_values_are_cut() -> None:
    from fractions import Fraction

    from mlpipe.core.drift import add_exact, exact_mean, exact_sum

    x = np.random.default_rng(3).random(10_001) ** 3
    whole = exact_mean(exact_sum(x), len(x))
    parts: dict[int, int] = {}
    for p in np.array_split(x[::-1], 9):
        parts = add_exact(parts, exact_sum(p))
    assert exact_mean(parts, len(x)) == whole == float(sum(map(Fraction, x)) / len(x))
