"""make score ENGINE=dask on a real two-worker cluster: parity, a worker killed mid-job, a bad partition."""

from __future__ import annotations

import dataclasses
import json
import os
import re
import signal
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from distributed import Client
from distributed.diagnostics.plugin import WorkerPlugin

from mlpipe.config import Params
from mlpipe.errors import DataError, ModelIntegrityError
from mlpipe.io.pipeline import child_env
from mlpipe.io.predlog import log_files, read_prediction_log
from mlpipe.scale.cluster import model_payload
from mlpipe.scale.score import SUCCESS, check_output, score_job
from mlpipe.serving.scorer import load_scorer
from mlpipe.tasks.score import score_file
from tests.datasets import coded_feature, unknown_value
from tests.servers import Served

pytestmark = pytest.mark.integration


def small(params: Params, partition_rows: int, chunk_rows: int) -> Params:
    scale = params.scale.model_copy(update={"partition_rows": partition_rows})
    serve = params.serve.model_copy(update={"score_chunk_rows": chunk_rows})
    return params.model_copy(update={"scale": scale, "serve": serve})


def many(served: Served, copies: int) -> pd.DataFrame:
    """The test rows ``copies`` times over, each copy with its own ids (numbers or text, as the contract has)."""
    key, rows = served.contract.id, served.test_raw

    def ids(i: int) -> pd.Series:
        col = rows[key]
        return col + i * 10_000_000 if pd.api.types.is_numeric_dtype(col) else col.astype(str) + f"-{i}"

    return pd.concat([rows.assign(**{key: ids(i)}) for i in range(copies)], ignore_index=True)


def expected(served: Served, copies: int) -> np.ndarray:
    """The evaluate stage's probabilities for ``many(served, copies)``, in its order."""
    return np.tile(served.trained.loc[served.test_raw[served.contract.id]].to_numpy(), copies)


def score(served: Served, src: str, dst: Path, params: Params, logs: Path | None) -> int:
    payload = model_payload(served.paths.card, served.contract, root=served.repo)
    return score_job(src, dst, payload, params, logs, progress=False)


def test_parity_with_the_pandas_path_over_files_folders_and_globs(
    served: Served, at_cluster: str, tmp_path: Path
) -> None:
    rows, key = many(served, 3), served.contract.id
    (tmp_path / "in").mkdir()
    third = len(rows) // 3
    rows.iloc[:third].to_parquet(tmp_path / "in" / "a.parquet", row_group_size=100)
    rows.iloc[third : 2 * third].to_csv(tmp_path / "in" / "b.csv", index=False)
    rows.iloc[2 * third :].to_csv(tmp_path / "in" / "c.csv", index=False)
    params = small(served.params, partition_rows=250, chunk_rows=70)
    logs = tmp_path / "log"
    n = score(served, str(tmp_path / "in"), tmp_path / "out", params, logs)
    assert n == len(rows)
    out = pd.read_parquet(tmp_path / "out")
    assert len(list((tmp_path / "out").glob("part-*.parquet"))) > 6  # several partitions per file
    assert out[key].tolist() == rows[key].tolist()  # every row once, in order
    assert np.array_equal(out["probability"].to_numpy(), expected(served, 3))
    # the single-process path on the same rows: the same bits
    rows.to_csv(tmp_path / "all.csv", index=False)
    scorer = load_scorer(served.paths.card, served.contract, root=served.repo)
    score_file(tmp_path / "all.csv", tmp_path / "single.parquet", scorer, 1000, None, progress=False)
    single = pd.read_parquet(tmp_path / "single.parquet")
    assert np.array_equal(out["probability"].to_numpy(), single["probability"].to_numpy())
    assert out["prediction"].astype(str).tolist() == single["prediction"].astype(str).tolist()
    logged = read_prediction_log(logs)
    assert sorted(logged["id"]) == sorted(rows[key])
    assert logged["request_id"].is_unique
    assert set(logged["model_version"]) == {scorer.version}
    assert sorted(p.name for p in logs.iterdir()) == [p.name for p in log_files(logs)]  # no staging left
    # a glob, re-run into the same folder: replaced whole
    n = score(served, str(tmp_path / "in" / "*.csv"), tmp_path / "out", params, None)
    assert n == len(rows) - third
    assert len(pd.read_parquet(tmp_path / "out")) == n
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".")) == []


