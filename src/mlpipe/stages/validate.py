"""Stage ``validate``: the raw data against the contract, with great-expectations 1.x.

Writes a JSON and a Markdown report even when validation fails, then exits 1 naming every
failed expectation, its column and a few offending values; DVC then runs nothing
downstream, so the last good model stays in place.
"""

from __future__ import annotations

import argparse
import logging
import math
import os
import re
import time
from pathlib import Path
from typing import Any

import pandas as pd

from mlpipe.config import Contract, parse_contract
from mlpipe.core.expectations import LEAKAGE, TYPE_CHECK, Spec, leakage_findings, nonconforming, suite_specs
from mlpipe.core.profile import profile
from mlpipe.errors import ConfigError, ValidationFailed
from mlpipe.io.files import data_files, load_yaml, read_csv_dir, sha256_dir, write_json, write_text
from mlpipe.stages import run_stage

log = logging.getLogger(__name__)
EXAMPLES = 5


def _camel(snake: str) -> str:
    return "".join(part.capitalize() for part in snake.split("_"))


def _check(expectation: str, column: str | None, success: bool, **extra: Any) -> dict[str, Any]:
    return {"expectation": expectation, "column": column, "success": success, **extra}


def run_gx(df: pd.DataFrame, specs: list[Spec]) -> list[dict[str, Any]]:
    """Build the suite in an ephemeral context (nothing written to disk) and run it."""
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
    t0 = time.perf_counter()
    import great_expectations as gx  # noqa: PLC0415 - about 5 s: only this stage pays for it
    import great_expectations.expectations as gxe  # noqa: PLC0415
    from great_expectations.data_context.types.base import ProgressBarsConfig  # noqa: PLC0415

    log.info("great-expectations %s imported in %.1fs", gx.__version__, time.perf_counter() - t0)
    ctx = gx.get_context(mode="ephemeral")
    ctx.variables.progress_bars = ProgressBarsConfig(globally=False)
    batch = ctx.data_sources.add_pandas("raw").add_dataframe_asset("raw").add_batch_definition_whole_dataframe("all")
    suite = ctx.suites.add(gx.ExpectationSuite(name="contract"))
    for spec in specs:
        cls = getattr(gxe, _camel(spec.type), None)
        if cls is None:
            raise ConfigError(f"contract expectations: unknown great-expectations expectation '{spec.type}'")
        try:
            suite.add_expectation(cls(**spec.kwargs))
        except Exception as err:  # gx raises pydantic errors of its own for bad kwargs
            raise ConfigError(f"contract expectations: {spec.type} {spec.kwargs}: {err}") from None
    definition = ctx.validation_definitions.add(gx.ValidationDefinition(name="contract", data=batch, suite=suite))
    result = definition.run(batch_parameters={"dataframe": df}, result_format="SUMMARY")
    checks = []
    for r in result.results:
        cfg = r.expectation_config
        assert cfg is not None
        info = r.result or {}
        exc = r.exception_info or {}
        messages = sorted(
            {str(v.get("exception_message")) for v in exc.values() if isinstance(v, dict) and v.get("raised_exception")}
        )
        if exc.get("raised_exception"):
            messages.append(str(exc.get("exception_message")))
        extra: dict[str, Any] = {"kwargs": {k: v for k, v in cfg.kwargs.items() if k not in ("column", "batch_id")}}
        if "unexpected_count" in info:
            extra["unexpected_count"] = info["unexpected_count"]
            extra["unexpected_percent"] = info.get("unexpected_percent")
            extra["examples"] = [_plain(v) for v in (info.get("partial_unexpected_list") or [])[:EXAMPLES]]
        if "observed_value" in info:
            extra["observed"] = _plain(info["observed_value"])
        if messages:
            extra["message"] = "; ".join(messages)[:500]
        checks.append(_check(cfg.type, cfg.kwargs.get("column"), bool(r.success), **extra))
    return checks


