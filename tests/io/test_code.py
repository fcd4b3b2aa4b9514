from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from mlpipe.io.code import PACKAGE_ROOT, code_sha256, source_files

pytestmark = pytest.mark.unit
ROOT = Path(__file__).resolve().parents[2]


def test_the_train_stage_code_is_exactly_its_dvc_dependencies() -> None:
    """The card's code hash covers what dvc reruns train for: no more (the card would change while
    dvc says up to date), no less (a change would rerun train and leave the hash as it was)."""
    deps = yaml.safe_load((ROOT / "dvc.yaml").read_text())["stages"]["train"]["deps"]
    declared = {d for d in deps if str(d).startswith("src/")}
    assert {p.relative_to(ROOT).as_posix() for p in source_files("mlpipe.stages.train")} == declared


def test_code_hash_is_stable_and_names_files_relative_to_the_package() -> None:
    assert PACKAGE_ROOT == ROOT / "src"
    assert code_sha256("mlpipe.stages.train") == code_sha256("mlpipe.stages.train")
    assert code_sha256("mlpipe.stages.train") != code_sha256("mlpipe.stages.evaluate")
    with pytest.raises(ModuleNotFoundError):
        source_files("mlpipe.no_such_module")
