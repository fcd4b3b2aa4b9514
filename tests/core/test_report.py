"""The PR report against golden Markdown. Re-record with UPDATE_GOLDEN=1 after an intended change.

The report's inputs are built here from a dataset of the tests' own (``tests.datasets.INCOME``) and
default params, so the golden files do not change when a fork swaps in its data.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from mlpipe.config import Contract, Params, parse_contract, parse_params
from mlpipe.core.profile import data_diff, profile, psi
from mlpipe.core.report import ReportInputs, build
from mlpipe.core.synth import synthesise
from tests.datasets import INCOME

pytestmark = pytest.mark.unit
GOLDEN = Path(__file__).resolve().parents[1] / "golden"


def check_golden(name: str, text: str) -> None:
    path = GOLDEN / name
    if os.environ.get("UPDATE_GOLDEN") == "1":
        path.write_text(text)
    assert text == path.read_text(), f"{name} differs; re-record with UPDATE_GOLDEN=1 if intended"


METRICS = {"roc_auc": 0.90, "pr_auc": 0.88, "f1": 0.83, "accuracy": 0.82, "log_loss": 0.38, "brier": 0.12}
BASELINE = {"roc_auc": 0.87, "pr_auc": 0.84, "f1": 0.81, "accuracy": 0.80, "log_loss": 0.42, "brier": 0.14}
SLICES = {
    "metric": "accuracy",
    "min_size": 100,
    "attributes": {"sex": {"gap": 0.04, "best": "Male", "worst": "Female", "groups": {}, "skipped": {}}},
}


def _plots(shift: float, features: int = 3) -> dict[str, Any]:
    """The evaluate stage's plot files, small and hand-made; a larger ``shift`` is a better model."""
    return {
        "roc": [{"fpr": 0.0, "tpr": 0.0}, {"fpr": 0.1, "tpr": 0.5 + shift}, {"fpr": 0.4, "tpr": 0.8 + shift / 2},
                {"fpr": 1.0, "tpr": 1.0}],
        "precision_recall": [{"recall": 0.1, "precision": 0.9 + shift / 2}, {"recall": 0.5, "precision": 0.8 + shift},
                             {"recall": 0.5, "precision": 0.7}, {"recall": 1.0, "precision": 0.5}],
        "calibration": [{"bin": b, "mean_predicted": b / 10 + 0.05, "fraction_positive": min(b / 10 + shift, 1.0),
                         "count": 100} for b in range(10)],
        "importance": [{"feature": f"feature_{i}", "importance": 0.1 / (i + 1) - shift / 10, "std": 0.01}
                       for i in range(features)],
    }  # fmt: skip


def _metrics(model: dict[str, float], gaps: dict[str, float]) -> dict[str, Any]:
    return {"model": model, "baseline": BASELINE, "test": {"rows": 1000}, "slice_gaps": gaps}


def _validation(df: pd.DataFrame, contract: Contract, sha: str, failed: list[dict[str, Any]] | None = None) -> dict:  # type: ignore[type-arg]
    checks = failed or []
    return {
        "success": not checks,
        "evaluated": 63,
        "failed": len(checks),
        "rows": len(df),
        "data_sha256": sha,
        "checks": checks,
        "profile": profile(df, contract, {f"part_{y}.csv": int(n) for y, n in df["part"].value_counts().items()}),
    }


@pytest.fixture(scope="module")
def contract() -> Contract:
    return parse_contract(INCOME)


@pytest.fixture(scope="module")
def params() -> Params:
    return parse_params({"train": {"model": {"kind": "hist_gradient_boosting"}, "baseline": {"kind": "prior"}}})


@pytest.fixture(scope="module")
def frames(contract: Contract) -> tuple[pd.DataFrame, pd.DataFrame]:
    df = synthesise(contract, 2000, seed=0).assign(part=[1] * 1000 + [2] * 1000)
    base = df[df["part"] == 1]
    head = df.copy()
    head.loc[head["part"] == 2, "age"] = (head.loc[head["part"] == 2, "age"] + 15).clip(upper=90)
    return base, head


def test_report_for_a_regressing_pr_with_new_data(
    frames: tuple[pd.DataFrame, pd.DataFrame], contract: Contract, params: Any
) -> None:
    base, head = frames
    worse = METRICS | {"roc_auc": 0.89}
    gate = {
        "passed": False,
        "reasons": ["roc_auc 0.8900 vs reference 0.9000: delta -0.0100 [-0.0150, -0.0050], tolerance 0.0050"],
        "notes": ["reference: the main model re-scored on this test set (paired bootstrap)"],
        "deltas": {"roc_auc": {"reference": 0.90, "delta": -0.01, "low": -0.015, "high": -0.005}},
    }
    new_params = params.model_dump(mode="json")
    new_params["train"]["model"]["max_iter"] = 50
    failed = [{"expectation": "expect_column_values_to_be_in_set", "column": "workclass", "success": False,
               "file": "part_2.csv", "unexpected_count": 2, "examples": ["Retired", "Retired"]}]  # fmt: skip
    text = build(
        ReportInputs(
            base="main",
            params=new_params,
            metrics=_metrics(worse, {"sex": 0.05}),
            validation=_validation(head, contract, "b" * 64, failed),
            slices=SLICES,
            gate=gate,
            base_params=params.model_dump(mode="json"),
            base_metrics=_metrics(METRICS, {"sex": 0.04}),
            base_validation=_validation(base, contract, "a" * 64),
            plots=_plots(0.0),
            base_plots=_plots(0.1),
        )
    )
    assert "❌ Gate failed" in text
    assert "| `train.model.max_iter` | 200 | 50 |" in text
    assert "| `part_2.csv` | – | 1000 |" in text
    assert text.count("```mermaid") == 4
    assert '  line "main" [' in text
    assert "the run's `report` artifact" in text
    check_golden("report_regression.md", text)


