"""A real Dask cluster for the scale tests: two worker processes on 127.0.0.1, shared by the package."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

distributed = pytest.importorskip("distributed")


@pytest.fixture(scope="session")
def cluster() -> Iterator[str]:
    """The scheduler's address (what DASK_SCHEDULER_ADDRESS would hold)."""
    with distributed.LocalCluster(
        n_workers=2,
        threads_per_worker=1,
        processes=True,
        host="127.0.0.1",
        dashboard_address="127.0.0.1:0",
        worker_dashboard_address="127.0.0.1:0",
    ) as c:
        yield c.scheduler_address


@pytest.fixture
def at_cluster(cluster: str, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("DASK_SCHEDULER_ADDRESS", cluster)
    return cluster
