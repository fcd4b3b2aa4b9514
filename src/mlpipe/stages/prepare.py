"""Stage ``prepare``: validated raw data -> one model-ready table (labels from the contract) -> the
frozen train/test split, with both halves' content hashes recorded.

One stage, not two: the table was written only for the split to read it back, and a second process
cost more (start-up, a parquet round trip, DVC's bookkeeping: 0.7 s of a cold ``dvc repro``) than
redoing the preparation when only ``split`` params change (0.25 s).
"""

from __future__ import annotations

import argparse
import logging

from mlpipe.cli import run_stage
from mlpipe.core.features import TARGET, prepare
from mlpipe.core.split import split
from mlpipe.errors import DataError
from mlpipe.io.files import frame_sha256, load_config, read_data, read_json, write_frame, write_json

log = logging.getLogger(__name__)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--data", required=True)
    ap.add_argument("--validation", required=True, help="the validate stage's JSON report")
    ap.add_argument("--params", required=True)
    ap.add_argument("--contract", required=True)
    ap.add_argument("--train", required=True)
    ap.add_argument("--test", required=True)
    ap.add_argument("--summary", required=True)
    args = ap.parse_args(argv)
    params, contract = load_config(args.params, args.contract)
    if not read_json(args.validation).get("success"):
        raise DataError(f"{args.validation} records a failed validation; fix the data first")
    prepared = prepare(read_data(args.data, contract), contract)
    log.info("prepared %d rows x %d columns", len(prepared), prepared.shape[1])
    result = split(prepared, contract, params.split)
    write_frame(args.train, result.train)
    write_frame(args.test, result.test)
    summary = {
        "strategy": result.description,
        "train_rows": len(result.train),
        "test_rows": len(result.test),
        "train_positive_rate": round(float(result.train[TARGET].mean()), 6),
        "test_positive_rate": round(float(result.test[TARGET].mean()), 6),
        "train_sha256": frame_sha256(result.train),
        "test_sha256": frame_sha256(result.test),
    }
    write_json(args.summary, summary)
    log.info("%s: %d train / %d test rows", result.description, len(result.train), len(result.test))


if __name__ == "__main__":
    run_stage(main)
