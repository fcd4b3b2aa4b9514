"""A fork's day one, for real: swap in another dataset the README's way, then run the template's own tests.

The repository is copied, its example data replaced by generated files, the contract drafted with
``make contract``, a few config lines edited as the README says, ``dvc add data``, ``make repro``,
``make golden``, and then ``make test`` (lint and the whole default suite) in the copy: it must pass
with no test edited. Three forks: an income table (text categories, blanks, no time column, text id
and target), five times the example's rows with the contract as drafted, and daily churn events
(an ISO date split by period, text ids, booleans, blanks in text and int columns, a yes/no target).
Slow (the copy's own suite runs): ``make test-all``.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from mlpipe.config import parse_contract
from mlpipe.core.synth import synthesise
from tests.datasets import INCOME

pytestmark = [pytest.mark.integration, pytest.mark.slow]
ROOT = Path(__file__).resolve().parents[1]
VENV = Path(sys.executable).parent.parent
SKIP = {".git", ".venv", "data", "artifacts", "models", "reports", "logs", ".cache", ".deploy", "__pycache__",
        ".pytest_cache", ".mypy_cache", ".ruff_cache", "cache", "tmp"}  # fmt: skip


def sh(repo: Path, *cmd: str) -> str:
    # the fork's own package first: the shared venv's editable install points at this checkout
    env = {**os.environ, "PYTHONPATH": str(repo / "src") if (repo / "src").is_dir() else "", "CI": "true"}
    res = subprocess.run(cmd, cwd=repo, env=env, capture_output=True, text=True, check=False)
    assert res.returncode == 0, f"{' '.join(cmd)} exited {res.returncode}\n{res.stdout[-6000:]}\n{res.stderr[-4000:]}"
    return res.stdout + res.stderr


def make(repo: Path, *args: str) -> str:
    # -o: the shared .venv counts as installed, so make never reinstalls it from the copy
    return sh(repo, "make", f"VENV={VENV}", "-o", f"{VENV}/.installed", *args)


def income(data: Path) -> None:
    """Three exports of one table: no time column, text categories with blanks, a text id and target."""
    contract = parse_contract(INCOME)
    rows = synthesise(contract, 6000, seed=11, positive_rate=0.3)
    rows.insert(0, "person_id", [f"P-{i:06d}" for i in range(len(rows))])  # a text key instead of a number
    rows = rows.drop(columns=["person"])
    for i in range(3):
        rows.iloc[i * 2000 : (i + 1) * 2000].to_csv(data / f"export_{i + 1}.csv", index=False)


def large(data: Path) -> None:
    """Five times the example's rows (700,000) in ten parquet files: the drafted contract as it comes."""
    contract = parse_contract(INCOME)
    for i in range(10):
        rows = synthesise(contract, 70_000, seed=100 + i, positive_rate=0.3, first_id=1 + i * 70_000)
        rows.to_parquet(data / f"batch_{i:02d}.parquet", index=False)


def churn(data: Path) -> None:
    """Eight quarterly CSVs of daily events (30,000 rows): text ids ``C-000123``, an ISO date, booleans,
    blanks in a text and an int column, a yes/no target."""
    rng = np.random.default_rng(5)
    n = 30_000
    days = pd.date_range("2023-01-01", "2024-12-31", freq="D")
    date = np.sort(rng.choice(days, n))
    tenure = rng.integers(0, 72, n)
    charges = np.round(rng.uniform(18, 120, n), 2)
    plan = rng.choice(["basic", "plus", "premium"], n, p=[0.5, 0.3, 0.2])
    contract = rng.choice(["monthly", "one_year", "two_year"], n, p=[0.55, 0.25, 0.2])
    paperless = rng.random(n) < 0.6
    partner = rng.random(n) < 0.45
    age = rng.integers(18, 90, n)
    calls = rng.poisson(1.5, n).clip(0, 9)
    # as churn tends to be: most in the first months, on month-to-month contracts with high bills, and
    # after a third support call (thresholds and interactions a tree model finds and a linear one cannot)
    early = tenure < 6
    score = (1.6 * early - 0.02 * tenure + 1.4 * ((contract == "monthly") & (charges > 80)) + 0.9 * (calls >= 3)
             - 0.5 * partner + 0.3 * paperless + 0.6 * ((age < 25) | (age > 75))
             + rng.logistic(0, 0.6, n) - 1.3)  # fmt: skip
    df = pd.DataFrame({
        "customer_id": [f"C-{i:06d}" for i in range(n)], "event_date": pd.DatetimeIndex(date).strftime("%Y-%m-%d"),
        "tenure_months": tenure, "monthly_charges": charges, "plan": plan, "contract": contract,
        "paperless_billing": paperless, "has_partner": partner, "age": age, "support_calls": calls,
        "churned": np.where(score > 0, "yes", "no"),
    })  # fmt: skip
    df["plan"] = df["plan"].astype(object).where(rng.random(n) > 0.03, None)  # blanks in a text column...
    df["age"] = df["age"].astype("Int64").mask(rng.random(n) <= 0.05)  # ...and in an int column
    quarter = pd.PeriodIndex(pd.to_datetime(df["event_date"]), freq="Q").astype(str)
    for q, part in df.groupby(quarter):
        part.to_csv(data / f"churn_{q}.csv", index=False)


