"""The run's one real pipeline run (dvc repro on a small sample), copied by the tests that need a trained repo."""

from __future__ import annotations

import json
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import httpx
import pandas as pd
import pytest
import yaml
from filelock import FileLock

from mlpipe.config import Contract, Params
from mlpipe.core.validation import plain
from mlpipe.io.files import load_config, read_json
from mlpipe.io.pipeline import DVC_YAML, PipelinePaths, child_env, pipeline_paths
from mlpipe.serving.settings import Settings
from tests.datasets import small_sample_params
from tests.repos import ROOT, make_repo, run

_RECORDED: set[Path] = set()  # served copies whose smoke answers are recorded (this process)


@dataclass(frozen=True)
class Served:
    repo: Path
    params: Params
    contract: Contract
    test_raw: pd.DataFrame  # raw rows of the test split, as in the data files
    trained: pd.Series  # evaluate stage's probability for each test id
    card: dict[str, Any]
    paths: PipelinePaths  # the repo's dvc.yaml paths, joined to it

    def settings(self, log_dir: Path | None, **kw: Any) -> Settings:
        card = self.paths.card.relative_to(self.repo)  # as the service gets it: relative to its root
        kw.setdefault("metrics", self.paths.metrics.relative_to(self.repo))
        return Settings(self.params, self.contract, card, root=self.repo, prediction_log=log_dir, **kw)

    def record_known(self) -> dict[str, Any]:
        """``make image``'s first step: record the smoke test's known answers next to the model.

        As a command, once per copy (2-3 s a process): the model never changes after, so later callers
        read what it recorded."""
        if self.repo not in _RECORDED:
            cmd = [sys.executable, "-m", "mlpipe.tasks.smoke", "--record"]
            env = child_env(self.repo)
            res = subprocess.run(cmd, cwd=self.repo, env=env, capture_output=True, text=True, check=False)
            assert res.returncode == 0, res.stderr
            _RECORDED.add(self.repo)
        return dict(json.loads(self.paths.smoke.read_text()))

    def record(self, i: int = 0) -> dict[str, Any]:
        row = self.test_raw.iloc[i]
        return {c: plain(row[c]) for c in [self.contract.id, *self.contract.features]}


def contract_dict(contract: Contract) -> dict[str, Any]:
    """A contract model back as the YAML document a user would write."""
    return contract.model_dump(mode="python", by_alias=True, exclude_none=True)


def shared_tmp(tmp_path_factory: pytest.TempPathFactory, config: pytest.Config) -> Path:
    """A directory every pytest-xdist worker of this run sees (the run's own without xdist)."""
    base = tmp_path_factory.getbasetemp()
    return base.parent if hasattr(config, "workerinput") else base


@pytest.fixture(scope="session")
def trained(
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
    sample: pd.DataFrame,
    synth_contract: Contract,
) -> Path:
    """The run's one cold ``dvc repro``: this pipeline on rows synthesised from the repository's contract.

    Built once per pytest run by whichever worker asks first (the others wait on the lock); never
    changed after: tests work on copies (:func:`copy_trained`), whose DVC cache and run-cache make
    their ``dvc repro`` rerun only the stages their change touches.
    """
    shared = shared_tmp(tmp_path_factory, request.config)
    done = shared / "trained.done"
    with FileLock(shared / "trained.lock"):
        if not done.exists():
            params = small_sample_params(yaml.safe_load((ROOT / pipeline_paths(ROOT / DVC_YAML).params).read_text()))
            build = shared / "trained"
            build.mkdir(exist_ok=True)
            shutil.rmtree(build / "repo", ignore_errors=True)  # a build that failed half-way
            repo = make_repo(build, sample, params, contract_dict(synth_contract))
            run(repo, "dvc", "repro")
            done.write_text(str(repo))
    return Path(done.read_text())


def copy_trained(trained: Path, dest: Path) -> Path:
    """A repository of one's own: the trained one with its git history, DVC cache and outputs."""
    shutil.copytree(trained, dest, symlinks=True)
    return dest


