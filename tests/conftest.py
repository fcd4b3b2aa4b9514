"""Shared fixtures: the repo's own config, the real example data, and a small sample of it."""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd
import pytest

from mlpipe.config import Contract, Params
from mlpipe.io.files import load_config, read_csv_dir
from mlpipe.io.pipeline import pipeline_paths

ROOT = Path(__file__).resolve().parents[1]
pytest_plugins = ["tests.servers"]  # the served pipeline fixture, for serving and batch-scoring tests
os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
os.environ.setdefault("DVC_NO_ANALYTICS", "1")


@pytest.fixture(scope="session")
def root() -> Path:
    return ROOT


@pytest.fixture(scope="session")
def paths() -> dict[str, str]:
    return pipeline_paths(ROOT / "dvc.yaml")


@pytest.fixture(scope="session")
def config(paths: dict[str, str]) -> tuple[Params, Contract]:
    return load_config(ROOT / paths["params"], ROOT / paths["contract"])


@pytest.fixture(scope="session")
def params(config: tuple[Params, Contract]) -> Params:
    return config[0]


@pytest.fixture(scope="session")
def contract(config: tuple[Params, Contract]) -> Contract:
    return config[1]


@pytest.fixture(scope="session")
def raw(paths: dict[str, str]) -> pd.DataFrame:
    """The real example data (``make test`` materialises it first)."""
    data_dir = ROOT / paths["data"]
    if not data_dir.is_dir():
        pytest.fail(f"{data_dir} is missing: run `make data` (make test does it for you)")
    df, problems, _ = read_csv_dir(data_dir)
    assert not problems, problems
    return df


@pytest.fixture(scope="session")
def raw_sample(raw: pd.DataFrame) -> pd.DataFrame:
    """A fixed, stratified-by-year sample of 1,000 rows per year for fast data tests."""
    return raw.groupby("year", group_keys=False).sample(n=1000, random_state=0).sort_values("id")