class KillOnce(WorkerPlugin):
    """SIGKILLs its worker shortly after the worker starts its ``after``-th scoring task, once per test."""

    def __init__(self, marker: str, after: int) -> None:
        self.marker, self.after, self.started = marker, after, 0

    def transition(self, key: Any, start: str, finish: str, **kwargs: Any) -> None:
        if finish != "executing" or "score-" not in str(key):
            return
        self.started += 1
        if self.started == self.after:
            try:
                os.close(os.open(self.marker, os.O_CREAT | os.O_EXCL))
            except FileExistsError:
                return
            threading.Timer(0.02, os.kill, (os.getpid(), signal.SIGKILL)).start()


def test_a_worker_killed_mid_job_loses_and_duplicates_nothing(served: Served, at_cluster: str, tmp_path: Path) -> None:
    rows, key = many(served, 20), served.contract.id
    rows.to_parquet(tmp_path / "in.parquet", row_group_size=200)
    marker = tmp_path / "killed"
    with Client(at_cluster) as client:
        before = set(client.scheduler_info()["workers"])
        client.register_plugin(KillOnce(str(marker), after=2), name="kill-once")
        try:
            n = score(
                served, str(tmp_path / "in.parquet"), tmp_path / "out", small(served.params, 400, 100), tmp_path / "log"
            )
        finally:
            client.unregister_worker_plugin("kill-once")
        assert marker.exists()
        assert set(client.scheduler_info()["workers"]) != before  # a worker died (and its nanny restarted it)
    names = {p.name for p in (tmp_path / "out").iterdir()}
    assert all(n == SUCCESS or re.fullmatch(r"part-\d{5}\.parquet", n) for n in names), names  # no dead attempt's
    assert n == len(rows)
    out = pd.read_parquet(tmp_path / "out")
    assert out[key].tolist() == rows[key].tolist()
    assert np.array_equal(out["probability"].to_numpy(), expected(served, 20))
    logged = read_prediction_log(tmp_path / "log")
    assert len(logged) == len(rows)
    assert sorted(logged["id"]) == sorted(rows[key])
    assert logged["request_id"].is_unique


def test_a_bad_partition_fails_the_job_naming_file_column_and_row(
    served: Served, at_cluster: str, tmp_path: Path
) -> None:
    rows = many(served, 4)
    coded, values = coded_feature(served.contract)
    bad = unknown_value(values)
    (tmp_path / "in").mkdir()
    half = len(rows) // 2
    rows.iloc[:half].to_csv(tmp_path / "in" / "a.csv", index=False)
    broken = rows.iloc[half:].reset_index(drop=True)
    broken[coded] = broken[coded].astype(object)
    where = len(broken) - 5  # in the file's last block: its row number is counted, not known
    broken.loc[where, coded] = bad
    broken.to_csv(tmp_path / "in" / "b.csv", index=False)
    previous = tmp_path / "out"
    previous.mkdir()
    (previous / SUCCESS).write_text(
        '{"job": "earlier", "model_sha256": "x", "rows": 1, "parts": {"part-00000.parquet": 1}}'
    )
    (previous / "part-00000.parquet").write_bytes(b"earlier result")
    with pytest.raises(DataError) as err:
        score(served, str(tmp_path / "in"), previous, small(served.params, 150, 50), tmp_path / "log")
    msg = str(err.value)
    assert str(tmp_path / "in" / "b.csv") in msg
    assert f"{coded}: 1 values not one of" in msg
    assert f"row {where + 1}: {bad!r}" in msg
    assert sorted(p.name for p in previous.iterdir()) == [SUCCESS, "part-00000.parquet"]  # untouched
    assert (previous / "part-00000.parquet").read_bytes() == b"earlier result"
    assert not list((tmp_path / "log").iterdir())  # nothing logged for a job that did not finish
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def test_make_score_engine_dask_on_a_local_cluster(served: Served, tmp_path: Path) -> None:
    """The command line, with no address: a local cluster of its own."""
    served.test_raw.to_parquet(tmp_path / "in.parquet")
    env = {k: v for k, v in child_env(served.repo).items() if k != "DASK_SCHEDULER_ADDRESS"}
    cmd = [sys.executable, "-m", "mlpipe.tasks.score", str(tmp_path / "in.parquet"), str(tmp_path / "out"),
           "--engine", "dask", "--no-progress", "--prediction-log", str(tmp_path / "log")]  # fmt: skip
    res = subprocess.run(cmd, cwd=served.repo, env=env, capture_output=True, text=True, check=False)
    assert res.returncode == 0, res.stderr
    manifest = (tmp_path / "out" / SUCCESS).read_text()
    assert json.loads(manifest)["files"] == [str(tmp_path / "in.parquet")]  # absolute: what remote workers get
    assert served.card["model"]["sha256"] in manifest
    assert f'"rows": {len(served.test_raw)}' in manifest
    assert len(read_prediction_log(tmp_path / "log")) == len(served.test_raw)


