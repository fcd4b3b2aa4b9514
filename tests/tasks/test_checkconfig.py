"""``make repro`` checks params.yaml and contract.yaml before DVC removes any stage's outputs."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from mlpipe.errors import ConfigError
from mlpipe.io.pipeline import DVC_YAML
from mlpipe.tasks.checkconfig import main

pytestmark = pytest.mark.unit
ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(
    ("old", "new", "says"),
    [
        ("    learning_rate: 0.1\n", "    learnign_rate: 0.1\n", "learnign_rate: Extra inputs are not permitted"),
        ("  threshold: 0.5", "  threshold: 1.5", "evaluate.threshold"),
        ("minimums: {roc_auc:", "minimums: {auc:", "auc"),
    ],
)
def test_a_config_mistake_stops_before_dvc_runs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, old: str, new: str, says: str
) -> None:
    for name in (DVC_YAML, "params.yaml", "contract.yaml"):
        shutil.copy(ROOT / name, tmp_path / name)
    monkeypatch.chdir(tmp_path)
    main([])  # the repository's own config is valid
    params = tmp_path / "params.yaml"
    text = params.read_text(encoding="utf-8")
    assert old in text
    params.write_text(text.replace(old, new, 1), encoding="utf-8")
    with pytest.raises(ConfigError, match=rf"params\.yaml[\s\S]*{says}"):
        main([])


def test_make_repro_checks_the_config_before_dvc_repro() -> None:
    dry = subprocess.run(["make", "-n", "repro"], cwd=ROOT, capture_output=True, text=True, check=True).stdout
    lines = dry.splitlines()
    check = next(i for i, line in enumerate(lines) if "mlpipe.tasks.checkconfig" in line)
    repro = next(i for i, line in enumerate(lines) if line.rstrip().endswith("dvc repro"))
    assert check < repro
