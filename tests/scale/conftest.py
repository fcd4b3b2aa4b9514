"""A real Dask cluster for the scale tests: two worker processes on 127.0.0.1, shared by the package."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

pytest.importorskip("distributed")


@pytest.fixture(scope="package")
def cluster() -> Iterator[str]:
    """The scheduler's address (what DASK_SCHEDULER_ADDRESS would hold).

    Closed after this package's last test, not the session's: idle, the scheduler's and the workers'
    heartbeats cost about 4 s of CPU a minute, for the rest of the run (tests/scale is one unit of
    work on one pytest-xdist worker, so its tests run one after another)."""
    from mlpipe.scale.cluster import local_cluster

    with local_cluster(workers=2, threads=1) as c:
        yield c.scheduler_address


@pytest.fixture
def at_cluster(cluster: str, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("DASK_SCHEDULER_ADDRESS", cluster)
    return cluster


@pytest.fixture(autouse=True)
def _environment_kept() -> Iterator[None]:
    """A nanny restarting a killed worker writes OMP_NUM_THREADS=1 (and others) into this process's
    environment again: later tests' subprocesses would train on one thread."""
    from mlpipe.scale.cluster import restore_environ

    saved = dict(os.environ)
    yield
    restore_environ(saved)