def test_an_output_that_is_not_an_earlier_result_is_refused(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="writes a folder of parquet parts"):
        check_output(tmp_path / "out.csv")
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "notes.txt").write_text("keep me")
    with pytest.raises(DataError, match=r"is not an earlier `make score ENGINE=dask` result \(no _SUCCESS manifest\)"):
        check_output(tmp_path / "mine")
    check_output(tmp_path / "new")
    (tmp_path / "spark").mkdir()
    (tmp_path / "spark" / SUCCESS).write_text("")  # Spark's, Hadoop's: not ours to replace
    with pytest.raises(DataError, match="its _SUCCESS is not this job's manifest"):
        check_output(tmp_path / "spark")
    ours = tmp_path / "scored"  # an earlier result the user added a file to: a rerun would delete it
    ours.mkdir()
    (ours / "part-00000.parquet").write_bytes(b"PAR1")
    manifest = {"job": "j", "model_sha256": "m", "rows": 1, "parts": {"part-00000.parquet": 1}}
    (ours / SUCCESS).write_text(json.dumps(manifest))
    check_output(ours)
    (ours / "analysis.md").write_text("keep me")
    with pytest.raises(DataError, match=r"holding files it did not write \(analysis.md\)"):
        check_output(ours)


def test_an_output_folder_holding_the_input_is_refused_before_any_work(served: Served, tmp_path: Path) -> None:
    served.test_raw.head(20).to_parquet(tmp_path / "in.parquet")
    payload = model_payload(served.paths.card, served.contract, root=served.repo)
    for dst in (tmp_path, tmp_path / "in.parquet"):
        with pytest.raises(DataError, match="is or holds the input"):
            score_job(str(tmp_path / "in.parquet"), dst, payload, served.params, None, False)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.parquet"]


def test_each_worker_checks_the_models_hash_before_loading_it(served: Served, at_cluster: str, tmp_path: Path) -> None:
    """Bytes that changed on the way (here: before the scatter) never load on a worker."""
    good = model_payload(served.paths.card, served.contract, root=served.repo)
    tampered = dataclasses.replace(good, model=good.model[:-1] + bytes([good.model[-1] ^ 1]))
    served.test_raw.to_parquet(tmp_path / "in.parquet")
    with pytest.raises(ModelIntegrityError, match=r"worker .* pid \d+: model sha256 .* does not match the card's"):
        score_job(str(tmp_path / "in.parquet"), tmp_path / "out", tampered, served.params, tmp_path / "log", False)
    assert not (tmp_path / "out").exists()
    assert not list((tmp_path / "log").iterdir())
