"""make monitor ENGINE=dask on a real two-worker cluster: the same figures as the in-memory path."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pytest

from mlpipe.core.synth import synthesise
from mlpipe.errors import DataError
from mlpipe.scale.cluster import model_payload
from mlpipe.scale.monitor import data_columns
from mlpipe.scale.score import score_job
from mlpipe.tasks.monitor import monitor
from tests.datasets import bounded_numeric, coded_feature, unknown_value
from tests.scale.test_score import small
from tests.servers import Served

pytestmark = pytest.mark.integration


def same(a: Any, b: Any, path: str = "") -> None:
    """Equal, to the last bit (means are exact sums, whatever the partitions)."""
    if isinstance(a, dict):
        assert set(a) == set(b), path
        for k in a:
            same(a[k], b[k], f"{path}.{k}")
    elif isinstance(a, list):
        assert len(a) == len(b), path
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            same(x, y, f"{path}[{i}]")
    elif isinstance(a, float) and isinstance(b, float):
        assert a == b or (math.isnan(a) and math.isnan(b)), (path, a, b)
    else:
        assert a == b, (path, a, b)


def both(served: Served, window: str, monkeypatch: pytest.MonkeyPatch) -> tuple[dict[str, Any], dict[str, Any]]:
    monkeypatch.chdir(served.repo)
    memory = monitor(window, engine="pandas", progress=False)
    dask = monitor(window, engine="dask", progress=False)
    for r in (memory, dask):
        r["window"].pop("engine")
        r["window"].pop("source")
    return memory, dask


def test_a_data_window_in_partitions_gives_the_in_memory_figures(
    served: Served, at_cluster: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Drift, broken values, ids repeated across files (only the whole window shows them), labels."""
    c = served.contract
    rows = synthesise(c, 2000, seed=11, first_id=10**7)
    name, col = bounded_numeric(c)
    coded, values = coded_feature(c)
    (tmp_path / "w").mkdir()
    rows.iloc[:1000].to_parquet(tmp_path / "w" / "a.parquet", row_group_size=150)
    shifted = rows.iloc[1000:].assign(**{name: col.max})
    shifted[coded] = shifted[coded].astype(object)
    shifted.loc[shifted.index[:25], coded] = unknown_value(values)
    shifted.to_csv(tmp_path / "w" / "b.csv", index=False)
    rows.iloc[:40].to_csv(tmp_path / "w" / "c.csv", index=False)  # ids already in a.parquet
    monkeypatch.setattr("mlpipe.tasks.monitor.load_config", _small_partitions(monkeypatch))
    memory, dask = both(served, str(tmp_path / "w"), monkeypatch)
    same(memory, dask)
    assert dask["window"]["rows"] == 2040
    assert dask["verdict"]["alert"]
    failed = {(q["expectation"], q["column"]): q for q in dask["quality"]["checks"] if not q["success"]}
    assert failed[("expect_column_values_to_be_unique", c.id)]["unexpected_count"] == 80
    assert failed[("expect_column_values_to_be_in_set", coded)]["unexpected_count"] == 25
    assert next(f for f in dask["features"] if f["name"] == name)["drifted"]
    assert dask["metrics"]
    assert set(dask["slices"]) == set(c.sensitive)  # none for a fork without sensitive attributes


def test_a_prediction_log_window_in_partitions_gives_the_in_memory_figures(
    served: Served, at_cluster: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    rows = served.test_raw
    rows.to_parquet(tmp_path / "in.parquet", row_group_size=60)
    payload = model_payload(served.paths.card, served.contract, root=served.repo)
    log_dir = tmp_path / "log"
    score_job(str(tmp_path / "in.parquet"), tmp_path / "out", payload, small(served.params, 60, 30), log_dir, False)
    memory, dask = both(served, str(log_dir), monkeypatch)
    same(memory, dask)
    assert dask["window"]["rows"] == len(rows)
    assert dask["window"]["from_prediction_log"]


def _small_partitions(monkeypatch: pytest.MonkeyPatch) -> Any:
    """load_config as the monitor calls it, with partitions of 300 rows (many per file)."""
    from mlpipe.io.files import load_config

    def load(params_path: Any, contract_path: Any) -> Any:
        params, contract = load_config(params_path, contract_path)
        return small(params, 300, 300), contract

    return load


def test_a_truncated_parquet_window_is_named_not_a_traceback(served: Served, tmp_path: Path) -> None:
    """Cut off mid-file (a copy that failed): a DataError naming the file, before any cluster starts."""
    served.test_raw.to_parquet(tmp_path / "w.parquet")
    data = (tmp_path / "w.parquet").read_bytes()
    (tmp_path / "w.parquet").write_bytes(data[: len(data) // 2])
    with pytest.raises(DataError, match=r"w\.parquet: cannot be read as parquet"):
        data_columns(str(tmp_path / "w.parquet"))
