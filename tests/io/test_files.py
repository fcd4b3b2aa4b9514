"""Reading a data file as every part of the pipeline reads it."""

from __future__ import annotations

from pathlib import Path

import pytest

from mlpipe.io.files import read_table

pytestmark = pytest.mark.unit


def test_a_csv_blank_is_missing_even_beside_a_number_beyond_int64(tmp_path: Path) -> None:
    """pandas 3 reads such a column as text and keeps its blanks as "": validation would show them, not the
    number, as the bad cells."""
    f = tmp_path / "a.csv"
    f.write_text("id,h\n1,\n2,-3\n3,12345678901234567890\n4,\n")
    h = read_table(f)["h"]
    assert h.isna().tolist() == [True, False, False, True]
    assert h.dropna().tolist() == ["-3", "12345678901234567890"]


@pytest.fixture(params=["libyaml", "pure"])
def yaml_loader(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """load_yaml with libyaml's parser (PyYAML's wheels) and with the pure-Python one (a PyYAML built
    without libyaml): the same answers."""
    import yaml

    from mlpipe.io import files

    if request.param == "pure":
        monkeypatch.setattr(files, "_UniqueKeys", type("PureUniqueKeys", (files._NoDuplicateKeys, yaml.SafeLoader), {}))
    else:
        assert issubclass(files._UniqueKeys, yaml.CSafeLoader), "PyYAML without libyaml: every stage parses slower"
    return str(request.param)


def test_a_key_given_twice_in_a_config_file_is_refused_naming_both_lines(tmp_path: Path, yaml_loader: str) -> None:
    """PyYAML keeps the last: a second ``gate:`` would silently drop every bound of the first."""
    from mlpipe.errors import ConfigError
    from mlpipe.io.files import load_yaml

    path = tmp_path / "params.yaml"
    path.write_text("gate:\n  minimums: {roc_auc: 0.8}\nseed: 0\ngate:\n  must_beat_baseline: true\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"params\.yaml: .*key 'gate' appears twice \(lines 1 and 4\)"):
        load_yaml(path)
    path.write_text("a:\n  x: 1\n  b:\n    y: 1\n    y: 2\n", encoding="utf-8")  # at any depth
    with pytest.raises(ConfigError, match=r"key 'y' appears twice \(lines 4 and 5\)"):
        load_yaml(path)
    path.write_text("a: {x: 1, y: 2}\nb: [1, 1]\n", encoding="utf-8")  # equal values are fine, nested keys unique
    assert load_yaml(path) == {"a": {"x": 1, "y": 2}, "b": [1, 1]}


def test_merge_keys_and_anchors_load_and_a_merged_key_may_be_overridden(tmp_path: Path, yaml_loader: str) -> None:
    """``<<: *defaults`` is YAML's (and DVC's) way to share settings: not a key given twice."""
    from mlpipe.errors import ConfigError
    from mlpipe.io.files import load_yaml

    path = tmp_path / "params.yaml"
    path.write_text(
        "base: &base {max_iter: 100, l2: 0.1}\nmodel:\n  <<: *base\n  l2: 0.5\nother:\n  <<: [*base]\n",
        encoding="utf-8",
    )
    assert load_yaml(path) == {
        "base": {"max_iter": 100, "l2": 0.1},
        "model": {"max_iter": 100, "l2": 0.5},
        "other": {"max_iter": 100, "l2": 0.1},
    }
    path.write_text("base: &base {a: 1}\nmodel:\n  <<: *base\n  b: 1\n  b: 2\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"key 'b' appears twice \(lines 4 and 5\)"):
        load_yaml(path)


def test_a_config_file_that_is_not_utf8_is_a_config_error_naming_it(tmp_path: Path, yaml_loader: str) -> None:
    from mlpipe.errors import ConfigError
    from mlpipe.io.files import load_yaml

    path = tmp_path / "contract.yaml"
    path.write_bytes("name: caf\u00e9\n".encode("latin-1"))
    with pytest.raises(ConfigError, match=r"contract\.yaml: not UTF-8 text"):
        load_yaml(path)


@pytest.mark.parametrize("text", ["{bad", "<<<<<<< HEAD\n{}\n", "\udcff"])
def test_a_json_file_that_is_not_json_is_a_data_error_naming_it(tmp_path: Path, text: str) -> None:
    from mlpipe.errors import DataError
    from mlpipe.io.files import read_json

    path = tmp_path / "metrics.json"
    path.write_bytes(text.encode("utf-8", "surrogateescape"))
    with pytest.raises(DataError, match=r"metrics\.json: not valid JSON"):
        read_json(path)
