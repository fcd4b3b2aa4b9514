"""``make data`` / ``make add-year`` for a fork's own data: every state of data/ gets a message saying what to do."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import yaml

from mlpipe.config import Contract
from mlpipe.errors import DataError
from mlpipe.io.pipeline import child_env
from mlpipe.tasks import data as task
from tests.datasets import write_data

pytestmark = pytest.mark.integration


@pytest.fixture
def fork(tmp_path: Path, root: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A repository whose params.yaml has no example section (the owner's data is in use)."""
    shutil.copy(root / "dvc.yaml", tmp_path / "dvc.yaml")
    params = yaml.safe_load((root / "params.yaml").read_text())
    params.pop("example_data", None)
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(params))
    subprocess.run(["git", "init", "-q"], cwd=tmp_path, check=True)
    monkeypatch.chdir(tmp_path)
    assert task.dvc("init", "-q").returncode == 0
    return tmp_path


def materialise(fork: Path) -> None:
    task.materialise(Path("data.dvc"), Path("params.yaml"), fork / ".cache")  # relative, as make runs it


def test_a_first_data_dir_is_tracked(fork: Path, sample: pd.DataFrame, synth_contract: Contract) -> None:
    write_data(sample, fork / "data", synth_contract)
    materialise(fork)
    assert (fork / "data.dvc").exists()
    assert task.in_sync(fork / "data.dvc")


def test_no_data_at_all_says_where_to_put_it(fork: Path) -> None:
    with pytest.raises(DataError, match=r"no data files and there is no data\.dvc: put your CSV or parquet files"):
        materialise(fork)


def test_new_files_without_dvc_add_say_dvc_add(fork: Path, sample: pd.DataFrame, synth_contract: Contract) -> None:
    write_data(sample, fork / "data", synth_contract)
    materialise(fork)
    first = sorted((fork / "data").iterdir())[0]
    (fork / "data" / "more.csv").write_text(first.read_text())
    with pytest.raises(DataError, match=r"holds files that are not what data\.dvc records.*`dvc add data`") as err:
        materialise(fork)
    assert "(added: data/more.csv)" in str(err.value)


def test_recorded_data_missing_and_no_remote_says_how_to_configure_one(
    fork: Path, sample: pd.DataFrame, synth_contract: Contract
) -> None:
    write_data(sample, fork / "data", synth_contract)
    materialise(fork)
    shutil.rmtree(fork / "data")
    shutil.rmtree(fork / ".dvc" / "cache")
    with pytest.raises(DataError, match=r"no DVC remote is configured.*dvc remote add -d storage"):
        materialise(fork)


def test_add_year_without_the_example_says_what_to_do_instead(fork: Path) -> None:
    with pytest.raises(DataError, match=r"adds the next year of the \*example\* data.*`dvc add data`"):
        task.add_year(Path("data.dvc"), Path("params.yaml"), fork / ".cache")


def test_optional_materialise_warns_and_lets_the_tests_run(fork: Path, root: Path) -> None:
    cmd = [sys.executable, "-m", "mlpipe.tasks.data", "materialise", "--optional"]
    res = subprocess.run(cmd, cwd=fork, env=child_env(root), capture_output=True, text=True, check=False)
    assert res.returncode == 0, res.stderr
    assert "tests that need the real data will be skipped" in res.stderr
    strict = subprocess.run(cmd[:-1], cwd=fork, env=child_env(root), capture_output=True, text=True, check=False)
    assert strict.returncode == 1
    assert "put your CSV or parquet files" in strict.stderr
