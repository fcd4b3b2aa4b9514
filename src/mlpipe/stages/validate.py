"""Stage ``validate``: the raw data against the contract, each file on its own and all of it together.

Writes a JSON and a Markdown report even when validation fails, then exits 1 naming every
failed check with its file, column and a few offending values; DVC then runs nothing
downstream, so the last good model stays in place. The checks live in
:mod:`mlpipe.core.validation` (ours) and :mod:`mlpipe.io.gx` (great-expectations).
"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path
from typing import Any

import pandas as pd

from mlpipe.cli import run_stage
from mlpipe.config import Contract, parse_contract
from mlpipe.core import validation as v
from mlpipe.core.expectations import file_specs, whole_specs
from mlpipe.core.profile import profile, uncovered_bins
from mlpipe.errors import ValidationFailed
from mlpipe.io.datafiles import load
from mlpipe.io.files import data_files, ignored_files, load_yaml, sha256_dir, write_json, write_text
from mlpipe.io.gx import defer_scipy_stats, run_batches

log = logging.getLogger(__name__)


def name_repeats(checks: list[dict[str, Any]], readable: dict[str, pd.DataFrame], key: str) -> None:
    """The id check says which files and rows repeat an id, and covers files whose other errors kept
    them out of the whole-table checks (they would otherwise show up only once those are fixed)."""
    count, where = v.repeated_ids(readable, key)
    if not count:
        return
    for c in checks:
        if c["expectation"] == v.UNIQUE_CHECK and c.get("column") == key and c.get("file") is None:
            c.update(success=False, unexpected_count=count, where=where)  # all readable files, not only good ones
            return
    checks.append(v.check(v.UNIQUE_CHECK, key, False, file=None, unexpected_count=count, where=where))


def validate(data_dir: str | Path, contract: Contract) -> dict[str, Any]:
    checks: list[dict[str, Any]] = []
    good: dict[str, pd.DataFrame] = {}
    readable: dict[str, pd.DataFrame] = {}  # every file that could be read, broken or not
    batches = []
    files = data_files(data_dir)
    for f in files:
        loaded = load(f, contract)
        if loaded.frame is None:
            checks.append(v.check(v.READ_CHECK, None, False, file=loaded.name, message=loaded.error))
            continue
        readable[loaded.name] = loaded.frame
        own = v.file_checks(loaded.name, loaded.frame, contract, loaded.text)
        own.append(v.check(v.TRUNCATED_CHECK, None, not loaded.truncated, file=loaded.name, message=loaded.truncated))
        if loaded.short_rows is not None:
            own.append(v.check(v.SHORT_ROWS_CHECK, None, False, file=loaded.name, message=loaded.short_rows))
        checks.extend(own)
        if v.columns_ok(own):
            mistyped = frozenset(c["column"] for c in own if c["expectation"] == v.TYPE_CHECK and not c["success"])
            batches.append((loaded.name, loaded.frame, file_specs(contract, mistyped)))
            if not mistyped and not loaded.truncated and not loaded.short_rows:
                good[loaded.name] = loaded.frame
    df = pd.concat(good.values(), ignore_index=True) if good else pd.DataFrame(columns=list(contract.columns))
    checks.extend(v.sibling_checks(good, contract))
    checks.extend(run_batches([*batches, (None, df, whole_specs(contract))]))
    name_repeats(checks, readable, contract.id)
    checks.extend(v.leakage_check(frame, contract, name) for name, frame in good.items())
    if good:
        checks.append(v.target_check(df, contract))
    warnings = uncovered_bins(df, contract)
    for w in warnings:
        log.warning("%s", w)
    warnings = ignored_files(Path(data_dir), files) + warnings  # data_files logged these
    failed = [c for c in checks if not c["success"]]
    return {
        "success": not failed,
        "dataset": contract.name,
        "data_sha256": sha256_dir(data_dir),
        "rows": sum(len(frame) for frame in readable.values()),
        "files": [f.name for f in files],
        "evaluated": len(checks),
        "failed": len(failed),
        "checks": checks,
        "warnings": warnings,
        "profile": profile(df, contract, {name: len(frame) for name, frame in good.items()}),
    }


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--data", required=True)
    ap.add_argument("--contract", required=True)
    ap.add_argument("--out-json", required=True)
    ap.add_argument("--out-md", required=True)
    args = ap.parse_args(argv)
    contract = parse_contract(load_yaml(args.contract), args.contract)
    report = validate(args.data, contract)
    write_json(args.out_json, report)
    write_text(args.out_md, v.markdown(report))
    if not report["success"]:
        failed = [v.describe(c) for c in report["checks"] if not c["success"]]
        raise ValidationFailed(
            f"{args.data} failed {len(failed)} of {report['evaluated']} checks (report: {args.out_md}):\n"
            + "\n".join(f"  - {f}" for f in failed)
        )
    log.info("validation passed: %d checks on %d rows", report["evaluated"], report["rows"])


if __name__ == "__main__":
    defer_scipy_stats()  # the stage's own process, which has one thread (not a test calling main)
    run_stage(main)
