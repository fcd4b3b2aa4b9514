"""The leakage guard: the search never reads the test split, by its declaration and when it runs."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
import yaml

from mlpipe.config import Contract, Params
from mlpipe.core.features import prepare
from mlpipe.core.split import split
from mlpipe.io.files import read_frame, write_frame
from mlpipe.io.pipeline import PipelinePaths
from mlpipe.stages import tune as stage
from tests.datasets import small_sample_params
from tests.servers import contract_dict

ROOT = Path(__file__).resolve().parents[2]


def resolved_stages() -> dict[str, tuple[set[str], set[str], str]]:
    """Stage -> (deps, outs, cmd) of both pipelines, as DVC itself resolves them."""
    from dvc.repo import Repo

    with Repo(str(ROOT)) as repo:
        out = {}
        for s in repo.index.stages:
            deps = {Path(d.fs_path).relative_to(ROOT).as_posix() for d in s.deps if not hasattr(d, "params")}
            outs = {Path(o.fs_path).relative_to(ROOT).as_posix() for o in s.outs}
            out[s.addressing] = (deps, outs, str(s.cmd))
    return out


@pytest.mark.unit
def test_tune_depends_on_nothing_the_test_split_reaches(paths: PipelinePaths) -> None:
    stages = resolved_stages()
    tune = next(name for name in stages if name.endswith(":tune"))
    test = paths.test.as_posix()
    tainted = {test}
    changed = True
    while changed:  # every output of a stage that reads (something derived from) the test split
        changed = False
        for deps, outs, _ in stages.values():
            if deps & tainted and not outs <= tainted:
                tainted |= outs
                changed = True
    deps, _, cmd = stages[tune]
    assert paths.train.as_posix() in deps
    assert not deps & tainted, f"tune depends on {sorted(deps & tainted)}, derived from the test split"
    assert test not in cmd
    assert {paths.predictions.as_posix(), paths.metrics.as_posix()} <= tainted  # the walk does reach them


@pytest.mark.unit
def test_the_tune_pipeline_is_outside_what_dvc_repro_runs() -> None:
    """`dvc repro` and `dvc exp run` read ./dvc.yaml: a search there would run on every retrain."""
    assert "tune" not in yaml.safe_load((ROOT / "dvc.yaml").read_text())["stages"]
    assert "tune" in yaml.safe_load((ROOT / "tune" / "dvc.yaml").read_text())["stages"]


@pytest.mark.data
def test_the_search_runs_with_no_test_split_and_reads_only_the_training_split(
    tmp_path: Path,
    sample: pd.DataFrame,
    synth_contract: Contract,
    params: Params,
    paths: PipelinePaths,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    s = split(prepare(sample, synth_contract), synth_contract, params.split)
    write_frame(tmp_path / "train.parquet", s.train)
    raw = small_sample_params(yaml.safe_load((ROOT / paths.params).read_text()))
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(raw))
    (tmp_path / "contract.yaml").write_text(yaml.safe_dump(contract_dict(synth_contract), allow_unicode=True))
    opened: list[str] = []

    def recording(path: str) -> pd.DataFrame:
        opened.append(str(path))
        return read_frame(path)

    monkeypatch.setattr(stage, "read_frame", recording)
    monkeypatch.chdir(tmp_path)  # only train.parquet exists here: reading a test split would fail
    stage.main(["--train", "train.parquet", "--params", "params.yaml", "--contract", "contract.yaml",
                "--out", "tune.json"])  # fmt: skip
    assert opened == ["train.parquet"]
    record = json.loads((tmp_path / "tune.json").read_text())
    assert len(record["candidates"]) == raw["tune"]["candidates"]
    assert record["rows"] == len(s.train)
    assert [a.dest for a in stage.arguments()._actions] == ["help", "train", "params", "contract", "out"]
