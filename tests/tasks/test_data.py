"""``make data`` / ``make add-year`` in a throw-away DVC repository, from the real example wheel."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from mlpipe.errors import DataError
from mlpipe.tasks import data as task

pytestmark = [pytest.mark.integration, pytest.mark.example]


@pytest.fixture
def repo(tmp_path: Path, root: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for name in ("data.dvc", "params.yaml"):
        shutil.copy(root / name, tmp_path / name)
    subprocess.run(["git", "init", "-q"], cwd=tmp_path, check=True)
    monkeypatch.chdir(tmp_path)
    assert task.dvc("init", "-q").returncode == 0
    return tmp_path


@pytest.fixture
def cache(root: Path) -> Path:
    wheels = root / ".cache" / "wheels"
    if not any(wheels.glob("*.whl")):
        pytest.fail("the example wheel is not cached: run `make data` first")
    return wheels


def test_materialise_recreates_exactly_what_data_dvc_records(repo: Path, cache: Path) -> None:
    assert not task.in_sync(repo / "data.dvc")
    task.materialise(repo / "data.dvc", repo / "params.yaml", cache)
    assert task.in_sync(repo / "data.dvc")
    assert sorted(p.name for p in (repo / "data").iterdir()) == ["acs_ma_2015.csv", "acs_ma_2016.csv"]


def test_materialise_never_overwrites_a_changed_file(repo: Path, cache: Path) -> None:
    task.materialise(repo / "data.dvc", repo / "params.yaml", cache)
    edited = repo / "data" / "acs_ma_2016.csv"
    edited.write_text(edited.read_text().replace("\n1", "\n9", 1))
    before = edited.read_bytes()
    with pytest.raises(DataError, match=r"acs_ma_2016\.csv exists with different content; refusing to overwrite"):
        task.materialise(repo / "data.dvc", repo / "params.yaml", cache)
    assert edited.read_bytes() == before


def test_add_year_writes_the_next_year_and_updates_params_and_data_dvc(repo: Path, cache: Path) -> None:
    task.materialise(repo / "data.dvc", repo / "params.yaml", cache)
    comment = "# Where `make data` materialises"
    assert comment in (repo / "params.yaml").read_text()
    assert task.add_year(repo / "data.dvc", repo / "params.yaml", cache) == 2017
    params_text = (repo / "params.yaml").read_text()
    assert yaml.safe_load(params_text)["example_data"]["years"] == [2015, 2016, 2017]
    assert comment in params_text  # edited in place, comments kept
    assert yaml.safe_load((repo / "data.dvc").read_text())["outs"][0]["nfiles"] == 3
    assert task.in_sync(repo / "data.dvc")


def test_no_data_no_remote_no_example_is_a_clear_error(repo: Path, cache: Path) -> None:
    params = yaml.safe_load((repo / "params.yaml").read_text())
    del params["example_data"]
    (repo / "params.yaml").write_text(yaml.safe_dump(params))
    with pytest.raises(DataError, match="no DVC remote is configured"):
        task.materialise(repo / "data.dvc", repo / "params.yaml", cache)


def test_recreated_data_that_does_not_match_is_an_error_and_data_dvc_is_kept(repo: Path, cache: Path) -> None:
    recorded = (repo / "data.dvc").read_text()
    text = (repo / "params.yaml").read_text().replace("years: [2015, 2016]", "years: [2015]")
    (repo / "params.yaml").write_text(text)
    with pytest.raises(DataError, match=r"hashes to .* not the .* that"):
        task.materialise(repo / "data.dvc", repo / "params.yaml", cache)
    assert (repo / "data.dvc").read_text() == recorded


def test_a_configured_remote_is_pulled_first(
    repo: Path, cache: Path, tmp_path_factory: pytest.TempPathFactory, caplog: pytest.LogCaptureFixture
) -> None:
    task.materialise(repo / "data.dvc", repo / "params.yaml", cache)
    remote = tmp_path_factory.mktemp("remote")
    assert task.dvc("remote", "add", "-d", "local", str(remote)).returncode == 0
    assert task.dvc("push", "-q").returncode == 0
    shutil.rmtree(repo / "data")
    shutil.rmtree(repo / ".dvc" / "cache")
    empty = tmp_path_factory.mktemp("no-wheels")
    with caplog.at_level("INFO"):
        task.materialise(repo / "data.dvc", repo / "params.yaml", empty)
    assert "pulling data.dvc from the DVC remote" in caplog.text.replace(str(repo) + "/", "")
    assert task.in_sync(repo / "data.dvc")
    assert not any(empty.iterdir())  # the example source was never needed