@pytest.fixture(scope="session")
def served(tmp_path_factory: pytest.TempPathFactory, trained: Path, sample: pd.DataFrame) -> Served:
    """A copy of the trained repository whose model the serving tests load and call."""
    repo = copy_trained(trained, tmp_path_factory.mktemp("served") / "repo")
    paths = pipeline_paths(repo / DVC_YAML).under(repo)
    p, c = load_config(paths.params, paths.contract)
    preds = pd.read_parquet(paths.predictions).set_index(c.id)["model"]
    test_raw = sample[sample[c.id].isin(preds.index)].sort_values(c.id).reset_index(drop=True)
    assert len(test_raw) == len(preds) > 300
    return Served(repo, p, c, test_raw, preds, read_json(paths.card), paths)


# Below the kernel's ephemeral range (32768-60999 on Linux), which outgoing connections draw from.
PORT_BAND = (29100, 32700)
_GIVEN: set[int] = set()


def free_port() -> int:
    """A port for a server a test is about to start: free now, in this pytest-xdist worker's own share
    of PORT_BAND, and never handed out twice in a process.

    A port the kernel picks (bind to 0) is also what it gives every outgoing connection, the other worker
    and the next caller, and the service binds only after loading its model: once another test's server
    took the port in between, and the test talked to that one.
    """
    workers = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1"))
    index = int(os.environ.get("PYTEST_XDIST_WORKER", "gw0").removeprefix("gw") or "0")
    share = (PORT_BAND[1] - PORT_BAND[0]) // max(workers, 1)
    low = PORT_BAND[0] + (index % max(workers, 1)) * share
    rng = random.Random()  # not seeded: another run on the machine starts elsewhere in the share
    for _ in range(1000):
        port = rng.randrange(low, low + share)
        if port in _GIVEN:
            continue
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
        _GIVEN.add(port)
        return port
    raise RuntimeError(f"no free port in {low}-{low + share - 1} (PORT_BAND {PORT_BAND})")


@dataclass
class Server:
    url: str
    proc: subprocess.Popen[bytes]
    log_dir: Path
    stderr: IO[bytes]


def wait_bound() -> float:
    """Seconds a test waits for what it started (a server, a store) to say it is ready: generous, since
    a busy 2-core runner starts a service in 10 s+, and a setting (``MLPIPE_TEST_WAIT``) beyond that."""
    return float(os.environ.get("MLPIPE_TEST_WAIT", "120"))


def start_server(repo: Path, log_dir: Path, *args: str, env: dict[str, str] | None = None) -> Server:
    """The container's entrypoint command, on 127.0.0.1, waited for until /health answers."""
    port = free_port()
    cmd = [sys.executable, "-m", "mlpipe.serving", "--root", str(repo), "--port", str(port)]
    cmd += ["--prediction-log", str(log_dir), *args]
    err = (log_dir.parent / f"server-{port}.log").open("wb")  # read it when a test fails
    proc = subprocess.Popen(cmd, cwd=repo, env={**child_env(repo), **(env or {})}, stderr=err)
    url = f"http://127.0.0.1:{port}"
    bound = wait_bound()
    deadline = time.monotonic() + bound
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            err.close()
            pytest.fail(f"server exited with {proc.returncode}: {' '.join(cmd)}\n{_tail(err.name)}")
        try:
            if httpx.get(f"{url}/health", timeout=1).status_code == 200:
                return Server(url, proc, log_dir, err)
        except httpx.TransportError:
            time.sleep(0.2)
    proc.kill()
    proc.wait()  # reaped here: an unreaped child's ResourceWarning would fail some later, unrelated test
    err.close()
    pytest.fail(f"server did not answer /health within {bound:.0f} s (MLPIPE_TEST_WAIT)\n{_tail(err.name)}")


def _tail(path: str | Path, chars: int = 3000) -> str:
    return Path(path).read_text(errors="replace")[-chars:]


def reap(proc: subprocess.Popen[bytes], sig: int = signal.SIGTERM, grace: float = 15) -> int:
    """Signal a process, give it ``grace`` seconds, then kill it; always waited for (an unreaped child's
    ResourceWarning would fail some later, unrelated test). Returns its exit code."""
    if proc.poll() is None:
        proc.send_signal(sig)
    try:
        return proc.wait(grace)
    except subprocess.TimeoutExpired:
        proc.kill()
        return proc.wait()


def stop_server(server: Server) -> None:
    reap(server.proc)
    server.stderr.close()


@pytest.fixture(scope="module")
def server(served: Served, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    s = start_server(served.repo, tmp_path_factory.mktemp("plog"), env={"LOG_FORMAT": os.environ.get("LOG_FORMAT", "")})
    yield s
    stop_server(s)
