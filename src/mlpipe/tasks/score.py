"""``make score IN=... OUT=... [ENGINE=dask]``: score a CSV or parquet file of any size, chunk by chunk.

``ENGINE=dask`` (or ``scale.engine`` in params.yaml) scores a file, a folder or a glob on a Dask
cluster instead, partition by partition (:mod:`mlpipe.scale.score`); what follows is ``pandas``.

Memory stays flat (one chunk of ``serve.score_chunk_rows`` rows at a time); the model is loaded
and checked like the service does (``load_scorer``) and every chunk goes to the same prediction
log. Each chunk is checked against the contract first; a bad chunk stops the run with the
column, the problem and the row numbers, and the output file is only replaced when every row
was scored.
"""

from __future__ import annotations

import argparse
import logging
import os
import time
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from tqdm import tqdm

from mlpipe.core.schema import frame_problems
from mlpipe.errors import DataError
from mlpipe.io.files import atomic_path, load_config, text_columns
from mlpipe.io.pipeline import pipeline_paths
from mlpipe.io.predlog import PredictionLog
from mlpipe.scale.cluster import ADDRESS_ENV, model_payload
from mlpipe.scale.parts import Part, plan, read_part, source_files
from mlpipe.scale.score import score_job
from mlpipe.serving.scorer import Scorer, load_scorer, new_id, score_and_log
from mlpipe.stages import run_stage

log = logging.getLogger(__name__)


def read_chunks(path: Path, rows: int, text: list[str]) -> tuple[Iterator[pd.DataFrame], int | None]:
    """Chunks of the file and, when the format says, its row count (for the progress bar)."""
    files = source_files(path)
    if len(files) > 1:
        raise DataError(f"{path}: {len(files)} files; ENGINE=pandas scores one file, ENGINE=dask a folder or a glob")
    part = plan(files, 2**62)[0]
    if part.kind == "csv":  # one block from the header on, or a compressed file whole
        part = Part(0, str(files[0]), "csv")
    return read_part(part, rows, text), part.rows


class Writer:
    """Appends result chunks to a CSV or parquet file (chosen by the output's extension)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.parquet = path.suffix.lower() in (".parquet", ".pq")
        self._pq: pq.ParquetWriter | None = None
        self._first = True

    def write(self, df: pd.DataFrame) -> None:
        if self.parquet:
            table = pa.Table.from_pandas(df, preserve_index=False)
            if self._pq is None:
                self._pq = pq.ParquetWriter(self.path, table.schema)
            self._pq.write_table(table)
        else:
            df.to_csv(self.path, mode="w" if self._first else "a", header=self._first, index=False, lineterminator="\n")
        self._first = False

    def close(self) -> None:
        if self._pq is not None:
            self._pq.close()


def score_file(
    src: Path, dst: Path, scorer: Scorer, chunk_rows: int, plog: PredictionLog | None, progress: bool = True
) -> int:
    chunks, total = read_chunks(src, chunk_rows, text_columns(scorer.contract))
    run, done = new_id(), 0
    contract = scorer.contract
    t0 = time.perf_counter()
    with atomic_path(dst) as tmp, tqdm(total=total, unit="rows", disable=not progress, desc=src.name) as bar:
        out = Writer(tmp)
        try:
            for chunk in chunks:
                if chunk.empty:
                    continue
                problems = frame_problems(chunk, contract, first_row=done)
                if problems:
                    raise DataError(
                        f"{src}: cannot score rows {done + 1}-{done + len(chunk)}:\n  - " + "\n  - ".join(problems)
                    )
                proba = score_and_log(
                    scorer, chunk, plog, "batch", request_ids=None, batch={"run": run, "offset": done}
                )
                result = pd.DataFrame({"probability": proba, "prediction": scorer.predictions(proba)})
                if contract.id in chunk:
                    result.insert(0, contract.id, chunk[contract.id].to_numpy())
                out.write(result)
                done += len(chunk)
                bar.update(len(chunk))
        finally:
            out.close()
        if done == 0:
            raise DataError(f"{src}: no rows to score")
    dt = time.perf_counter() - t0
    log.info("scored %d rows with model %s in %.1fs (%.0f rows/s) -> %s", done, scorer.version, dt, done / dt, dst)
    return done


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument(
        "input",
        help="a .csv or .parquet file of raw records (the contract's columns); --engine dask: also a folder or glob",
    )
    ap.add_argument(
        "output", type=Path, help=".csv or .parquet: id, probability, prediction (dask: a folder of parquet parts)"
    )
    ap.add_argument("--card", help="model card (default: paths.card in dvc.yaml)")
    ap.add_argument("--prediction-log", help="directory, or 'off' (default: paths.prediction_log in dvc.yaml)")
    ap.add_argument("--engine", choices=["pandas", "dask"], help="default: scale.engine in params.yaml")
    ap.add_argument("--no-progress", action="store_true")
    args = ap.parse_args(argv)
    paths = pipeline_paths()
    params, contract = load_config(paths.params, paths.contract)
    log_dir = args.prediction_log or str(paths.prediction_log)
    if (args.engine or params.scale.engine) == "dask":
        payload = model_payload(args.card or paths.card, contract)
        logs = None if log_dir.lower() == "off" else Path(log_dir)
        score_job(str(args.input), args.output, payload, params, logs, not args.no_progress)
        return
    if os.environ.get(ADDRESS_ENV):
        log.info("%s is set but the engine is pandas: scoring in this process (ENGINE=dask uses it)", ADDRESS_ENV)
    scorer = load_scorer(args.card or paths.card, contract)
    pl = params.serve.prediction_log
    plog = None if log_dir.lower() == "off" else PredictionLog(log_dir, pl.max_bytes, pl.keep_files)
    try:
        score_file(Path(args.input), args.output, scorer, params.serve.score_chunk_rows, plog, not args.no_progress)
    finally:
        if plog is not None:
            plog.close()


if __name__ == "__main__":
    run_stage(main)
