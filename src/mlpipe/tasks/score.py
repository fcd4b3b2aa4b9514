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
import contextlib
import json
import logging
import os
import shutil
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from tqdm import tqdm

from mlpipe.cli import run_stage
from mlpipe.core.schema import frame_problems
from mlpipe.env import process_env
from mlpipe.errors import DataError
from mlpipe.io.files import atomic_path, load_config, text_columns
from mlpipe.io.outputs import csv_header, guard_output
from mlpipe.io.pipeline import pipeline_paths
from mlpipe.io.predlog import adopt, encode
from mlpipe.scale.cluster import ADDRESS_ENV, model_payload
from mlpipe.scale.parts import Part, plan, read_part, source_files
from mlpipe.scale.score import score_job
from mlpipe.serving.scorer import Scorer, load_scorer, new_id

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


SCORE_META = b"mlpipe.score"  # parquet schema metadata: the file is a `make score` result (its manifest)


class Writer:
    """Appends result chunks to a CSV or parquet file (chosen by the output's extension)."""

    def __init__(self, path: Path, manifest: dict[str, Any]) -> None:
        self.path = path
        self.parquet = path.suffix.lower() in (".parquet", ".pq")
        self._meta = {SCORE_META: json.dumps(manifest).encode()}
        self._pq: pq.ParquetWriter | None = None
        self._first = True

    def write(self, df: pd.DataFrame) -> None:
        if self.parquet:
            table = pa.Table.from_pandas(df, preserve_index=False)
            table = table.replace_schema_metadata({**(table.schema.metadata or {}), **self._meta})
            if self._pq is None:
                self._pq = pq.ParquetWriter(self.path, table.schema)
            self._pq.write_table(table)
        else:
            df.to_csv(self.path, mode="w" if self._first else "a", header=self._first, index=False, lineterminator="\n")
        self._first = False

    def close(self) -> None:
        if self._pq is not None:
            self._pq.close()


def earlier_result(path: Path) -> bool:
    """Whether ``path`` is what this command wrote before: a parquet file carrying its manifest, or a CSV
    whose header is its columns (``[id,]probability,prediction``)."""
    if path.suffix.lower() in (".parquet", ".pq"):
        try:
            return SCORE_META in (pq.read_schema(path).metadata or {})
        except (OSError, pa.ArrowException):
            return False
    header = csv_header(path)
    return header is not None and header[-2:] == ["probability", "prediction"] and len(header) <= 3


def check_output(inputs: list[Path], dst: Path) -> None:
    """ENGINE=pandas writes one file: never an input, a folder, or a file it did not write."""
    guard_output(dst, inputs, earlier_result, "`make score` result (no probability,prediction columns or manifest)")


def score_file(
    src: Path, dst: Path, scorer: Scorer, chunk_rows: int, log_dir: Path | None, progress: bool = True
) -> int:
    """Score ``src`` into ``dst``; the log rows are staged and join the prediction log only with the output.

    A run that fails half-way (a bad value at row 60,001) leaves neither output nor log rows: the
    monitor never counts predictions nobody received.
    """
    check_output(source_files(src), dst)
    chunks, total = read_chunks(src, chunk_rows, text_columns(scorer.contract))
    run = new_id()
    t0 = time.perf_counter()
    staging = log_dir / f".staging-{run}" if log_dir is not None else None
    adopted: list[Path] = []
    try:
        with atomic_path(dst) as tmp, tqdm(total=total, unit="rows", disable=not progress, desc=src.name) as bar:
            if staging is not None:
                staging.mkdir(parents=True)
            with (staging / "log.jsonl").open("wb") if staging else contextlib.nullcontext() as lfh:
                out = Writer(tmp, {"run": run, "model_sha256": scorer.sha256, "source": str(src)})
                try:
                    done = _score_chunks(chunks, src, scorer, out, lfh, bar.update, run)
                finally:
                    out.close()
            if staging is not None and log_dir is not None:
                adopted = adopt([staging / "log.jsonl"], log_dir, run)
    except BaseException:
        for f in adopted:  # the output was not moved into place: neither are its log rows
            f.unlink(missing_ok=True)
        raise
    finally:
        if staging is not None:
            shutil.rmtree(staging, ignore_errors=True)
    dt = time.perf_counter() - t0
    log.info("scored %d rows with model %s in %.1fs (%.0f rows/s) -> %s", done, scorer.version, dt, done / dt, dst)
    return done


def _score_chunks(
    chunks: Iterator[pd.DataFrame],
    src: Path,
    scorer: Scorer,
    out: Writer,
    lfh: IO[bytes] | None,
    advance: Callable[[int], Any],
    run: str,
) -> int:
    contract, done = scorer.contract, 0
    for chunk in chunks:
        if chunk.empty:
            continue
        problems = frame_problems(chunk, contract, first_row=done)
        if problems:
            raise DataError(f"{src}: cannot score rows {done + 1}-{done + len(chunk)}:\n  - " + "\n  - ".join(problems))
        proba = scorer.proba(chunk)
        if lfh is not None:
            lfh.write(encode(scorer.event(chunk, proba, "batch", request_ids=None, batch={"run": run, "offset": done})))
        result = pd.DataFrame({"probability": proba, "prediction": scorer.predictions(proba)})
        if contract.id in chunk:
            result.insert(0, contract.id, chunk[contract.id].to_numpy())
        out.write(result)
        done += len(chunk)
        advance(len(chunk))
    if done == 0:
        raise DataError(f"{src}: no rows to score")
    if lfh is not None:
        lfh.flush()
        os.fsync(lfh.fileno())
    return done


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument(
        "input",
        help="a .csv or .parquet file of raw records (the contract's columns); --engine dask: also a folder or glob",
    )
    ap.add_argument("output", help=".csv or .parquet: id, probability, prediction (dask: a folder of parquet parts)")
    ap.add_argument("--card", help="model card (default: paths.card in dvc.yaml)")
    ap.add_argument("--prediction-log", help="directory, or 'off' (default: paths.prediction_log in dvc.yaml)")
    ap.add_argument("--engine", choices=["pandas", "dask"], help="default: scale.engine in params.yaml")
    ap.add_argument("--no-progress", action="store_true")
    args = ap.parse_args(argv)
    unnamed = [what for what, value in (("IN", args.input), ("OUT", args.output)) if not value.strip()]
    if unnamed:  # make passes "" for a variable not given; Path("") is the current folder
        raise DataError(f"name {' and '.join(unnamed)}: make score IN=new.csv OUT=scored.parquet")
    args.output = Path(args.output)
    paths = pipeline_paths()
    params, contract = load_config(paths.params, paths.contract)
    log_dir = args.prediction_log or str(paths.prediction_log)
    if (args.engine or params.scale.engine) == "dask":
        payload = model_payload(args.card or paths.card, contract)
        logs = None if log_dir.lower() == "off" else Path(log_dir)
        score_job(str(args.input), args.output, payload, params, logs, not args.no_progress)
        return
    if process_env().dask_scheduler_address:
        log.info("%s is set but the engine is pandas: scoring in this process (ENGINE=dask uses it)", ADDRESS_ENV)
    check_output(source_files(args.input), args.output)  # before the model loads: refused means no work
    scorer = load_scorer(args.card or paths.card, contract)
    logs = None if log_dir.lower() == "off" else Path(log_dir)
    score_file(Path(args.input), args.output, scorer, params.serve.score_chunk_rows, logs, not args.no_progress)


if __name__ == "__main__":
    run_stage(main)
