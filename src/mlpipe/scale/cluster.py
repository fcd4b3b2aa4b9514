"""The Dask edge: a client (``DASK_SCHEDULER_ADDRESS``, else a local cluster), and the model on the workers.

The model reaches the workers as bytes, with its card and the contract (``client.scatter``, once per
worker), not as a path: workers need no access to the repository. Each worker checks the bytes'
sha256 against the card before skops loads them (trusted types only, as the service does), and keeps
the loaded scorer for the next partitions. Dask is imported inside the functions: it is the optional
``scale`` extra.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import socket
import threading
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from tqdm import tqdm

from mlpipe.config import Contract, ScaleParams
from mlpipe.env import DASK_SCHEDULER_ADDRESS, process_env
from mlpipe.errors import JobFailed, ModelIntegrityError, PipelineError
from mlpipe.io.files import read_json
from mlpipe.io.models import load_verified_bytes
from mlpipe.serving.scorer import Scorer

if TYPE_CHECKING:
    from distributed import Client, Future

log = logging.getLogger(__name__)
ADDRESS_ENV = DASK_SCHEDULER_ADDRESS  # the variable's name, written once in mlpipe.env
_SCORERS: dict[str, Scorer] = {}
T = TypeVar("T")
_LOCK = threading.Lock()


@contextmanager
def dask_client(scale: ScaleParams) -> Iterator[Client]:
    """The cluster at ``DASK_SCHEDULER_ADDRESS``, or a local one: ``scale.workers`` processes (one per core)."""
    try:
        from distributed import Client  # noqa: PLC0415 - the optional `scale` extra
    except ImportError:
        raise PipelineError("ENGINE=dask needs Dask: pip install -e '.[scale]' (make setup installs it)") from None
    if logging.getLogger().getEffectiveLevel() > logging.DEBUG:
        logging.getLogger("distributed").setLevel(logging.WARNING)  # its INFO lines: every start and stop
    address = process_env().dask_scheduler_address
    if address:
        try:
            client = Client(address, timeout="30s")
        except (OSError, TimeoutError) as err:
            raise PipelineError(f"cannot reach the Dask scheduler at {address} ({ADDRESS_ENV}): {err}") from None
        with client:
            log.info("dask: cluster at %s, %d workers", address, len(client.scheduler_info()["workers"]))
            yield client
        return
    from dask.system import CPU_COUNT  # noqa: PLC0415 - cgroup quotas and affinity counted, unlike os.cpu_count

    workers = scale.workers or CPU_COUNT
    with local_cluster(workers, scale.threads_per_worker, scale.memory_limit) as cluster, Client(cluster) as client:
        log.info("dask: local cluster, %d workers x %d threads", workers, scale.threads_per_worker)
        yield client


@contextmanager
def local_cluster(workers: int, threads: int, memory_limit: str = "auto") -> Iterator[Any]:
    """Worker processes on 127.0.0.1, and this process's environment as it was.

    distributed sets OMP_NUM_THREADS=1 (and MKL's, OpenBLAS's, MALLOC_TRIM_THRESHOLD_) for its workers by
    writing them into this process's environment and leaving them there: every process started
    afterwards (a pipeline stage, a test's subprocess) would run its models on one thread.
    """
    from distributed import LocalCluster  # noqa: PLC0415

    saved = dict(os.environ)
    try:
        cluster = LocalCluster(
            n_workers=workers,
            threads_per_worker=threads,
            processes=True,
            host="127.0.0.1",
            dashboard_address="127.0.0.1:0",  # None still starts its HTTP server on 8787 (a warning if taken)
            worker_dashboard_address="127.0.0.1:0",
            memory_limit=memory_limit,
            silence_logs=logging.ERROR,  # a failing partition is reported once, by the client, not by each worker
        )
    finally:
        restore_environ(saved)
    try:
        with cluster:
            yield cluster
    finally:
        restore_environ(saved)


def restore_environ(saved: dict[str, str]) -> None:
    """``os.environ`` back to ``saved``: keys added since removed, changed ones reset."""
    for key in set(os.environ) - set(saved):
        del os.environ[key]
    os.environ.update(saved)


@dataclass(frozen=True)
class ModelPayload:
    """What a worker needs to score: the model file's bytes, its card, the contract."""

    card: dict[str, Any]
    contract: Contract
    model: bytes
    role: str = "champion"

    @property
    def sha256(self) -> str:
        return str(self.card["model"]["sha256"])


def model_payload(card_path: str | Path, contract: Contract, root: str | Path = ".") -> ModelPayload:
    card = read_json(Path(root) / card_path)
    path = Path(root) / card["model"]["path"]
    if not path.is_file():
        raise ModelIntegrityError(f"{path}: model file not found")
    payload = ModelPayload(card, contract, path.read_bytes())
    _checked(payload, str(path))
    return payload


def _checked(p: ModelPayload, where: str) -> None:
    actual = hashlib.sha256(p.model).hexdigest()
    if actual != p.sha256:
        raise ModelIntegrityError(f"{where}: model sha256 {actual[:12]}… does not match the card's {p.sha256[:12]}…")


def worker_scorer(p: ModelPayload) -> Scorer:
    """This process's scorer for the payload: the bytes' hash checked on every call (a few ms per
    partition), the model loaded once per hash and kept."""
    _checked(p, f"worker {socket.gethostname()} pid {os.getpid()}")
    meta = json.dumps([p.card, p.contract.model_dump(mode="json"), p.role], sort_keys=True, default=str)
    key = p.sha256 + hashlib.sha256(meta.encode()).hexdigest()  # same model with another card: another scorer
    with _LOCK:
        scorer = _SCORERS.get(key)
        if scorer is None:
            pipeline = load_verified_bytes(p.model, p.card["model"]["path"])
            scorer = _SCORERS[key] = Scorer(pipeline, p.card, p.contract, p.role, p.sha256)
            log.info("worker pid %d: model %s loaded, sha256 checked", os.getpid(), scorer.version)
        return scorer


def ship(client: Client, payload: Any) -> Future[Any]:
    """One copy per worker, sent once (not inside every task)."""
    future: Future[Any] = client.scatter(payload, broadcast=True, hash=False)
    return future


def run_all(
    client: Client, fn: Callable[..., T], items: Sequence[Any], name: str, progress: bool, **kw: Any
) -> list[T]:
    """``fn(item, **kw)`` for every item on the cluster, results in item order.

    The first failure cancels the rest and is raised as it was (a DataError names file, column and
    rows). A partition whose worker dies is run again on another by Dask itself; one that keeps
    killing workers (``distributed.scheduler.allowed-failures``) fails the job.
    """
    from distributed import as_completed  # noqa: PLC0415
    from distributed.scheduler import KilledWorker  # noqa: PLC0415

    token = uuid.uuid4().hex[:8]  # keys unique per job: a shared cluster may still hold an earlier job's
    keys = [f"{name}-{token}-{i}" for i in range(len(items))]
    futures = client.map(fn, items, key=keys, pure=False, **kw)
    results: dict[Any, T] = {}
    try:
        with tqdm(total=len(items), unit="part", disable=not progress, desc=name) as bar:
            for fut in as_completed(futures):
                try:
                    results[fut.key] = fut.result()
                except KilledWorker:
                    item = items[keys.index(str(fut.key))]
                    raise JobFailed(
                        f"{name}: {_describe(item)} killed {_allowed()} workers in a row and was given up; "
                        "see the workers' logs (memory? a crash in a library?)"
                    ) from None
                bar.update(1)
    except BaseException:
        client.cancel(futures)
        raise
    return [results[f.key] for f in futures]


def _describe(item: Any) -> str:
    path, index = getattr(item, "path", None), getattr(item, "index", None)
    return f"partition {index} of {path}" if path is not None else str(item)


def _allowed() -> int:
    import dask  # noqa: PLC0415

    return int(dask.config.get("distributed.scheduler.allowed-failures")) + 1
