"""``make monitor ENGINE=dask``: a window larger than memory, counted partition by partition on a Dask cluster.

A data window (file, folder or glob) is cut like batch scoring's input (:mod:`mlpipe.scale.parts`);
a prediction-log window is one partition per log file. Each worker reads its partition, scores it
when it is data (the model shipped and hash-checked as in :mod:`mlpipe.scale.cluster`), and returns
its :class:`~mlpipe.scale.window.PartStats`; the client combines them (:func:`~mlpipe.scale.window.combine`).
"""

from __future__ import annotations

import logging
from typing import Any

import pyarrow.parquet as pq

from mlpipe.config import Params
from mlpipe.errors import DataError
from mlpipe.io.files import read_csv, text_columns
from mlpipe.io.predlog import log_files, read_log_file
from mlpipe.scale.cluster import ModelPayload, dask_client, run_all, ship, worker_scorer
from mlpipe.scale.parts import Part, plan, read_part, source_files
from mlpipe.scale.window import Context, PartStats, combine

log = logging.getLogger(__name__)


def monitor_part(part: Part | str, payload: ModelPayload, ctx: Context, chunk_rows: int) -> list[PartStats]:
    """On a worker: one partition of data (a :class:`Part`), chunk by chunk so the worker holds one chunk
    at a time, or one prediction-log file (its path; files are rotated at ``serve.prediction_log.max_bytes``)."""
    from mlpipe.scale.window import part_stats  # noqa: PLC0415

    if isinstance(part, str):
        raw = read_log_file(part)
        return [part_stats(raw, None, ctx, part)] if len(raw) else []
    scorer = worker_scorer(payload)
    return [
        part_stats(chunk, scorer, ctx, part.path)
        for chunk in read_part(part, chunk_rows, text_columns(ctx.contract))
        if len(chunk)
    ]


def data_columns(source: str) -> list[str]:
    """The columns of a data window's first file (which expectations apply), read from its header only."""
    first = source_files(source)[0]
    if first.suffix.lower() in (".parquet", ".pq"):
        try:
            return list(pq.ParquetFile(first).schema_arrow.names)
        except Exception as err:  # pyarrow raises several types (ArrowInvalid, OSError) for a broken file
            raise DataError(f"{first}: cannot be read as parquet: {err}") from None
    return list(read_csv(first, nrows=0).columns)


def window_parts(source: str, from_log: bool, params: Params) -> list[Part | str]:
    """Absolute paths: workers elsewhere resolve them on the shared filesystem, not in a directory of their own."""
    if from_log:
        files = log_files(source)
        if not files:
            raise DataError(f"{source}: no prediction-log files")
        return [str(f.resolve()) for f in files]
    return list(plan([f.resolve() for f in source_files(source)], params.scale.partition_rows))


def combined_window(source: str, ctx: Context, payload: ModelPayload, params: Params, progress: bool) -> Any:
    """The window's parts counted on the cluster, combined here: the same :class:`Window` as in memory."""
    parts = window_parts(source, ctx.from_log, params)
    with dask_client(params.scale) as client:
        log.info("monitor: %s on the cluster, partitions: %d", source, len(parts))
        stats = run_all(
            client, monitor_part, parts, "monitor", progress, payload=ship(client, payload), ctx=ship(client, ctx),
            chunk_rows=params.serve.score_chunk_rows,
        )  # fmt: skip
    return combine([s for chunks in stats for s in chunks], ctx)
