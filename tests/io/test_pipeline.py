"""The dvc.yaml paths model: every key typed, a missing or unknown one named, and the Makefile's CLI."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import ValidationError

from mlpipe.errors import ConfigError
from mlpipe.io.pipeline import DVC_YAML, PipelinePaths, main, parse_paths, pipeline_paths, top_dirs

pytestmark = pytest.mark.unit
ROOT = Path(__file__).resolve().parents[2]


def raw_paths() -> dict[str, Any]:
    return dict(yaml.safe_load((ROOT / DVC_YAML).read_text())["vars"][0]["paths"])


def write_dvc_yaml(tmp_path: Path, paths: dict[str, Any]) -> Path:
    path = tmp_path / DVC_YAML
    path.write_text(yaml.safe_dump({"vars": [{"paths": paths}], "stages": {}}))
    return path


def test_the_repository_dvc_yaml_fills_every_field_with_a_relative_path(paths: PipelinePaths) -> None:
    assert {k: v.as_posix() for k, v in paths.model_dump().items()} == raw_paths()
    assert not any(p.is_absolute() for p in paths.model_dump().values())


def test_a_missing_key_is_named_with_the_file(tmp_path: Path) -> None:
    raw = raw_paths()
    del raw["card"]
    with pytest.raises(ConfigError, match=r"(?s)dvc\.yaml vars\.paths is invalid.*card: missing"):
        pipeline_paths(write_dvc_yaml(tmp_path, raw))


def test_an_unknown_key_is_named_with_the_file(tmp_path: Path) -> None:
    raw = raw_paths() | {"modle": "models/modle.skops"}
    with pytest.raises(ConfigError, match=r"(?s)dvc\.yaml vars\.paths is invalid.*modle: unknown key"):
        pipeline_paths(write_dvc_yaml(tmp_path, raw))


def test_no_paths_mapping_is_a_config_error(tmp_path: Path) -> None:
    path = tmp_path / DVC_YAML
    path.write_text("stages: {}\n")
    with pytest.raises(ConfigError, match="no 'paths' mapping under 'vars'"):
        pipeline_paths(path)


def test_a_value_that_is_not_a_path_is_named() -> None:
    with pytest.raises(ConfigError, match=r"vars\.paths is invalid:\n(?s:.*)  - model: "):
        parse_paths(raw_paths() | {"model": ["a", "b"]})


def test_the_model_is_frozen(paths: PipelinePaths) -> None:
    with pytest.raises(ValidationError):
        paths.model = Path("elsewhere.skops")  # type: ignore[misc]


def test_under_joins_every_path_to_the_root(paths: PipelinePaths, tmp_path: Path) -> None:
    at = paths.under(tmp_path)
    assert at.card == tmp_path / paths.card
    assert all(at.get(k) == tmp_path / paths.get(k) for k in PipelinePaths.model_fields)
    assert paths.card == Path(raw_paths()["card"])  # the original is left as it was


def test_get_names_an_unknown_key(paths: PipelinePaths) -> None:
    assert paths.get("smoke") == paths.smoke
    with pytest.raises(ConfigError, match=r"no path 'modle'.*known: data, params"):
        paths.get("modle")


def test_cli_prints_the_requested_paths(capsys: pytest.CaptureFixture[str]) -> None:
    raw = raw_paths()
    main(["--dvc-yaml", str(ROOT / DVC_YAML), "model", "card", "smoke"])
    assert capsys.readouterr().out == f"{raw['model']} {raw['card']} {raw['smoke']}\n"


def test_cli_names_an_unknown_key(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit, match="no path 'modle'"):
        main(["--dvc-yaml", str(ROOT / DVC_YAML), "model", "modle"])
    assert capsys.readouterr().out == ""  # nothing half-printed for make to act on


def test_cli_top_prints_each_directory_once(capsys: pytest.CaptureFixture[str]) -> None:
    main(["--dvc-yaml", str(ROOT / DVC_YAML), "--top", "model", "card", "metrics", "plots"])
    raw = raw_paths()
    assert capsys.readouterr().out.split() == list(dict.fromkeys(raw[k].split("/")[0] for k in ("model", "metrics")))


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        ({"train": "data/train.parquet"}, "shares its top directory data with an input"),
        ({"train": "/tmp/train.parquet"}, "is not inside the repository"),
        ({"train": "../train.parquet"}, "is not inside the repository"),
    ],
)
def test_top_refuses_a_directory_that_would_take_inputs_or_leave_the_repo(change: dict[str, str], problem: str) -> None:
    """``make clean`` runs ``rm -rf`` on these: a fork's moved output must not delete its data."""
    paths = parse_paths(raw_paths() | change)
    with pytest.raises(ConfigError, match=problem):
        top_dirs(paths, ["train"])
