"""Stage ``split``: the frozen train/test split, with the test set's content hash recorded."""

from __future__ import annotations

import argparse
import logging

from mlpipe.cli import run_stage
from mlpipe.core.features import TARGET
from mlpipe.core.split import split
from mlpipe.io.files import frame_sha256, load_config, read_frame, write_frame, write_json

log = logging.getLogger(__name__)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--prepared", required=True)
    ap.add_argument("--params", required=True)
    ap.add_argument("--contract", required=True)
    ap.add_argument("--train", required=True)
    ap.add_argument("--test", required=True)
    ap.add_argument("--summary", required=True)
    args = ap.parse_args(argv)
    params, contract = load_config(args.params, args.contract)
    result = split(read_frame(args.prepared), contract, params.split)
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
