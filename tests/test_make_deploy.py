"""``make deploy`` as the deploy workflow runs it, with stand-ins for what needs GitHub or Docker.

``gh`` answers from a directory of fake releases, ``docker login`` succeeds, and the deploy
target starts the image's entrypoint on a checkout named after the image tag. What runs for
real: the Makefile's shell, the last-good-release lookup, the deploy task, the smoke test and
the rollback, against real servers on 127.0.0.1.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from mlpipe.io.pipeline import DVC_YAML, pipeline_paths
from tests.repos import ROOT
from tests.servers import Served, free_port

pytestmark = pytest.mark.integration

GH = r"""#!/usr/bin/env bash
set -eu
case "$1 $2" in
  "api repos/"*) tag="${2##*/}"; cat "$FAKE_RELEASES/$tag/sha" ;;
  "release download") cp "$FAKE_RELEASES/$3/smoke.json" "${@: -1}/" ;;
  "release list") cat "$FAKE_RELEASES/latest" 2>/dev/null || true ;;
  "release edit") echo "$*" >> "$FAKE_RELEASES/edits" ;;
  *) echo "fake gh: unexpected $*" >&2; exit 2 ;;
esac
"""
DOCKER = '#!/usr/bin/env bash\n[ "$1" = login ] && { cat >/dev/null; exit 0; }\necho "fake docker: $*" >&2; exit 2\n'


@pytest.fixture
def world(served: Served, tmp_path: Path) -> Iterator[tuple[Path, dict[str, str]]]:
    served.record_known()
    work = tmp_path / "checkout"  # what the deploy job checks out: the Makefile and requirements
    shutil.copytree(served.repo, work, ignore=shutil.ignore_patterns(".git", "data", "artifacts"))
    for name in ("Makefile", "pyproject.toml"):
        shutil.copy2(ROOT / name, work / name)
    shutil.copytree(ROOT / "requirements", work / "requirements", copy_function=shutil.copy2)
    bad = tmp_path / "images" / "bbbb"
    shutil.copytree(served.repo, bad, ignore=shutil.ignore_patterns(".git", ".dvc", "data", "artifacts"))
    pipeline_paths(bad / DVC_YAML).under(bad).model.write_bytes(b"not a model")
    (tmp_path / "images" / "aaaa").symlink_to(served.repo)
    releases = tmp_path / "releases"
    for tag, sha in (("release-good", "aaaa"), ("release-bad", "bbbb")):
        (releases / tag).mkdir(parents=True)
        (releases / tag / "sha").write_text(sha + "\n")
        shutil.copy(served.paths.smoke, releases / tag / "smoke.json")
    fake_bin = tmp_path / "bin"
    fake_bin.mkdir()
    for name, text in (("gh", GH), ("docker", DOCKER)):
        (fake_bin / name).write_text(text)
        (fake_bin / name).chmod(0o755)
    port, pidfile = free_port(), tmp_path / "server.pid"
    command = (
        f"if [ -f {pidfile} ]; then pid=$(cat {pidfile}); kill $pid; "
        f"while kill -0 $pid 2>/dev/null; do sleep 0.1; done; fi; "
        f'nohup python -m mlpipe.serving --root {tmp_path}/images/"${{IMAGE##*:}}" --port {port} '
        f"--prediction-log off >>{tmp_path}/server.log 2>&1 & echo $! > {pidfile}"
    )
    env = {
        **os.environ,
        "PATH": f"{fake_bin}{os.pathsep}{os.environ['PATH']}",
        "PYTHONPATH": str(ROOT / "src"),
        "GITHUB_REPOSITORY": "someone/model",
        "GH_TOKEN": "not-a-token",
        "FAKE_RELEASES": str(releases),
        "DEPLOY_COMMAND": command,
        "DEPLOY_URL": f"http://127.0.0.1:{port}",
        "VENV": str(Path(sys.executable).parent.parent),  # the venv running these tests
    }
    yield work, env
    if pidfile.exists():
        subprocess.run(["kill", pidfile.read_text().strip()], check=False)


def make_deploy(work: Path, env: dict[str, str], release: str) -> subprocess.CompletedProcess[str]:
    # -o: take the shared .venv as installed (never reinstall it from this copy of the repository)
    cmd = ["make", "--no-print-directory", "-o", f"{env['VENV']}/.installed", "deploy", f"RELEASE={release}"]
    return subprocess.run(cmd, cwd=work, env=env, capture_output=True, text=True, check=False, timeout=600)


def test_first_deploy_passes_and_is_marked_latest(world: tuple[Path, dict[str, str]]) -> None:
    work, env = world
    res = make_deploy(work, env, "release-good")
    assert res.returncode == 0, res.stdout + res.stderr
    assert "smoke test passed" in res.stderr
    edits = (Path(env["FAKE_RELEASES"]) / "edits").read_text()
    assert edits.strip() == "release edit release-good --prerelease=false --latest"


def test_a_bad_release_rolls_back_to_the_last_good_one(world: tuple[Path, dict[str, str]]) -> None:
    work, env = world
    (Path(env["FAKE_RELEASES"]) / "latest").write_text("release-good\n")
    res = make_deploy(work, env, "release-bad")
    assert res.returncode != 0
    assert "rolled back to ghcr.io/someone/model:aaaa, which is serving" in res.stderr
    assert not (Path(env["FAKE_RELEASES"]) / "edits").exists(), "a failed release must not become latest"
