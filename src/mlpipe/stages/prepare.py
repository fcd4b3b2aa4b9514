"""Stage ``prepare``: validated raw CSVs -> one model-ready table (labels from the contract)."""

from __future__ import annotations

import argparse
import logging

from mlpipe.cli import run_stage
from mlpipe.core.features import prepare
from mlpipe.errors import DataError
from mlpipe.io.files import load_config, read_data, read_json, write_frame

log = logging.getLogger(__name__)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--data", required=True)
    ap.add_argument("--validation", required=True, help="the validate stage's JSON report")
    ap.add_argument("--params", required=True)
    ap.add_argument("--contract", required=True)
    ap.add_argument("--out", required=True)
    args = ap.parse_args(argv)
    _, contract = load_config(args.params, args.contract)
    if not read_json(args.validation).get("success"):
        raise DataError(f"{args.validation} records a failed validation; fix the data first")
    raw = read_data(args.data, contract)
    prepared = prepare(raw, contract)
    write_frame(args.out, prepared)
    log.info("prepared %d rows x %d columns -> %s", len(prepared), prepared.shape[1], args.out)


if __name__ == "__main__":
    run_stage(main)
