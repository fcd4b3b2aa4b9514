"""``make contract DATA=path TARGET=col``: draft ``contract.yaml`` from a data file or folder.

The draft (:func:`mlpipe.core.draft.draft_contract`) is what the data shows: a person reviews it
before ``make repro``, and its header lists what to check. An existing contract is never
overwritten without ``--force``: a reviewed contract is work that a re-draft would silently undo.
"""

from __future__ import annotations

import argparse
import logging
import re
import textwrap
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from mlpipe.cli import run_stage
from mlpipe.config import parse_contract
from mlpipe.core.draft import draft_contract
from mlpipe.errors import ConfigError, DataError
from mlpipe.io.files import data_files, read_csv_as_written, read_table, write_text

log = logging.getLogger(__name__)
#: Top-level keys in the order a reader wants them: what it is, the roles, then the detail.
KEY_ORDER = ("name", "description", "id", "target", "positive", "time", "min_rows", "features", "sensitive", "columns")


_LEADING_ZERO = re.compile(r"^0\d+$")
_DECIMAL = re.compile(r"^[+-]?\d*\.\d*([eE][+-]?\d+)?$|^[+-]?\d+[eE][+-]?\d+$")


def csv_text_hints(path: Path) -> tuple[list[str], set[str]]:
    """From a CSV's text: (codes with leading zeros such as ZIP ``02134``, to keep as text; columns
    written with decimals such as ``46.0``, to type as float)."""
    if path.suffix.lower() != ".csv":
        return [], set()
    text = read_csv_as_written(path)
    codes, decimals = [], set()
    for col in text.columns:
        present = text[col][text[col] != ""]
        if not present.empty and present.str.match(_LEADING_ZERO).any() and present.str.isdigit().all():
            codes.append(str(col))
        elif present.str.match(_DECIMAL).any():
            decimals.add(str(col))
    return codes, decimals


def read_all(path: Path) -> tuple[pd.DataFrame, int, frozenset[str]]:
    """(every data file stacked, how many files, columns written with decimals); a file that cannot be
    read or differs in columns is named."""
    files = data_files(path)
    frames = []
    decimals: set[str] = set()
    for f in files:
        try:
            codes, written = csv_text_hints(f)
            decimals |= written
            frames.append(read_table(f, codes))
        except DataError:  # names the file already
            raise
        except Exception as err:  # pandas/pyarrow raise many types; the file's name is what matters
            raise DataError(f"{f}: cannot be read: {type(err).__name__}: {str(err)[:300]}") from None
    first = list(frames[0].columns)
    for f, frame in zip(files[1:], frames[1:], strict=True):
        if list(frame.columns) != first:
            extra, lacking = sorted(set(frame.columns) - set(first)), sorted(set(first) - set(frame.columns))
            raise DataError(
                f"{f}: columns differ from {files[0].name} (extra {extra}, missing {lacking}, or another order): "
                "every file must have the same columns"
            )
    stacked = pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]
    return stacked, len(files), frozenset(decimals)


def default_name(path: Path) -> str:
    """The data file's stem or folder's name as a lower-case identifier."""
    p = path.resolve()
    stem = p.stem if p.is_file() else p.name
    return re.sub(r"[^a-z0-9]+", "_", stem.lower()).strip("_") or "dataset"


def render(contract: dict[str, Any], notes: list[str], source: str) -> str:
    """The contract as YAML, under a header that says it is a draft and what to review."""
    header = [
        f"# Data contract DRAFTED by `make contract` from {source}: review it before `make repro`.",
        "# It says what the data must look like (validation) and what each column is for (id, target,",
        "# time, features, sensitive). Types, ranges and value lists are what the data showed, not what",
        "# is valid: correct them and give each column a description.",
        "#",
        "# To review:",
    ]
    for note in notes:
        header += textwrap.wrap(note, 110, break_on_hyphens=False, initial_indent="#  - ", subsequent_indent="#    ")
    body = []
    for key in KEY_ORDER[:-1]:
        nested = isinstance(contract[key], (list, dict))  # scalars in block style: flow would wrap them in {}
        dumped = yaml.safe_dump({key: contract[key]}, sort_keys=False, default_flow_style=None if nested else False,
                                width=100, allow_unicode=True)  # fmt: skip
        body.append(dumped if key not in ("features", "sensitive") else "\n" + dumped)
    body.append("\ncolumns:\n" + "".join(column_lines(name, col) for name, col in contract["columns"].items()))
    return "\n".join(header) + "\n" + "".join(body)


def column_lines(name: str, column: dict[str, Any]) -> str:
    """One column under ``columns:``, on one line like the hand-written contract when it fits."""
    key = yaml.safe_dump([name], default_flow_style=True, allow_unicode=True).strip()[1:-1]  # quoted if needed
    flow = yaml.safe_dump(column, default_flow_style=True, sort_keys=False, width=1_000_000, allow_unicode=True)
    line = f"  {key}: {flow.strip()}\n"
    if len(line) <= 110:
        return line
    block = yaml.safe_dump({name: column}, default_flow_style=None, sort_keys=False, width=100, allow_unicode=True)
    return textwrap.indent(block, "  ")


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", required=True, type=Path, help="a data file (*.csv, *.parquet) or a folder of them")
    ap.add_argument("--target", required=True, help="the column to predict (two distinct values)")
    ap.add_argument("--out", default=Path("contract.yaml"), type=Path, help="where to write (default: %(default)s)")
    ap.add_argument("--name", help="the contract's name (default: the data file's or folder's name)")
    ap.add_argument("--force", action="store_true", help="overwrite --out if it exists")
    args = ap.parse_args(argv)
    inputs = [args.data] if args.data.is_file() else [p for p in args.data.rglob("*") if p.is_file()]
    if args.out.is_dir() or args.out.resolve() in {p.resolve() for p in inputs}:  # --force never replaces data
        raise ConfigError(f"{args.out}: is a folder or one of the data files it drafts from; name another --out")
    if args.out.exists() and not args.force:
        raise ConfigError(
            f"{args.out} exists: not overwriting a contract that may have been reviewed. "
            "Pass --force to replace it (`make contract ... FORCE=1`), or --out another path"
        )
    df, n_files, decimals = read_all(args.data)
    contract, notes = draft_contract(df, args.target, args.name or default_name(args.data), n_files, decimals)
    parse_contract(contract, str(args.out))  # the draft must load as it is written
    text = render(contract, notes, f"{args.data} ({len(df)} rows, {n_files} file{'s' if n_files != 1 else ''})")
    if yaml.safe_load(text) != contract:
        raise ConfigError(f"{args.out}: the drafted YAML does not read back as drafted (please report this)")
    write_text(args.out, text)
    log.info(
        "drafted %s: %d columns (%d features), id %r, target %r (positive %r), time %r",
        args.out, len(contract["columns"]), len(contract["features"]), contract["id"], contract["target"],
        contract["positive"], contract["time"],
    )  # fmt: skip
    for note in notes:
        log.info("review: %s", note)
    log.info("wrote %s: review it (the notes are in its header), then `make repro`", args.out)


if __name__ == "__main__":
    run_stage(main)