def _head_only(head: pd.DataFrame, contract: Contract, params: Any, **more: Any) -> ReportInputs:
    """The report's inputs for this PR alone; ``more`` adds the gate and the base's side."""
    return ReportInputs(
        base="main",
        params=params.model_dump(mode="json"),
        metrics=_metrics(METRICS, {"sex": 0.04}),
        validation=_validation(head, contract, "b" * 64),
        slices=SLICES,
        **more,
    )


def test_report_when_the_base_has_no_pipeline_yet(
    frames: tuple[pd.DataFrame, pd.DataFrame], contract: Contract, params: Any
) -> None:
    _, head = frames
    text = build(_head_only(head, contract, params, plots=_plots(0.0)))
    assert "No metrics on `main` to compare with" in text
    assert "_No plots on `main` to compare with: this PR's curves only._" in text
    assert '  line "main"' not in text
    check_golden("report_no_base.md", text)


def test_the_report_stays_far_below_a_github_comment_with_500_long_feature_names(
    frames: tuple[pd.DataFrame, pd.DataFrame], contract: Contract, params: Any
) -> None:
    _, head = frames
    many = _plots(0.0, features=500)
    long_name = 'a feature with a long [bracketed] "quoted" name ' * 3
    for i, row in enumerate(many["importance"]):
        row["feature"] = f"{long_name}{i}"
    base = _plots(0.1, features=500)
    text = build(_head_only(head, contract, params, plots=many, base_plots=base))
    assert "Permutation importance, top 15 of 500 features" in text
    assert len(text) < 65_536 // 4, "GitHub rejects comments over 65,536 characters; the charts must not approach it"


def test_psi_and_data_diff(frames: tuple[pd.DataFrame, pd.DataFrame], contract: Contract) -> None:
    assert psi([10, 10], [10, 10]) == 0
    assert psi([90, 10], [10, 90]) > 1
    base, head = frames
    diff = data_diff(profile(base, contract, {}), profile(head.drop(columns=["occupation"]), contract, {}))
    assert diff["schema"]["removed"] == ["occupation"]
    assert diff["shift"]["age"]["psi"] > 0.1
    assert diff["shift"]["sex"]["psi"] < 0.05


def test_a_delta_whose_interval_covers_zero_is_no_significant_change(
    frames: tuple[pd.DataFrame, pd.DataFrame], contract: Contract, params: Any
) -> None:
    _, head = frames
    gate = {"passed": True, "reasons": [], "notes": [],
            "deltas": {"roc_auc": {"reference": 0.90, "delta": 0.001, "low": -0.004, "high": 0.006},
                       "log_loss": {"reference": 0.38, "delta": 0.02, "low": 0.01, "high": 0.03}}}  # fmt: skip
    base = {"base_params": params.model_dump(mode="json"), "base_metrics": _metrics(METRICS, {"sex": 0.04})}
    text = build(_head_only(head, contract, params, gate=gate, **base))
    assert "| roc_auc | 0.9000 | 0.9000 | +0.0010 (no significant change) |" in text
    assert "+0.0200 🔴" in text  # log_loss went up, and its interval excludes 0


def test_no_deltas_between_different_test_sets(
    frames: tuple[pd.DataFrame, pd.DataFrame], contract: Contract, params: Any
) -> None:
    """A fork's first PR with its own data: the base's figures are shown, never subtracted (the gate says
    the same), so no red arrows against the example's metrics."""
    _, head = frames
    inputs = _head_only(head, contract, params, base_params=params.model_dump(mode="json"),
                        base_metrics=_metrics(METRICS | {"roc_auc": 0.99}, {"sex": 0.04}))  # fmt: skip
    inputs.metrics["test"]["sha256"] = "b" * 64
    assert inputs.base_metrics is not None
    inputs.base_metrics["test"]["sha256"] = "a" * 64
    text = build(inputs)
    assert f"| roc_auc | 0.9900 | {METRICS['roc_auc']:.4f} | – | – |" in text
    assert "🔴" not in text
    assert "🟢" not in text
    assert "measured a different test set (the data changed)" in text
