"""Deploy, smoke test and automatic rollback, for real: servers on 127.0.0.1 stand in for images.

The deploy target is a shell command; here it (re)starts ``python -m mlpipe.serving`` (the
image's entrypoint) on a checkout named by ``$IMAGE`` instead of running a container.
"""

from __future__ import annotations

import itertools
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from mlpipe.core.schema import record_model
from mlpipe.io.pipeline import DVC_YAML, child_env, pipeline_paths
from mlpipe.tasks.smoke import latency_failure, record_known, smoke
from tests.servers import Served, free_port

pytestmark = pytest.mark.integration


@pytest.fixture
def target(tmp_path: Path) -> Iterator[tuple[str, str]]:
    port, pidfile = free_port(), tmp_path / "server.pid"
    command = f"""
        if [ -f {pidfile} ]; then
          pid=$(cat {pidfile}); kill $pid; while kill -0 $pid 2>/dev/null; do sleep 0.1; done
        fi
        nohup {sys.executable} -m mlpipe.serving --root "$IMAGE" --port {port} --prediction-log off \
          >>{tmp_path}/server.log 2>&1 &
        echo $! > {pidfile}
    """
    yield command, f"http://127.0.0.1:{port}"
    if pidfile.exists():
        subprocess.run(["kill", pidfile.read_text().strip()], check=False)


def run(served: Served, *args: str) -> subprocess.CompletedProcess[str]:
    cmd = [sys.executable, "-m", *args]
    return subprocess.run(cmd, cwd=served.repo, env=child_env(served.repo), capture_output=True, text=True, check=False)


@pytest.fixture(scope="module")
def known(served: Served) -> dict[str, object]:
    return served.record_known()


def broken_copy(served: Served, tmp_path: Path) -> Path:
    bad = tmp_path / "bad-image"
    shutil.copytree(served.repo, bad, ignore=shutil.ignore_patterns(".git", ".dvc", "data", "artifacts"))
    model = pipeline_paths(bad / DVC_YAML).under(bad).model
    model.write_bytes(model.read_bytes()[:-100])
    return bad


def test_a_good_version_deploys_and_passes(served: Served, known: object, target: tuple[str, str]) -> None:
    command, url = target
    res = run(served, "mlpipe.tasks.deploy", "--image", str(served.repo), "--command", command, "--url", url)
    assert res.returncode == 0, res.stderr
    assert "smoke test passed" in res.stderr


def test_a_failing_version_is_rolled_back_and_the_run_fails(
    served: Served, known: object, target: tuple[str, str], tmp_path: Path
) -> None:
    command, url = target
    bad = broken_copy(served, tmp_path)
    res = run(
        served,
        "mlpipe.tasks.deploy",
        "--image", str(bad),
        "--previous", str(served.repo),
        "--previous-known", str(served.paths.smoke),
        "--command", command,
        "--url", url,
    )  # fmt: skip
    assert res.returncode == 1
    assert f"rolled back to {served.repo}, which is serving" in res.stderr
    assert "/ready answered 503" in res.stderr
    assert "does not match the recorded" in res.stderr
    assert httpx.get(f"{url}/version").json()["model_sha256"] == served.card["model"]["sha256"]


def test_no_previous_version_fails_loudly(
    served: Served, known: object, target: tuple[str, str], tmp_path: Path
) -> None:
    command, url = target
    res = run(
        served, "mlpipe.tasks.deploy", "--image", str(broken_copy(served, tmp_path)), "--command", command, "--url", url
    )
    assert res.returncode == 1
    assert "there is no previous version" in res.stderr


def test_smoke_catches_a_wrong_answer_and_a_wrong_model(
    served: Served, known: dict[str, object], target: tuple[str, str]
) -> None:
    command, url = target
    assert (
        run(served, "mlpipe.tasks.deploy", "--image", str(served.repo), "--command", command, "--url", url).returncode
        == 0
    )
    assert smoke(url, known, served.params) == []
    wrong = {**known, "model_sha256": "0" * 64, "requests": [{**known["requests"][0], "probability": 0.5}]}  # type: ignore[index]
    found = smoke(url, wrong, served.params)
    assert any("expected 0000" in f for f in found)
    assert any(f.startswith("known request 0: got 200") for f in found)
    ticks = itertools.count(step=2.0)  # a fake clock: every request "takes" 2 s, whatever the machine does
    strict = served.params.model_copy(deep=True)
    object.__setattr__(strict.serve.smoke, "max_latency_ms", 500.0)  # the tests' params lift the bound
    found = smoke(url, known, strict, clock=lambda: next(ticks))
    assert any(f.startswith("p95 latency 2000.0 ms over") for f in found), found


@pytest.mark.unit
def test_latency_check_uses_the_95th_percentile() -> None:
    assert latency_failure([10.0] * 19 + [10_000.0], 100) is None  # one outlier in 20 is within p95
    assert latency_failure([10.0] * 18 + [10_000.0] * 2, 100) == "p95 latency 10000.0 ms over 20 requests > 100 ms"


def test_known_requests_send_an_int_column_with_blanks_as_ints(
    served: Served, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A blank in an int column makes the CSV column read as floats: the recorded requests must still
    be what the service takes (``75``, not ``75.0``), or every deploy of such a fork rolls back."""
    c = served.contract
    ints = [n for n in c.features if c.columns[n].dtype == "int"]
    if not ints:
        pytest.skip("the contract has no int feature")
    n = served.params.serve.smoke.known_rows
    rows = served.test_raw.head(n + 1).copy()
    rows[ints] = rows[ints].astype(object)
    rows.loc[rows.index[-1], ints] = None  # after the recorded rows: they keep their values
    (tmp_path / "data").mkdir()
    rows.to_csv(tmp_path / "data" / "newest.csv", index=False)
    monkeypatch.chdir(served.repo)  # the card names the model relative to the checkout
    known = record_known(served.params, c, served.paths.card, tmp_path / "data", tmp_path / "smoke.json")
    Record = record_model(c)
    for item in known["requests"]:
        record = item["record"]
        Record.model_validate(record)  # what /predict does with it
        assert all(type(record[name]) is int for name in ints if record[name] is not None), record
