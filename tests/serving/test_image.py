"""The container, without Docker: the Dockerfile's promises checked, and its entrypoint run as it
would run in the image (a fresh venv from requirements/serve.txt only, the image's file layout,
its environment), then smoke-tested and probed with the image's own HEALTHCHECK command.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from mlpipe.io.pipeline import DVC_YAML, PipelinePaths, pipeline_paths
from mlpipe.tasks.smoke import smoke
from tests.repos import ROOT
from tests.servers import Served, free_port, wait_bound
from tests.streaming.brokers import Nats, broker, events_of, publish, read_all

__all__ = ["broker"]  # the fixture

pytestmark = pytest.mark.integration
DOCKERFILE = (ROOT / "Dockerfile").read_text()
COMPILE = "python -m compileall -q src"
IMAGE_FILES = ("params", "contract", "model", "card", "smoke", "metrics")  # the dvc.yaml paths the image copies


def instructions(name: str) -> list[str]:
    joined = re.sub(r"\\\n\s*", " ", DOCKERFILE)
    return [line.split(None, 1)[1] for line in joined.splitlines() if line.startswith(f"{name} ")]


def test_dockerfile_promises() -> None:
    (base,) = instructions("FROM")
    assert re.fullmatch(r"python:3\.11-slim@sha256:[0-9a-f]{64}", base), f"base image not pinned by digest: {base}"
    assert json.loads(instructions("ENTRYPOINT")[0]) == ["python", "-m", "mlpipe.serving"]  # what the tests start
    user = instructions("USER")[-1]
    assert user not in ("root", "0")
    assert any("--require-hashes -r requirements/serve.txt" in r for r in instructions("RUN"))
    assert COMPILE in instructions("RUN")  # image_layout does the same
    assert "/ready" in instructions("HEALTHCHECK")[0]
    paths = pipeline_paths(ROOT / DVC_YAML)
    copied = " ".join(instructions("COPY"))
    for key in IMAGE_FILES:
        assert paths.get(key).as_posix() in copied, f"the image does not get {key} ({paths.get(key)})"
    allowed = {line[1:] for line in (ROOT / ".dockerignore").read_text().splitlines() if line.startswith("!")}
    for src in (s.split()[0] for s in instructions("COPY")):
        assert src in allowed or src.rstrip("/") + "/" in allowed, f".dockerignore hides {src}"


def test_the_service_needs_neither_dvc_nor_great_expectations() -> None:
    block = "import sys; sys.modules.update(dvc=None, great_expectations=None)"
    code = f"{block}; import mlpipe.serving.app, mlpipe.tasks.score"
    subprocess.run([sys.executable, "-c", code], check=True, env={**os.environ, "PYTHONPATH": str(ROOT / "src")})


@pytest.fixture(scope="module")
def image_venv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    venv = tmp_path_factory.mktemp("image") / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    uv = shutil.which("uv", path=str(Path(sys.executable).parent)) or "uv"
    cmd = [uv, "pip", "install", "-q", "--python", str(venv / "bin/python"), "--require-hashes"]
    subprocess.run([*cmd, "-r", str(ROOT / "requirements/serve.txt")], check=True, timeout=600)
    return venv


def image_layout(app: Path, served: Served, paths: PipelinePaths, venv: Path) -> PipelinePaths:
    """The files the Dockerfile copies, where it copies them, and src/ compiled as it compiles it."""
    shutil.copytree(ROOT / "src", app / "src", ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
    python, *args = COMPILE.split()
    subprocess.run([str(venv / "bin" / python), *args], cwd=app, check=True)
    shutil.copy(served.repo / DVC_YAML, app / DVC_YAML)
    served.record_known()
    in_app = paths.under(app)
    for key in IMAGE_FILES:
        in_app.get(key).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(served.paths.get(key), in_app.get(key))
    return in_app


def test_entrypoint_in_the_image_layout(image_venv: Path, served: Served, paths: PipelinePaths, tmp_path: Path) -> None:
    app = tmp_path / "app"
    in_app = image_layout(app, served, paths, image_venv)
    port = free_port()
    env = {"PATH": f"{image_venv / 'bin'}:/usr/bin:/bin", "PYTHONPATH": str(app / "src"), "PORT": str(port)}
    env |= {"HOST": "127.0.0.1", "LOG_FORMAT": "json", "PYTHONDONTWRITEBYTECODE": "1"}
    proc = subprocess.Popen(["python", "-m", "mlpipe.serving"], cwd=app, env=env, stderr=subprocess.PIPE)
    try:
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + wait_bound()
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                if httpx.get(f"{url}/ready", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.2)
        healthcheck = json.loads(instructions("HEALTHCHECK")[0].split("CMD", 1)[1])
        assert subprocess.run(healthcheck, env=env, check=False).returncode == 0
        known = json.loads(in_app.smoke.read_text())
        assert smoke(url, known, served.params) == []
    finally:
        proc.terminate()
        try:
            _, err = proc.communicate(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            _, err = proc.communicate()
    first = json.loads(err.decode().splitlines()[0])  # LOG_FORMAT=json: one JSON object per line
    assert {"ts", "level", "logger", "msg"} <= set(first)
    assert in_app.prediction_log.is_dir()


def test_the_image_also_runs_the_stream_consumer(
    image_venv: Path, served: Served, paths: PipelinePaths, tmp_path: Path, broker: Nats
) -> None:
    """One image, two entry points: ``python -m mlpipe.streaming`` with the serving requirements only."""
    app = tmp_path / "app"
    image_layout(app, served, paths, image_venv)
    metrics = free_port()
    env = {"PATH": f"{image_venv / 'bin'}:/usr/bin:/bin", "PYTHONPATH": str(app / "src"), "LOG_FORMAT": "json",
           "MLPIPE_STREAM_URL": broker.url, "MLPIPE_STREAM_METRICS_PORT": str(metrics)}  # fmt: skip
    proc = subprocess.Popen(["python", "-m", "mlpipe.streaming"], cwd=app, env=env, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + wait_bound()
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                if httpx.get(f"http://127.0.0.1:{metrics}/ready", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.2)
        publish(broker.url, events_of([served.record(0)]))
        (out,) = read_all(broker.url, "output", 1)
    finally:
        proc.terminate()
        _, err = proc.communicate(timeout=60)
    assert out["probability"] == served.trained[served.record(0)[served.contract.id]], err.decode()[-2000:]
    assert proc.returncode == 0, err.decode()[-2000:]
