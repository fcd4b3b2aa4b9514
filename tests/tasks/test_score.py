from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from mlpipe.core.schema import target_values
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


def test_bad_rows_stop_the_run_and_keep_the_previous_output(served: Served, tmp_path: Path) -> None:
    rows = served.test_raw.copy()
    coded, values = coded_feature(served.contract)
    bad = unknown_value(values)
    rows[coded] = rows[coded].astype(object)
    rows.loc[7, coded] = bad
    rows.to_csv(tmp_path / "in.csv", index=False)
    (tmp_path / "out.csv").write_text("previous results\n")
    res = score(served, str(tmp_path / "in.csv"), str(tmp_path / "out.csv"))
    assert res.returncode == 1
    assert f"{coded}: 1 values not one of" in res.stderr
    assert f"row 8: {bad!r}" in res.stderr
    assert (tmp_path / "out.csv").read_text() == "previous results\n"
    assert "Traceback" not in res.stderr


def test_unknown_format_and_missing_file(served: Served, tmp_path: Path) -> None:
    (tmp_path / "in.xlsx").write_text("x")
    assert "can score .csv or .parquet" in score(served, str(tmp_path / "in.xlsx"), str(tmp_path / "o.csv")).stderr
    assert "no such file" in score(served, str(tmp_path / "nope.csv"), str(tmp_path / "o.csv")).stderr
