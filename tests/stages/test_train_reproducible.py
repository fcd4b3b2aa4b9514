"""The ``train`` stage's outputs are a function of its inputs only: not of the thread count, not of
the commit. A fresh clone's ``make repro`` must rewrite the committed bytes, on any machine.

The stage runs as dvc runs it (``python -m``, a process per run, paths relative to the checkout)
on rows synthesised from the contract, with both estimator kinds that do floating-point work.
"""

from __future__ import annotations

import platform
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import yaml

from mlpipe.config import Contract, parse_params
from mlpipe.core.features import prepare
from mlpipe.core.split import split
from mlpipe.io.files import frame_sha256, write_frame, write_json
from mlpipe.io.pipeline import child_env
from tests.datasets import small_sample_params
from tests.repos import ROOT, run
from tests.servers import contract_dict

pytestmark = pytest.mark.integration
THREAD_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")
OUTPUTS = (
    "models/model.skops", "models/baseline.skops", "models/model.json",
    "reports/live/train/metrics.json", "reports/live/train/plots/metrics/training_loss.tsv",  # DVC metrics, plots
)  # fmt: skip
TRAIN = (
    "-m", "mlpipe.stages.train", "--train", "artifacts/train.parquet", "--split-summary", "reports/split.json",
    "--validation", "reports/validation.json", "--params", "params.yaml", "--contract", "contract.yaml",
    "--model", OUTPUTS[0], "--baseline", OUTPUTS[1], "--card", OUTPUTS[2], "--live", "reports/live",
)  # fmt: skip


@pytest.fixture(scope="module")
def inputs(tmp_path_factory: pytest.TempPathFactory, sample: pd.DataFrame, synth_contract: Contract) -> Path:
    """A git checkout holding the train stage's inputs (what split and validate would have written)."""
    repo = tmp_path_factory.mktemp("train") / "repo"
    params = small_sample_params(yaml.safe_load((ROOT / "params.yaml").read_text()))
    params["train"]["model"] = {"kind": "hist_gradient_boosting", "max_iter": 30}
    params["train"]["baseline"] = {"kind": "logistic_regression"}
    (repo / "reports").mkdir(parents=True)
    (repo / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    (repo / "contract.yaml").write_text(yaml.safe_dump(contract_dict(synth_contract), sort_keys=False))
    s = split(prepare(sample, synth_contract), synth_contract, parse_params(params).split)
    write_frame(repo / "artifacts/train.parquet", s.train)
    write_json(repo / "reports/split.json", {"strategy": s.description, "test_sha256": frame_sha256(s.test)})
    write_json(repo / "reports/validation.json", {"data_sha256": frame_sha256(sample)})
    run(repo, "git", "init", "-q")
    run(repo, "git", "add", "-A")
    run(repo, "git", "-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-qm", "inputs")
    return repo


def train(repo: Path, threads: int, **env_vars: str) -> dict[str, bytes]:
    """One run of the stage in its own process (this checkout's code), every BLAS/OpenMP pool sized ``threads``."""
    env = {**child_env(ROOT), **dict.fromkeys(THREAD_VARS, str(threads)), **env_vars}
    res = subprocess.run([sys.executable, *TRAIN], cwd=repo, env=env, capture_output=True, text=True, check=False)
    assert res.returncode == 0, res.stderr[-3000:]
    return {name: (repo / name).read_bytes() for name in OUTPUTS}


def copy_of(repo: Path, dest: Path) -> Path:
    shutil.copytree(repo, dest, ignore=shutil.ignore_patterns("models"))
    return dest


@pytest.fixture(scope="module")
def one_thread(inputs: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, bytes]:
    """The reference run: one thread, this CPU's BLAS kernels, the inputs' commit."""
    return train(copy_of(inputs, tmp_path_factory.mktemp("one") / "repo"), threads=1)


def test_same_bytes_on_one_and_two_threads(inputs: Path, one_thread: dict[str, bytes], tmp_path: Path) -> None:
    two = train(copy_of(inputs, tmp_path / "two"), threads=2)
    for name in OUTPUTS:
        assert one_thread[name] == two[name], f"{name} differs between 1 and 2 threads"


@pytest.mark.skipif(platform.machine() not in ("x86_64", "AMD64"), reason="OpenBLAS core types named are x86's")
def test_same_bytes_with_another_cpus_blas_kernel(inputs: Path, one_thread: dict[str, bytes], tmp_path: Path) -> None:
    """Another machine, simulated: OpenBLAS's generic SSE3 kernels instead of this CPU's (the
    logistic regression's weights came out up to 1e-2 apart between kernels before)."""
    generic = train(copy_of(inputs, tmp_path / "generic"), threads=1, OPENBLAS_CORETYPE="Prescott")
    for name in OUTPUTS:
        assert one_thread[name] == generic[name], f"{name} differs between BLAS kernels"


def test_a_new_commit_changes_nothing(inputs: Path, one_thread: dict[str, bytes], tmp_path: Path) -> None:
    """Provenance records inputs, never the commit: rerunning after a commit rewrites the same bytes."""
    repo = copy_of(inputs, tmp_path / "repo")
    run(repo, "git", "-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-q", "--allow-empty", "-m", "x")
    head = run(repo, "git", "rev-parse", "HEAD").stdout.strip()
    after = train(repo, threads=1)
    assert after == one_thread
    assert head not in after["models/model.json"].decode()
    assert b"git_commit" not in after["models/model.json"]
