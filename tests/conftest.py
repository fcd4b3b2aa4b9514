"""Shared fixtures: the repo's own config, rows synthesised from its contract, and the real data.

The template's machinery is tested on rows synthesised from whatever ``contract.yaml`` says
(:mod:`mlpipe.core.synth`), so the suite passes unchanged after a fork swaps in its own data.
Tests about the data itself use ``raw`` (skipped, with one reason, when the data cannot be had);
tests about the example dataset are marked ``example`` and skipped once it is no longer in use.
"""

from __future__ import annotations

import gc
import os
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from mlpipe import tune_collector
from mlpipe.config import Contract, Params
from mlpipe.core.synth import honoured, synthesise
from mlpipe.io.files import data_files, load_config, read_data
from mlpipe.io.pipeline import DVC_YAML, PipelinePaths, pipeline_paths
from tests.datasets import EXAMPLE_NAME, sample_rows, uses_example

ROOT = Path(__file__).resolve().parents[1]
pytest_plugins = ["tests.servers", "tests.fake_github"]  # fixtures: the served pipeline; a fake GitHub API
os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
os.environ.setdefault("DVC_NO_ANALYTICS", "1")
# A test writes only under its tmp dir: run inside a GitHub job, the report and leaderboard tests would
# otherwise append fixture reports to the job's summary (tests that need these set their own).
for _github_file in ("GITHUB_STEP_SUMMARY", "GITHUB_OUTPUT", "GITHUB_ENV", "GITHUB_PATH"):
    os.environ.pop(_github_file, None)
NO_REAL_DATA = "the real data is not here (make data could not get it, e.g. a fork's pull request without secrets)"


def _config() -> tuple[Params, Contract]:
    paths = pipeline_paths(ROOT / DVC_YAML).under(ROOT)
    return load_config(paths.params, paths.contract)


# Tests that share something only one worker should start (a Dask cluster, a module-scoped fixture
# that trains a model or starts a server), by path: they all run on one pytest-xdist worker. Spread
# over two, each worker paid for the fixture: 3-7 s each, ~25 s a run. (xdist 3.8's own xdist_group
# marks tag node ids in a way pytest 9.2 no longer reads, so the grouping is done here, by the
# scheduler, from the node ids it sees.)
SHARED = {
    "tests/scale/": "dask cluster",
    **{
        module: module
        for module in (
            "tests/stages/test_train.py",  # trains on the real data, and on synthetic rows
            "tests/stages/test_train_reproducible.py",  # the reference training run
            "tests/serving/test_socket.py",  # a server
            "tests/serving/test_limits.py",
            "tests/serving/test_fuzz.py",
            "tests/serving/test_challenger.py",
            "tests/serving/test_fastpath.py",
            "tests/tasks/test_deploy.py",
            "tests/test_remote.py",  # an S3 server
            "tests/serving/test_image.py",  # a venv of the image's requirements
            # great-expectations runs once per distinct batch in a process: split over two workers,
            # the unchanged files of every layout ran twice (6 s of 47)
            "tests/stages/test_validate.py",
        )
    },
}


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Any:
    from xdist.scheduler import LoadScopeScheduling

    class SharedFirst(LoadScopeScheduling):  # type: ignore[misc]  # xdist ships no type information
        """``load`` scheduling, but each SHARED group is one unit of work, sent to one worker."""

        def _split_scope(self, nodeid: str) -> str:
            return next((group for prefix, group in SHARED.items() if nodeid.startswith(prefix)), nodeid)

    return SharedFirst(config, log)


# The longest journeys first (each 20-95 s on 2 cores): started last, one of them would leave the
# other worker idle at the end of the run. A stable sort: everything else keeps its order.
# Second come the two journeys that need no trained repository: xdist hands the first unit to one
# worker (which builds the run's one cold repository, ~13 s) and the second to the other, which would
# otherwise wait for it.
LONGEST_FIRST = (
    "tests/scale/",
    "tests/test_pipeline.py::test_another_dataset_needs_only_config",
    "tests/test_loop.py",
    "tests/test_pipeline.py",
    "tests/tasks/test_deploy.py",
    "tests/test_make_deploy.py",
    "tests/test_remote.py",
    "tests/serving/test_challenger.py",
    "tests/stages/test_validate.py",
)


def pytest_configure(config: pytest.Config) -> None:
    """The collector tuned as for a command (mlpipe.GC_THRESHOLDS): a worker allocates millions of short-lived
    objects in-process (great-expectations builds a metric graph per validation) on top of a heap of
    imported modules; young collections every 700 allocations took 7-12% of those tests' time."""
    tune_collector()


def pytest_collection_finish(session: pytest.Session) -> None:
    """What collection imported lives until the end: frozen, later collections no longer walk it."""
    gc.collect()
    gc.freeze()


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    def rank(item: pytest.Item) -> int:
        return next((i for i, prefix in enumerate(LONGEST_FIRST) if item.nodeid.startswith(prefix)), len(LONGEST_FIRST))

    items.sort(key=rank)
    params, contract = _config()
    if uses_example(params, contract):
        return
    skip = pytest.mark.skip(reason=f"about the example dataset ({EXAMPLE_NAME}), which this repository no longer uses")
    for item in items:
        if "example" in item.keywords:
            item.add_marker(skip)


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """``behaviour_check``: one test per check the contract declares (none declared: one skip)."""
    if "behaviour_check" in metafunc.fixturenames:
        checks = _config()[1].behaviour
        ids = [c.name for c in checks]
        values: list[Any] = list(checks) or [
            pytest.param(None, marks=pytest.mark.skip(reason="contract.yaml declares no behaviour"))
        ]
        metafunc.parametrize("behaviour_check", values, ids=ids or None)


@pytest.fixture(scope="session")
def root() -> Path:
    return ROOT


@pytest.fixture(scope="session")
def paths() -> PipelinePaths:
    """This repository's dvc.yaml paths as written (relative): ``paths.under(repo)`` for any checkout."""
    return pipeline_paths(ROOT / DVC_YAML)


@pytest.fixture(scope="session")
def config() -> tuple[Params, Contract]:
    return _config()


@pytest.fixture(scope="session")
def params(config: tuple[Params, Contract]) -> Params:
    return config[0]


@pytest.fixture(scope="session")
def contract(config: tuple[Params, Contract]) -> Contract:
    """The repository's contract, as written."""
    return config[1]


@pytest.fixture(scope="session")
def synth_contract(contract: Contract) -> Contract:
    """The contract minus extra expectations synthetic rows are not built to satisfy (see core.synth)."""
    return honoured(contract)


@pytest.fixture(scope="session")
def sample(synth_contract: Contract, params: Params) -> pd.DataFrame:
    """Raw rows synthesised from the contract: the machinery tests' data, whatever the dataset."""
    periods = params.split.test_periods + 2
    return synthesise(synth_contract, sample_rows(synth_contract), seed=0, periods=periods, split=params.split)


@pytest.fixture(scope="session")
def raw(paths: PipelinePaths, contract: Contract) -> pd.DataFrame:
    """The real data (``make test`` materialises it first; skipped when it cannot be had)."""
    data_dir = ROOT / paths.data
    try:
        data_files(data_dir)
    except Exception:
        pytest.skip(NO_REAL_DATA)
    return read_data(data_dir, contract)