def _plain(v: Any) -> Any:
    if isinstance(v, float) and math.isnan(v):
        return None
    if hasattr(v, "item"):
        return v.item()
    if isinstance(v, list | tuple):
        return [_plain(x) for x in v]
    if isinstance(v, dict):
        return {str(k): _plain(x) for k, x in v.items()}
    return v


def explain_types(check: dict[str, Any], df: pd.DataFrame, contract: Contract) -> dict[str, Any]:
    """Point a failed type check at the offending cells instead of every row of the column."""
    column = check.get("column")
    if check["success"] or check["expectation"] != TYPE_CHECK or column not in df or column not in contract.columns:
        return check
    bad = nonconforming(df[column], contract.columns[column].dtype)
    if bad.empty:
        return check
    return check | {
        "unexpected_count": len(bad),
        "examples": [_plain(v) for v in bad.head(EXAMPLES).tolist()],
        "message": f"read as {df[column].dtype}, not {contract.columns[column].dtype}",
    }


def validate(data_dir: str | Path, contract: Contract) -> dict[str, Any]:
    df, problems, rows_per_file = read_csv_dir(data_dir)
    checks = [_check(p["expectation"], None, False, file=p["file"], message=p["message"]) for p in problems]
    checks.extend(explain_types(c, df, contract) for c in run_gx(df, suite_specs(contract)))
    leaks = leakage_findings(df, contract)
    checks.append(
        _check(
            LEAKAGE,
            ",".join(leaks) or None,
            not leaks,
            message=", ".join(f"{k} predicts the target for {v:.2%} of rows" for k, v in leaks.items()) or None,
        )
    )
    failed = [c for c in checks if not c["success"]]
    return {
        "success": not failed,
        "dataset": contract.name,
        "data_sha256": sha256_dir(data_dir),
        "rows": len(df),
        "files": [str(f) for f in data_files(data_dir)],
        "evaluated": len(checks),
        "failed": len(failed),
        "checks": checks,
        "profile": profile(df, contract, rows_per_file),
    }


def describe(check: dict[str, Any]) -> str:
    where = f" on column '{check['column']}'" if check.get("column") else ""
    where += f" in {check['file']}" if check.get("file") else ""
    parts = [f"{check['expectation']}{where}"]
    if check.get("unexpected_count"):
        parts.append(f"{check['unexpected_count']} bad rows, e.g. {check.get('examples')}")
    if "observed" in check:
        parts.append(f"observed {check['observed']}")
    if check.get("message"):
        parts.append(str(check["message"]))
    return ": ".join(parts[:1]) + (" — " + "; ".join(parts[1:]) if parts[1:] else "")


def markdown(report: dict[str, Any]) -> str:
    status = "✅ passed" if report["success"] else f"❌ failed ({report['failed']} of {report['evaluated']} checks)"
    lines = [
        f"### Data validation: {status}",
        "",
        f"Dataset `{report['dataset']}`, {report['rows']:,} rows in {len(report['files'])} files, "
        f"sha256 `{report['data_sha256'][:12]}`.",
        "",
    ]
    failed = [c for c in report["checks"] if not c["success"]]
    if failed:
        lines += ["| expectation | column | problem |", "|---|---|---|"]
        for c in failed:
            problem = re.sub(r"\s+", " ", describe(c).split(" — ", 1)[-1]).replace("|", "\\|")
            lines.append(f"| `{c['expectation']}` | {c.get('column') or c.get('file') or ''} | {problem} |")
    else:
        lines.append(f"All {report['evaluated']} expectations passed.")
    return "\n".join(lines) + "\n"


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
    write_text(args.out_md, markdown(report))
    if not report["success"]:
        failed = [describe(c) for c in report["checks"] if not c["success"]]
        raise ValidationFailed(
            f"{args.data} failed {len(failed)} of {report['evaluated']} checks (report: {args.out_md}):\n"
            + "\n".join(f"  - {f}" for f in failed)
        )
    log.info("validation passed: %d checks on %d rows", report["evaluated"], report["rows"])


if __name__ == "__main__":
    run_stage(main)
