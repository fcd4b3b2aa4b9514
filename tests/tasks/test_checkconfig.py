"""``make repro`` checks params.yaml and contract.yaml before DVC removes any stage's outputs."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from mlpipe.errors import ConfigError
from mlpipe.io.pipeline import DVC_YAML
from mlpipe.tasks.checkconfig import main
from tests.repos import ROOT

pytestmark = pytest.mark.unit


def typo_in_the_model(params: dict[str, Any]) -> str:
    params["train"]["model"]["learnign_rate"] = 0.1
    return "learnign_rate: Extra inputs are not permitted"


def threshold_above_one(params: dict[str, Any]) -> str:
    params["evaluate"]["threshold"] = 1.5
    return "evaluate.threshold"


def unknown_metric(params: dict[str, Any]) -> str:
    params["gate"]["minimums"] = {"auc": 0.5}
    return "auc"


@pytest.mark.parametrize("mistake", [typo_in_the_model, threshold_above_one, unknown_metric])
def test_a_config_mistake_stops_before_dvc_runs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, mistake: Callable[[dict[str, Any]], str]
) -> None:
    """On the repository's own params.yaml, whatever model and gate a fork chose."""
    for name in (DVC_YAML, "params.yaml", "contract.yaml"):
        shutil.copy(ROOT / name, tmp_path / name)
    monkeypatch.chdir(tmp_path)
    main([])  # the repository's own config is valid
    params = yaml.safe_load((tmp_path / "params.yaml").read_text(encoding="utf-8"))
    says = mistake(params)
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(params), encoding="utf-8")
    with pytest.raises(ConfigError, match=rf"params\.yaml[\s\S]*{says}"):
        main([])


def test_make_repro_checks_the_config_before_dvc_repro() -> None:
    dry = subprocess.run(["make", "-n", "repro"], cwd=ROOT, capture_output=True, text=True, check=True).stdout
    lines = dry.splitlines()
    check = next(i for i, line in enumerate(lines) if "mlpipe.tasks.checkconfig" in line)
    repro = next(i for i, line in enumerate(lines) if line.rstrip().endswith("dvc repro"))
    assert check < repro
