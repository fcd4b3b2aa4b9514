"""``make score ENGINE=dask``: every partition scored on a Dask worker, the result published only when all are.

Each task reads its partition chunk by chunk, checks each chunk against the contract (a bad value
stops the job naming file, column, problem and row), scores it with the same :class:`Scorer` as
the service and ``ENGINE=pandas``, and writes its parquet part and its prediction-log lines under
a temporary name, renamed into a staging folder when the partition is done. A partition run again
(its worker died, Dask retried it) replaces its own files, so nothing is written twice. Only when
every partition is done is the ``_SUCCESS`` manifest written, the staged log files adopted into the
prediction log, and the output folder swapped in whole (if that fails, the adopted log files are
removed again); a failed job removes its staging folders and leaves the previous output and the log
as they were.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import shutil
import time
import uuid
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from mlpipe.config import Params
from mlpipe.core.schema import frame_problems
from mlpipe.errors import DataError
from mlpipe.io.files import text_columns, write_json
from mlpipe.io.predlog import adopt, encode
from mlpipe.io.predlog import utc_now as now
from mlpipe.scale.cluster import ModelPayload, dask_client, run_all, ship, worker_scorer
from mlpipe.scale.parts import Part, plan, read_part, rows_before, source_files

log = logging.getLogger(__name__)
SUCCESS = "_SUCCESS"


def score_part(
    part: Part, payload: ModelPayload, out_dir: str, log_dir: str | None, job: str, chunk_rows: int
) -> dict[str, Any]:
    """One partition, on a worker: its parquet part and log lines, each complete or absent."""
    scorer = worker_scorer(payload)
    contract = scorer.contract
    out, logs = Path(out_dir), Path(log_dir) if log_dir else None
    attempt = uuid.uuid4().hex[:8]
    tmp_out = out / f".{part.name}.{attempt}.parquet"
    tmp_log = logs / f".{part.name}.{attempt}.jsonl" if logs else None
    writer: pq.ParquetWriter | None = None
    done = 0
    try:
        with tmp_log.open("wb") if tmp_log else contextlib.nullcontext() as lfh:
            for chunk in read_part(part, chunk_rows, text_columns(contract)):
                if chunk.empty:  # a header-only file or block: no part (its columns would have no type)
                    continue
                problems = frame_problems(chunk, contract, first_row=done)
                if problems:
                    first = rows_before(part) + done  # counted only now: a CSV block's offset costs a read
                    problems = frame_problems(chunk, contract, first_row=first)
                    raise DataError(
                        f"{part.path}: cannot score rows {first + 1}-{first + len(chunk)}:\n  - "
                        + "\n  - ".join(problems)
                    )
                proba = scorer.proba(chunk)
                if lfh is not None:
                    batch = {"run": f"{job}-{part.index:05d}", "offset": done, "file": part.path}
                    lfh.write(encode(scorer.event(chunk, proba, "batch", request_ids=None, batch=batch)))
                result = pd.DataFrame({"probability": proba, "prediction": scorer.predictions(proba)})
                if contract.id in chunk:
                    result.insert(0, contract.id, chunk[contract.id].to_numpy())
                table = pa.Table.from_pandas(result, preserve_index=False)
                if writer is None:
                    writer = pq.ParquetWriter(tmp_out, table.schema)
                writer.write_table(table)
                done += len(chunk)
            if lfh is not None:
                lfh.flush()
                os.fsync(lfh.fileno())
        if writer is not None:
            writer.close()
            writer = None
            tmp_out.replace(out / f"{part.name}.parquet")
        if tmp_log is not None and logs is not None:
            tmp_log.replace(logs / f"{part.name}.jsonl")
    finally:
        if writer is not None:
            writer.close()
        tmp_out.unlink(missing_ok=True)
        if tmp_log is not None:
            tmp_log.unlink(missing_ok=True)
    return {"index": part.index, "rows": done, "pid": os.getpid()}


def check_output(dst: Path) -> None:
    """Refuse to replace anything but an earlier result of this job: a folder whose ``_SUCCESS`` is our
    manifest (Spark, Hadoop and Dask write an empty ``_SUCCESS`` of their own: not ours to delete)."""
    if dst.suffix.lower() == ".csv":
        raise DataError(f"{dst}: ENGINE=dask writes a folder of parquet parts; name a folder (e.g. scored/)")
    if not dst.exists() or (dst.is_dir() and not any(dst.iterdir())):
        return
    if dst.is_dir() and (dst / SUCCESS).is_file():
        try:
            manifest = json.loads((dst / SUCCESS).read_text())
        except (ValueError, OSError):
            manifest = None
        if isinstance(manifest, dict) and {"job", "model_sha256", "rows", "parts"} <= set(manifest):
            theirs = sorted(str(f.relative_to(dst)) for f in dst.rglob("*") if f.name not in manifest["parts"]
                            and f.name != SUCCESS)  # fmt: skip
            if not theirs:
                return
            raise DataError(
                f"{dst}: an earlier `make score ENGINE=dask` result, but holding files it did not write "
                f"({', '.join(theirs[:5])}); not replacing it: move them, or name another folder"
            )
    why = f"its {SUCCESS} is not this job's manifest" if (dst / SUCCESS).is_file() else f"no {SUCCESS} manifest"
    raise DataError(f"{dst}: exists and is not an earlier `make score ENGINE=dask` result ({why}); not replacing it")


def score_job(
    source: str, dst: Path, payload: ModelPayload, params: Params, log_dir: Path | None, progress: bool = True
) -> int:
    """Score ``source`` (a file, folder or glob) into the folder ``dst``; returns the rows scored.

    Paths are made absolute before they travel: workers on other machines resolve them against the
    shared filesystem, not against a working directory of their own.
    """
    dst = dst.resolve()
    files = [f.resolve() for f in source_files(source)]
    inside = [f for f in files if f.is_relative_to(dst)]
    if inside:
        raise DataError(f"{dst}: is or holds the input {inside[0]}; write the scores to another folder (OUT=...)")
    check_output(dst)
    parts = plan(files, params.scale.partition_rows)
    job = uuid.uuid4().hex
    version = payload.sha256[:12]
    staging = dst.parent / f".{dst.name}.{job}.tmp"
    log_dir = log_dir.resolve() if log_dir is not None else None
    log_staging = log_dir / f".staging-{job}" if log_dir else None
    t0 = time.perf_counter()
    staging.mkdir(parents=True)
    if log_staging is not None:
        log_staging.mkdir(parents=True)
    try:
        with dask_client(params.scale) as client:
            t1, started = time.perf_counter(), time.perf_counter() - t0
            log.info(
                "job %s: model %s, %d partitions of %d files: %s", job[:8], version, len(parts), len(files), source
            )
            model = ship(client, payload)
            results = run_all(
                client, score_part, parts, "score", progress, payload=model, out_dir=str(staging),
                log_dir=str(log_staging) if log_staging else None, job=job, chunk_rows=params.serve.score_chunk_rows,
            )  # fmt: skip
        scoring = time.perf_counter() - t1
        rows = sum(int(r["rows"]) for r in results)
        if rows == 0:
            raise DataError(f"{source}: no rows to score")
        done = [p for p, r in zip(parts, results, strict=True) if r["rows"]]
        for leftover in {f.name for f in staging.iterdir()} - {f"{p.name}.parquet" for p in done}:
            (staging / leftover).unlink()  # a dead attempt's temporary file
        manifest = {
            "job": job, "finished": now(), "rows": rows,
            "parts": {f"{p.name}.parquet": r["rows"] for p, r in zip(parts, results, strict=True) if r["rows"]},
            "model_version": version, "model_sha256": payload.sha256, "data_sha256": payload.card.get("data_sha256"),
            "source": source, "files": [str(f) for f in files], "prediction_log": str(log_dir) if log_dir else None,
        }  # fmt: skip
        write_json(staging / SUCCESS, manifest)
        adopted = (
            adopt([log_staging / f"{p.name}.jsonl" for p in done], log_dir, job) if log_staging and log_dir else []
        )
        try:
            _publish(staging, dst)
        except BaseException:
            for f in adopted:  # the output did not appear: neither do its log rows
                f.unlink(missing_ok=True)
            raise
    finally:
        for d in (staging, log_staging):
            if d is not None:
                _remove(d)
    log.info("scored %d rows with model %s in %.1fs (%.0f rows/s; the cluster's start %.1fs, publishing %.1fs) -> %s/",
             rows, version, scoring, rows / scoring, started, time.perf_counter() - t1 - scoring, dst)  # fmt: skip
    return rows


def _publish(staging: Path, dst: Path) -> None:
    """The finished folder replaces ``dst``: readers see the old result or the new one, never a mix
    (for a moment, neither); if the new one cannot be moved in, the old one is put back."""
    old = dst.parent / f".{dst.name}.{uuid.uuid4().hex[:8]}.old"
    if dst.exists():
        dst.rename(old)
    try:
        staging.rename(dst)
    except BaseException:
        if old.exists():
            old.rename(dst)
        raise
    shutil.rmtree(old, ignore_errors=True)


def _remove(folder: Path) -> None:
    """A staging folder, gone: a cancelled task still running elsewhere may add a file as it is deleted
    (it cannot recreate the folder: tasks never create folders)."""
    for _ in range(50):
        shutil.rmtree(folder, ignore_errors=True)
        if not folder.exists():
            return
        time.sleep(0.1)
    log.warning("%s: could not be removed (a task still writing into it?)", folder)
