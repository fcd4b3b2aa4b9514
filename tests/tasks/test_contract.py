"""``make contract``: the CLI drafts contract.yaml from a folder or a file, and never clobbers one."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import yaml

from mlpipe.config import parse_contract
from mlpipe.tasks.contract import render
from tests.repos import Ran, invoke


def people(n: int, seed: int, start: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    df = pd.DataFrame(
        {
            "person_id": np.arange(start, start + n),
            "age": rng.integers(18, 80, n).astype(float),
            "sex": rng.choice(["F", "M"], n),
            "job": rng.choice(["clerk", "nurse", "driver"], n),
            "wage": rng.lognormal(10, 0.5, n),
            "income": rng.choice([">50K", "<=50K"], n, p=[0.3, 0.7]),
        }
    )
    df.loc[rng.random(n) < 0.1, "age"] = np.nan
    return df


def panel(n: int = 200, seed: int = 3) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "ID": np.arange(n),
            "batch": rng.choice([1, 2, 3, 4], n),
            "code": rng.choice([10, 20, 30], n),
            "x": rng.normal(0, 1, n),
            "flag": rng.choice([True, False], n),
            "y": rng.choice([0, 1], n),
        }
    )


def run(cwd: Path, *args: str) -> Ran:
    """The task in this process (the last test runs it as a command)."""
    return invoke("mlpipe.tasks.contract", *args, cwd=cwd)


def load(path: Path) -> dict[str, Any]:
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    parse_contract(raw, str(path))
    assert isinstance(raw, dict)
    return raw


@pytest.mark.integration
def test_drafts_from_a_folder_of_two_csvs(tmp_path: Path) -> None:
    (tmp_path / "data").mkdir()
    people(150, 0).to_csv(tmp_path / "data" / "part_a.csv", index=False)
    people(100, 1, start=150).to_csv(tmp_path / "data" / "part_b.csv", index=False)
    (tmp_path / "data" / "README.txt").write_text("not data")
    res = run(tmp_path, "--data", "data", "--target", "income")
    assert res.returncode == 0, res.stderr
    text = (tmp_path / "contract.yaml").read_text(encoding="utf-8")
    assert text.startswith("# Data contract DRAFTED by `make contract` from data (250 rows, 2 files)")
    assert "review it before `make repro`" in text
    assert "#  - positive class is '>50K'" in text
    raw = load(tmp_path / "contract.yaml")
    assert list(raw) == ["name", "description", "id", "target", "positive", "time", "min_rows", "features",
                         "sensitive", "columns"]  # fmt: skip
    assert (raw["name"], raw["id"], raw["target"], raw["positive"], raw["time"]) == (
        "data", "person_id", "income", ">50K", None,
    )  # fmt: skip
    assert raw["features"] == ["age", "sex", "job", "wage"]
    assert raw["sensitive"] == {}
    assert raw["columns"]["age"]["nullable"] is True
    assert "drafted contract.yaml: 6 columns (4 features), id 'person_id'" in res.stderr
    assert "review: min_rows is 25" in res.stderr


@pytest.mark.integration
def test_drafts_from_a_parquet_file_with_a_time_column(tmp_path: Path) -> None:
    panel().to_parquet(tmp_path / "My Panel-2024.parquet", index=False)
    res = run(tmp_path, "--data", "My Panel-2024.parquet", "--target", "y", "--out", "conf/draft.yaml")
    assert res.returncode == 0, res.stderr
    raw = load(tmp_path / "conf" / "draft.yaml")
    assert (raw["name"], raw["id"], raw["time"], raw["positive"]) == ("my_panel_2024", "ID", "batch", 1)
    assert raw["columns"]["flag"] == {"dtype": "bool"}
    assert raw["columns"]["code"] == {"dtype": "int", "allowed": [10, 20, 30]}
    assert "in 1 file:" in raw["description"]


@pytest.mark.integration
def test_never_overwrites_without_force(tmp_path: Path) -> None:
    panel().to_csv(tmp_path / "panel.csv", index=False)
    reviewed = "# reviewed by hand\nname: mine\n"
    (tmp_path / "contract.yaml").write_text(reviewed)
    res = run(tmp_path, "--data", "panel.csv", "--target", "y", "--name", "panel")
    assert res.returncode == 1
    assert "contract.yaml exists" in res.stderr
    assert "--force" in res.stderr
    assert "FORCE=1" in res.stderr
    assert "Traceback" not in res.stderr
    assert (tmp_path / "contract.yaml").read_text() == reviewed
    res = run(tmp_path, "--data", "panel.csv", "--target", "y", "--name", "panel", "--force")
    assert res.returncode == 0, res.stderr
    assert load(tmp_path / "contract.yaml")["name"] == "panel"
    data = (tmp_path / "panel.csv").read_bytes()
    (tmp_path / "link.yaml").symlink_to(tmp_path / "panel.csv")
    for out in ("panel.csv", "link.yaml", "."):  # even --force never replaces the data it drafts from
        res = run(tmp_path, "--data", "panel.csv", "--target", "y", "--out", out, "--force")
        assert res.returncode == 1, out
        assert "is a folder or one of the data files" in res.stderr
    assert (tmp_path / "panel.csv").read_bytes() == data


@pytest.mark.integration
def test_bad_input_is_one_clear_message(tmp_path: Path) -> None:
    (tmp_path / "data").mkdir()
    panel().to_csv(tmp_path / "data" / "a.csv", index=False)
    (tmp_path / "data" / "b.parquet").write_bytes(b"not parquet")
    res = run(tmp_path, "--data", "data", "--target", "y")
    assert res.returncode == 1
    assert "b.parquet: cannot be read" in res.stderr
    (tmp_path / "data" / "b.parquet").unlink()
    panel().drop(columns="x").to_csv(tmp_path / "data" / "c.csv", index=False)
    res = run(tmp_path, "--data", "data", "--target", "y")
    assert res.returncode == 1
    assert "c.csv: columns differ from a.csv (extra [], missing ['x']" in res.stderr
    res = run(tmp_path, "--data", "data/a.csv", "--target", "code")
    assert res.returncode == 1
    assert "exactly 2 distinct values" in res.stderr
    assert "Traceback" not in res.stderr
    assert not (tmp_path / "contract.yaml").exists()


@pytest.mark.unit
def test_render_reads_back_exactly_with_awkward_names_and_values() -> None:
    columns = {
        "id": {"dtype": "int", "min": 0},
        "yes": {"dtype": "str", "nullable": True, "allowed": ["on", "null", "007", "a: b", "#x", "é"]},
        "a: b": {"dtype": "float", "min": -0.5, "max": 1e21},
        "long": {"dtype": "str", "allowed": [f"value number {i}" for i in range(20)]},
        "y": {"dtype": "bool", "allowed": [False, True]},
    }
    contract = {"name": "n", "description": "d: e", "id": "id", "target": "y", "positive": True, "time": None,
                "min_rows": 1, "features": ["yes", "a: b", "long"], "sensitive": {}, "columns": columns}  # fmt: skip
    text = render(contract, ["a note that is long enough to be wrapped " * 5], "here")
    assert yaml.safe_load(text) == contract
    parse_contract(yaml.safe_load(text))
    assert "  id: {dtype: int, min: 0}\n" in text
    assert "  long:\n    dtype: str\n" in text  # too long for one line
    assert all(len(line) <= 120 for line in text.splitlines() if line.startswith("#"))


def test_zip_codes_stay_text_and_ints_written_as_46_0_are_floats(tmp_path: Path) -> None:
    """The draft agrees with validation: `02134` is a code, and an int column exported as `46.0` is a float."""
    import pandas as pd
    import yaml

    from mlpipe.config import parse_contract
    from mlpipe.stages import validate as stage

    data = tmp_path / "data"
    data.mkdir()
    n = 200
    pd.DataFrame({"id": range(n), "zip": [f"0{2100 + i % 7}" for i in range(n)],
                  "age": [float(20 + i % 50) if i % 9 else None for i in range(n)],
                  "y": [i % 2 for i in range(n)]}).to_csv(data / "a.csv", index=False)  # fmt: skip
    cmd = [sys.executable, "-m", "mlpipe.tasks.contract", "--data", "data", "--target", "y"]
    res = subprocess.run(cmd, cwd=tmp_path, capture_output=True, text=True, check=False)
    assert res.returncode == 0, res.stderr
    drafted = yaml.safe_load((tmp_path / "contract.yaml").read_text())
    assert drafted["columns"]["zip"]["dtype"] == "str"
    assert drafted["columns"]["age"]["dtype"] == "float"
    report = stage.validate(data, parse_contract(drafted))
    assert report["success"], [c for c in report["checks"] if not c["success"]]


@pytest.mark.integration
def test_64_bit_hashes_with_blanks_are_drafted_as_nullable_text_and_validate(tmp_path: Path) -> None:
    """Beyond int64 a whole number is an identifier or a code: text, exact; pandas 3 keeps the blanks of such
    a column as "" (not missing), which the draft must not take for a value."""
    from mlpipe.stages import validate as stage

    data = tmp_path / "data"
    data.mkdir()
    n = 200
    hashes = [str(2**63 + i) if i % 7 else "" for i in range(n)]
    df = pd.DataFrame(
        {"id": range(n), "h": hashes, "x": [float(i % 13) for i in range(n)], "y": [i % 2 for i in range(n)]}
    )
    df.to_csv(data / "a.csv", index=False)
    res = run(tmp_path, "--data", "data", "--target", "y")
    assert res.returncode == 0, res.stderr
    drafted = load(tmp_path / "contract.yaml")
    assert drafted["columns"]["h"]["dtype"] == "str"
    assert drafted["columns"]["h"]["nullable"] is True
    assert "" not in drafted["columns"]["h"].get("allowed", [])
    report = stage.validate(data, parse_contract(drafted))
    assert report["success"], [c for c in report["checks"] if not c["success"]]


@pytest.mark.integration
def test_an_empty_text_in_a_parquet_file_is_a_value(tmp_path: Path) -> None:
    """A parquet file stores "" as a value (a CSV blank is missing): the draft allows it, and validates."""
    from mlpipe.stages import validate as stage

    data = tmp_path / "data"
    data.mkdir()
    n = 300
    df = pd.DataFrame({"id": range(n), "colour": [("red", "blue", "")[i % 3] for i in range(n)],
                       "x": [float(i % 11) for i in range(n)], "y": [i % 2 for i in range(n)]})  # fmt: skip
    df.to_parquet(data / "a.parquet", index=False)
    res = run(tmp_path, "--data", "data", "--target", "y")
    assert res.returncode == 0, res.stderr
    drafted = load(tmp_path / "contract.yaml")
    assert "" in drafted["columns"]["colour"]["allowed"]
    report = stage.validate(data, parse_contract(drafted))
    assert report["success"], [c for c in report["checks"] if not c["success"]]