FORKS = {
    "income": (income, "income"),
    "large_drafted": (large, "income"),
    "churn_dates": (churn, "churned"),
}


@pytest.mark.parametrize("dataset", sorted(FORKS))
def test_a_fork_with_its_own_data_passes_its_own_test_suite(tmp_path: Path, dataset: str) -> None:
    fork = tmp_path / "fork"
    shutil.copytree(ROOT, fork, ignore=lambda d, names: [n for n in names if n in SKIP or n.endswith(".egg-info")])
    (fork / "models").mkdir()
    sh(fork, "git", "init", "-q", "-b", "main")
    sh(fork, "git", "config", "user.email", "fork@example.com")
    sh(fork, "git", "config", "user.name", "fork")

    # 1. their files into data/
    write, target = FORKS[dataset]
    (fork / "data").mkdir()
    write(fork / "data")
    (fork / "data.dvc").unlink()

    # 2. make contract drafts the contract; it refuses to overwrite the example's without FORCE
    refused = subprocess.run(["make", f"VENV={VENV}", "-o", f"{VENV}/.installed", "contract", "DATA=data",
                              f"TARGET={target}"], cwd=fork, capture_output=True, text=True, check=False)  # fmt: skip
    assert refused.returncode != 0
    assert "--force" in refused.stderr + refused.stdout
    make(fork, "contract", "DATA=data", f"TARGET={target}", "FORCE=1")
    text = (fork / "contract.yaml").read_text()
    drafted = yaml.safe_load(text)
    params = yaml.safe_load((fork / "params.yaml").read_text())
    if dataset == "income":
        assert drafted["id"] == "person_id"
        assert drafted["columns"]["person_id"] == {"dtype": "str"}
        assert drafted["positive"] == ">50K"
        assert drafted["columns"]["workclass"]["nullable"] is True
    if dataset == "churn_dates":
        assert drafted["id"] == "customer_id"
        assert drafted["time"] == "event_date"  # a daily date: the time column, not a text feature
        assert "event_date" not in drafted["features"]
        assert drafted["positive"] == "yes"
        assert drafted["columns"]["age"]["nullable"] is True
        assert drafted["columns"]["paperless_billing"]["dtype"] == "bool"
        period = re.search(r"split\.period: (\w+)", text)
        assert period is not None, "the draft's notes say which split.period to set"
        params["split"]["period"] = period.group(1)

    # 3. review: the README's edits (sensitive attributes, the split, the gate's bars, no example section)
    if "sex" in drafted["columns"]:
        drafted["sensitive"] = {"sex": {}}
    (fork / "contract.yaml").write_text(yaml.safe_dump(drafted, sort_keys=False))
    del params["example_data"]
    params["split"]["strategy"] = "temporal" if drafted.get("time") else "stratified"
    params["gate"].update(minimums={}, maximums={}, max_slice_gap={})
    (fork / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))

    # 4. track the data, run the pipeline, re-record the golden rows, commit
    sh(fork, str(VENV / "bin/dvc"), "add", "-q", "data")
    make(fork, "repro")
    make(fork, "golden")
    sh(fork, "git", "add", "-A")
    sh(fork, "git", "commit", "-qm", "our data")

    # 5. the template's own suite, untouched, on the fork's data
    out = make(fork, "test")
    assert " passed" in out
    assert " failed" not in out
    assert "error" not in out.split("short test summary info")[-1].lower()
