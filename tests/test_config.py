from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from mlpipe.config import Contract, Params, SplitParams, check_against_contract, parse_contract, parse_params
from mlpipe.errors import ConfigError

pytestmark = pytest.mark.unit
INVALID = Path(__file__).parent / "confs" / "invalid"


def test_repo_config_is_valid(params: Params, contract: Contract) -> None:
    assert contract.target not in contract.features
    cat, num = contract.feature_kinds()
    assert sorted(cat + num) == sorted(contract.features)
    assert set(params.gate.max_slice_gap) <= set(contract.sensitive)


@pytest.mark.example
def test_example_config(params: Params, contract: Contract) -> None:
    assert params.train.model.kind == "hist_gradient_boosting"
    cat, num = contract.feature_kinds()
    assert num == ["AGEP"]
    assert "SEX" in cat


@pytest.mark.parametrize("path", sorted(INVALID.glob("params_*.yaml")), ids=lambda p: p.stem)
def test_invalid_params_are_rejected_naming_the_key(path: Path, root: Path) -> None:
    """Each file is the repo's params.yaml with one mistake; its first line names the key."""
    text = path.read_text()
    expected = text.splitlines()[0].removeprefix("# expect: ").strip()
    with pytest.raises(ConfigError, match=expected):
        parse_params(yaml.safe_load(text), path.name)


@pytest.mark.parametrize("path", sorted(INVALID.glob("contract_*.yaml")), ids=lambda p: p.stem)
def test_invalid_contracts_are_rejected(path: Path) -> None:
    text = path.read_text()
    expected = text.splitlines()[0].removeprefix("# expect: ").strip()
    with pytest.raises(ConfigError, match=expected):
        parse_contract(yaml.safe_load(text), path.name)


def test_slice_gap_must_name_a_sensitive_attribute(root: Path, contract: Contract) -> None:
    raw = yaml.safe_load((root / "params.yaml").read_text())
    raw["gate"]["max_slice_gap"]["ZIP"] = 0.1
    with pytest.raises(ConfigError, match=r"max_slice_gap: \['ZIP'\]"):
        check_against_contract(parse_params(raw), contract)


def test_temporal_split_needs_a_time_column(params: Params, contract: Contract) -> None:
    no_time = contract.model_copy(update={"time": None})
    temporal = params.model_copy(update={"split": SplitParams(strategy="temporal")})
    with pytest.raises(ConfigError, match="names no 'time' column"):
        check_against_contract(temporal, no_time)
