from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from mlpipe.core.schema import target_values
from mlpipe.errors import DataError
from mlpipe.io.predlog import read_prediction_log
from mlpipe.serving.scorer import load_scorer
from mlpipe.tasks.score import score_file
from tests.datasets import coded_feature, unknown_value
from tests.repos import Ran, invoke
from tests.servers import Served

pytestmark = pytest.mark.integration


def score(served: Served, *args: str) -> Ran:
    return invoke("mlpipe.tasks.score", *args, "--no-progress", "--prediction-log", "off", cwd=served.repo)


def test_csv_and_parquet_in_chunks(served: Served, tmp_path: Path) -> None:
    rows = served.test_raw
    rows.to_parquet(tmp_path / "in.parquet")
    rows.to_csv(tmp_path / "in.csv", index=False)
    for src, dst in (("in.parquet", "out.csv"), ("in.csv", "out.parquet")):
        res = score(served, str(tmp_path / src), str(tmp_path / dst))
        assert res.returncode == 0, res.stderr
        out = pd.read_csv(tmp_path / dst) if dst.endswith(".csv") else pd.read_parquet(tmp_path / dst)
        key = served.contract.id
        assert out[key].tolist() == rows[key].tolist()
        assert out["probability"].tolist() == [served.trained[i] for i in rows[key]]
        assert {str(p) for p in out["prediction"]} <= {str(v) for v in target_values(served.contract)}


def test_bad_rows_stop_the_run_keep_the_previous_output_and_log_nothing(served: Served, tmp_path: Path) -> None:
    """Chunks of 50 rows and a bad value at row 120: two chunks were scored before the run stopped."""
    rows = served.test_raw.copy()
    rows.head(30).to_csv(tmp_path / "first.csv", index=False)
    res = score(served, str(tmp_path / "first.csv"), str(tmp_path / "out.csv"))
    assert res.returncode == 0, res.stderr
    previous = (tmp_path / "out.csv").read_bytes()
    coded, values = coded_feature(served.contract)
    bad = unknown_value(values)
    rows[coded] = rows[coded].astype(object)
    rows.loc[119, coded] = bad
    rows.to_csv(tmp_path / "in.csv", index=False)
    scorer = load_scorer(served.paths.card, served.contract, root=served.repo)
    with pytest.raises(DataError, match=rf"(?s)cannot score rows 101-150.*{coded}: 1 values not one of.*row 120"):
        score_file(tmp_path / "in.csv", tmp_path / "out.csv", scorer, 50, tmp_path / "log", progress=False)
    assert (tmp_path / "out.csv").read_bytes() == previous
    assert list((tmp_path / "log").iterdir()) == [], "no log rows of a run that failed"
    res = score(served, str(tmp_path / "in.csv"), str(tmp_path / "out2.csv"))  # the command: one line, no traceback
    assert res.returncode == 1
    assert f"row 120: {bad!r}" in res.stderr
    assert "Traceback" not in res.stderr


def test_a_successful_run_logs_every_row_once(served: Served, tmp_path: Path) -> None:
    served.test_raw.to_csv(tmp_path / "in.csv", index=False)
    scorer = load_scorer(served.paths.card, served.contract, root=served.repo)
    n = score_file(tmp_path / "in.csv", tmp_path / "out.parquet", scorer, 50, tmp_path / "log", progress=False)
    assert n == len(served.test_raw)
    logged = read_prediction_log(tmp_path / "log")
    assert sorted(logged["id"].tolist()) == sorted(served.test_raw[served.contract.id].tolist())
    assert [p.name for p in (tmp_path / "log").iterdir() if p.name.startswith(".")] == []  # no staging left


def test_never_replaces_the_input_a_folder_or_a_file_it_did_not_write(served: Served, tmp_path: Path) -> None:
    rows = served.test_raw.head(40)
    rows.to_csv(tmp_path / "in.csv", index=False)
    rows.to_parquet(tmp_path / "in.parquet")
    (tmp_path / "link.csv").symlink_to(tmp_path / "in.csv")
    (tmp_path / "folder").mkdir()
    (tmp_path / "mine.csv").write_text("notes,of,mine\n")
    cases = {
        ("in.csv", "in.csv"): "is the input",
        ("in.parquet", "in.parquet"): "is the input",
        ("in.csv", "link.csv"): "is the input",  # OUT a symlink to IN
        ("link.csv", "in.csv"): "is the input",  # IN a symlink to OUT
        ("in.csv", "folder"): "is a folder",
        ("in.csv", "mine.csv"): "is not an earlier `make score` result",
    }
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir() if p.is_file()}
    for (src, dst), why in cases.items():
        res = invoke("mlpipe.tasks.score", str(tmp_path / src), str(tmp_path / dst), "--no-progress",
                     "--prediction-log", str(tmp_path / "log"), cwd=served.repo)  # fmt: skip
        assert res.returncode == 1, (src, dst)
        assert why in res.stderr, (src, dst, res.stderr)
        assert "Traceback" not in res.stderr
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir() if p.is_file()} == before
    assert list((tmp_path / "folder").iterdir()) == []
    assert not (tmp_path / "log").exists() or read_prediction_log(tmp_path / "log").empty
    for out in ("again.csv", "again.parquet"):  # its own earlier result is replaced
        for _ in range(2):
            res = score(served, str(tmp_path / "in.csv"), str(tmp_path / out))
            assert res.returncode == 0, res.stderr


def test_unknown_format_and_missing_file(served: Served, tmp_path: Path) -> None:
    (tmp_path / "in.xlsx").write_text("x")
    assert "can score .csv or .parquet" in score(served, str(tmp_path / "in.xlsx"), str(tmp_path / "o.csv")).stderr
    assert "no such file" in score(served, str(tmp_path / "nope.csv"), str(tmp_path / "o.csv")).stderr
    assert "name IN and OUT: make score IN=" in score(served, "", "").stderr  # make passes "" when not given
    assert "name OUT: make score IN=" in score(served, str(tmp_path / "in.xlsx"), " ").stderr


def test_a_contract_edited_since_training_is_refused_at_load_naming_the_change(served: Served) -> None:
    """Before: the service said ready and answered every request 500; score and monitor crashed."""
    from mlpipe.errors import ConfigError

    c = served.contract
    fewer = c.model_copy(update={"features": c.features[1:]})
    with pytest.raises(ConfigError, match=rf"model\.json: .*dropped \['{c.features[0]}'\].*make repro"):
        load_scorer(served.paths.card, fewer, root=served.repo)
    moved = c.model_copy(update={"features": [*c.features[1:], c.features[0]]})
    with pytest.raises(ConfigError, match="the same columns in another order"):
        load_scorer(served.paths.card, moved, root=served.repo)
    other = c.model_copy(update={"target": "another_target"})
    with pytest.raises(ConfigError, match=f"the model predicts '{c.target}'"):
        load_scorer(served.paths.card, other, root=served.repo)
    assert load_scorer(served.paths.card, c, root=served.repo).contract is c
