"""Column profiles of a dataset, and the shift between two of them.

The ``validate`` stage stores a profile in its (git-committed) report, so "what changed in
the data" on a pull request compares two small JSON documents: the base branch's data need
not be downloaded. Shift is the population stability index (PSI) over categories, or over
fixed-width bins for numeric columns with contract bounds; other numeric columns get the
standardised mean difference.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from mlpipe.config import Contract

BINS = 20
MAX_CATEGORIES = 60
_EPS = 1e-4


def column_profile(values: pd.Series, categorical: bool, lo: float | None, hi: float | None) -> dict[str, Any]:
    out: dict[str, Any] = {"dtype": str(values.dtype), "nulls": int(values.isna().sum())}
    present = values.dropna()
    if categorical or not pd.api.types.is_numeric_dtype(present):
        counts = present.astype(str).value_counts()
        out["kind"] = "categorical"
        out["frequencies"] = {str(k): int(v) for k, v in counts.head(MAX_CATEGORIES).items()}
        out["other"] = int(counts.iloc[MAX_CATEGORIES:].sum())
        return out
    x = present.to_numpy(dtype=np.float64)
    out["kind"] = "numeric"
    if x.size:
        out.update(mean=float(x.mean()), std=float(x.std()), min=float(x.min()), max=float(x.max()))
    if lo is not None and hi is not None and hi > lo:
        hist, _ = np.histogram(np.clip(x, lo, hi), bins=BINS, range=(lo, hi))
        out["histogram"] = {"low": lo, "high": hi, "counts": hist.tolist()}
    return out


def profile(df: pd.DataFrame, contract: Contract, rows_per_file: dict[str, int]) -> dict[str, Any]:
    columns = {}
    for name in df.columns:
        col = contract.columns.get(str(name))
        categorical = col.categorical if col is not None else False
        lo = col.min if col is not None else None
        hi = col.max if col is not None else None
        columns[str(name)] = column_profile(df[name], categorical, lo, hi)
    return {"rows": len(df), "files": rows_per_file, "columns": columns}


def uncovered_bins(df: pd.DataFrame, contract: Contract) -> list[str]:
    """Numeric sensitive attributes whose bins miss some values (they would be sliced as ``other``)."""
    out = []
    for name, attr in contract.sensitive.items():
        if attr.bins is None or name not in df:
            continue
        x = pd.to_numeric(df[name], errors="coerce").dropna()
        lo, hi = attr.bins[0], attr.bins[-1]
        outside = x[(x < lo) | (x >= hi)]
        if not outside.empty:
            out.append(
                f"sensitive.{name}: bins [{lo:g}, {hi:g}) do not cover {len(outside):,} values "
                f"(from {outside.min():g} to {outside.max():g}); they are sliced as 'other'"
            )
    return out


def psi(expected: list[float] | np.ndarray, actual: list[float] | np.ndarray) -> float:
    e = np.asarray(expected, dtype=np.float64)
    a = np.asarray(actual, dtype=np.float64)
    if e.sum() <= 0 or a.sum() <= 0:
        return float("nan")
    e = np.maximum(e / e.sum(), _EPS)
    a = np.maximum(a / a.sum(), _EPS)
    return float(np.sum((a - e) * np.log(a / e)))


def column_shift(base: dict[str, Any], head: dict[str, Any]) -> dict[str, Any]:
    if base.get("kind") != head.get("kind"):
        return {"kind": "changed", "detail": f"{base.get('kind')} -> {head.get('kind')}"}
    if base["kind"] == "categorical":
        keys = sorted(set(base["frequencies"]) | set(head["frequencies"]))
        value = psi([base["frequencies"].get(k, 0) for k in keys], [head["frequencies"].get(k, 0) for k in keys])
        new = sorted(set(head["frequencies"]) - set(base["frequencies"]))
        return {"kind": "categorical", "psi": value, "new_values": new[:10]}
    hb, hh = base.get("histogram"), head.get("histogram")
    if hb and hh and (hb["low"], hb["high"]) == (hh["low"], hh["high"]):
        return {"kind": "numeric", "psi": psi(hb["counts"], hh["counts"]), **_smd(base, head)}
    return {"kind": "numeric", "psi": None, **_smd(base, head)}


def _smd(base: dict[str, Any], head: dict[str, Any]) -> dict[str, Any]:
    if "mean" not in base or "mean" not in head:
        return {"mean_shift_sd": None}
    sd = base.get("std") or 0.0
    return {"mean_shift_sd": (head["mean"] - base["mean"]) / sd if sd > 0 else None}


def severity(value: float | None) -> str:
    if value is None or math.isnan(value):
        return ""
    return "major" if value >= 0.25 else "moderate" if value >= 0.1 else "none"


def data_diff(base: dict[str, Any], head: dict[str, Any]) -> dict[str, Any]:
    """Files, schema and per-column shift between two profiles (base -> head)."""
    bf, hf = base.get("files", {}), head.get("files", {})
    files = [
        {"file": f, "base_rows": bf.get(f), "head_rows": hf.get(f)}
        for f in sorted(set(bf) | set(hf))
        if bf.get(f) != hf.get(f)
    ]
    bc, hc = base.get("columns", {}), head.get("columns", {})
    schema = {
        "added": sorted(set(hc) - set(bc)),
        "removed": sorted(set(bc) - set(hc)),
        "dtype_changed": sorted(c for c in set(bc) & set(hc) if bc[c]["dtype"] != hc[c]["dtype"]),
    }
    shift = {c: column_shift(bc[c], hc[c]) for c in sorted(set(bc) & set(hc))}
    return {"rows": {"base": base.get("rows"), "head": head.get("rows")}, "files": files, "schema": schema,
            "shift": shift}  # fmt: skip
