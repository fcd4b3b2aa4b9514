"""``make golden``: record the pipeline model's predictions on a frozen sample of raw rows.

The regression test retrains with params.yaml and must reproduce these numbers, so any
change in data handling, features or training shows up as a diff in review. Re-record
only after an intended change, and say so in the pull request.
"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from mlpipe.cli import run_stage
from mlpipe.config import Contract
from mlpipe.core.features import feature_frame, prepare
from mlpipe.core.model import positive_proba
from mlpipe.io.files import atomic_path, data_files, load_config, read_data, read_json
from mlpipe.io.models import load_model
from mlpipe.io.outputs import csv_header, guard_output
from mlpipe.io.pipeline import pipeline_paths

if TYPE_CHECKING:
    from sklearn.pipeline import Pipeline

log = logging.getLogger(__name__)
GOLDEN = Path("tests/golden/predictions.csv")
ROWS = 30
COLUMN = "expected_probability"


def golden_frame(raw: pd.DataFrame, model: Pipeline, contract: Contract, rows: int = ROWS) -> pd.DataFrame:
    sample = raw.sample(n=min(rows, len(raw)), random_state=20151).sort_values(contract.id)
    p = positive_proba(model, feature_frame(prepare(sample, contract), contract))
    for name, col in contract.columns.items():  # an int column with blanks reads as floats: write it as ints
        if col.dtype == "int" and pd.api.types.is_float_dtype(sample[name]):
            sample[name] = sample[name].astype("Int64")
    return sample.assign(**{COLUMN: p.round(10)})


def is_golden(path: Path) -> bool:
    header = csv_header(path)
    return header is not None and header[-1] == COLUMN


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--out", type=Path, default=GOLDEN)
    args = ap.parse_args(argv)
    paths = pipeline_paths()
    _, contract = load_config(paths.params, paths.contract)
    card = read_json(paths.card)
    inputs = [paths.params, paths.contract, paths.card, Path(card["model"]["path"]), *data_files(paths.data)]
    guard_output(args.out, inputs, is_golden, f"`make golden` file (no {COLUMN} column)")
    model = load_model(card["model"]["path"], card["model"]["sha256"])
    raw = read_data(paths.data, contract)
    frame = golden_frame(raw, model, contract)
    with atomic_path(args.out) as tmp:
        frame.to_csv(tmp, index=False, lineterminator="\n")
    log.info("recorded %d golden predictions from model %s -> %s", len(frame), card["model"]["sha256"][:12], args.out)


if __name__ == "__main__":
    run_stage(main)
