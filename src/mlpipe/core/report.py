"""The pull-request report: one Markdown document from plain dicts, so it is golden-tested.

CML only posts what this returns; nothing here knows about git, DVC or GitHub.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from mlpipe.core.charts import Plots, charts
from mlpipe.core.comment import WATERMARK
from mlpipe.core.metrics import DIRECTION
from mlpipe.core.profile import data_diff, severity

#: The workflow artifact (pipeline.yml) holding the report and the plot data; tests/test_workflows.py checks it.
ARTIFACT = "report"


@dataclass(frozen=True)
class ReportInputs:
    base: str
    params: dict[str, Any]
    metrics: dict[str, Any]
    validation: dict[str, Any]
    slices: dict[str, Any]
    gate: dict[str, Any] | None = None
    base_params: dict[str, Any] | None = None
    base_metrics: dict[str, Any] | None = None
    base_validation: dict[str, Any] | None = None
    plots: Plots = field(default_factory=dict)  # plot file stem -> rows, as the evaluate stage wrote them
    base_plots: Plots | None = None


def flatten(d: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in d.items():
        key = f"{prefix}{k}"
        if isinstance(v, dict) and v:
            out.update(flatten(v, key + "."))
        else:
            out[key] = v
    return out


def _num(v: Any, digits: int = 4) -> str:
    if v is None:
        return "–"
    if isinstance(v, float):
        return f"{v:.{digits}f}"
    return str(v)


def _gate_section(gate: dict[str, Any] | None) -> list[str]:
    if gate is None:
        return ["### Gate: not run", "", "_`make gate` did not produce a verdict._", ""]
    lines = ["### ✅ Gate passed" if gate["passed"] else "### ❌ Gate failed: this change must not merge", ""]
    lines += [f"- {r}" for r in gate.get("reasons", [])]
    lines += [f"- _{n}_" for n in gate.get("notes", [])]
    return [*lines, ""]


def _metrics_section(inp: ReportInputs) -> list[str]:
    model, baseline = inp.metrics["model"], inp.metrics["baseline"]
    deltas = (inp.gate or {}).get("deltas") or {}
    base_model = (inp.base_metrics or {}).get("model") or {}
    # Different test sets (new data, a fork's own): figures side by side, never a delta (as the gate says)
    same_test = ((inp.base_metrics or {}).get("test") or {}).get("sha256") == inp.metrics["test"].get("sha256")
    conf = inp.params.get("gate", {}).get("bootstrap", {}).get("confidence", 0.95)
    lines = [f"### Metrics (test set: {inp.metrics['test']['rows']:,} rows)", ""]
    lines += [
        f"| metric | base | this PR | delta | {conf:.0%} CI of delta | baseline model |",
        "|---|---|---|---|---|---|",
    ]
    for m, v in model.items():
        d = deltas.get(m)
        if d is not None:
            ref, delta, ci = d["reference"], d["delta"], f"[{d['low']:+.4f}, {d['high']:+.4f}]"
        elif m in base_model:
            ref, delta, ci = base_model[m], (v - base_model[m] if same_test else None), "–"
        else:
            ref, delta, ci = None, None, "–"
        arrow = ""
        if d is not None and d["low"] <= 0 <= d["high"]:
            arrow = " (no significant change)"  # the interval covers 0: neither better nor worse
        elif delta:
            arrow = " 🟢" if DIRECTION[m] * delta > 0 else " 🔴"
        shown = "–" if delta is None else f"{delta:+.4f}{arrow}"
        lines.append(f"| {m} | {_num(ref)} | {_num(v)} | {shown} | {ci} | {_num(baseline.get(m))} |")
    if not base_model and not deltas:
        lines += ["", f"_No metrics on `{inp.base}` to compare with (first run, or the base has no pipeline yet)._"]
    elif base_model and not deltas and not same_test:
        lines += ["", f"_`{inp.base}` measured a different test set (the data changed): its figures are shown, "
                      "not compared._"]  # fmt: skip
    return [*lines, ""]


def _params_section(inp: ReportInputs) -> list[str]:
    if inp.base_params is None:
        return ["### Params", "", f"_No `params.yaml` on `{inp.base}`._", ""]
    head, base = flatten(inp.params), flatten(inp.base_params)
    changed = [k for k in sorted(set(head) | set(base)) if head.get(k) != base.get(k)]
    if not changed:
        return ["### Params", "", "No parameter changed.", ""]
    lines = ["### Params", "", "| param | base | this PR |", "|---|---|---|"]
    lines += [f"| `{k}` | {_num(base.get(k))} | {_num(head.get(k))} |" for k in changed]
    return [*lines, ""]


def _validation_section(v: dict[str, Any]) -> list[str]:
    if v.get("success"):
        return ["### Data validation: ✅ passed", "", f"All {v['evaluated']} checks passed on {v['rows']:,} rows.", ""]
    lines = [f"### Data validation: ❌ {v['failed']} of {v['evaluated']} checks failed", ""]
    lines += ["| expectation | file | column | bad rows | examples / message |", "|---|---|---|---|---|"]
    for c in v["checks"]:
        if not c["success"]:
            detail = c.get("examples") or c.get("message") or c.get("observed") or ""
            file = str(c.get("file") or "all files").rsplit("/", 1)[-1]
            lines.append(
                f"| `{c['expectation']}` | {file} | {c.get('column') or ''} "
                f"| {c.get('unexpected_count', '')} | {str(detail)[:120].replace('|', '/')} |"
            )
    return [*lines, ""]


def _data_section(inp: ReportInputs) -> list[str]:
    base_v = inp.base_validation
    if base_v is None or "profile" not in base_v or "profile" not in inp.validation:
        return ["### Data changes", "", f"_No data profile on `{inp.base}` to compare with._", ""]
    if base_v.get("data_sha256") == inp.validation.get("data_sha256"):
        return ["### Data changes", "", "The data did not change.", ""]
    diff = data_diff(base_v["profile"], inp.validation["profile"])
    rows = diff["rows"]
    lines = ["### Data changes", "", f"Rows: {rows['base']:,} → {rows['head']:,}.", ""]
    if diff["files"]:
        lines += ["| file | base rows | this PR |", "|---|---|---|"]
        lines += [f"| `{f['file']}` | {_num(f['base_rows'])} | {_num(f['head_rows'])} |" for f in diff["files"]]
        lines.append("")
    schema = diff["schema"]
    for what in ("added", "removed", "dtype_changed"):
        if schema[what]:
            lines.append(f"- columns {what.replace('_', ' ')}: {', '.join(f'`{c}`' for c in schema[what])}")
    shifted = sorted(
        ((c, s) for c, s in diff["shift"].items() if s.get("psi") is not None),
        key=lambda cs: -float(cs[1]["psi"]),
    )
    if shifted:
        if lines[-1]:
            lines.append("")
        lines += ["| column | PSI | shift | new values |", "|---|---|---|---|"]
        for c, s in shifted[:10]:
            new = ", ".join(map(str, s.get("new_values", []))) or ""
            lines.append(f"| `{c}` | {s['psi']:.4f} | {severity(s['psi'])} | {new} |")
    return [*lines, ""]


def _slices_section(inp: ReportInputs) -> list[str]:
    base_gaps = (inp.base_metrics or {}).get("slice_gaps") or {}
    lines = [f"### Slices ({inp.slices['metric']}; groups of ≥ {inp.slices['min_size']} rows)", ""]
    lines += ["| attribute | largest gap | base gap | best group | worst group |", "|---|---|---|---|---|"]
    for a, v in inp.slices["attributes"].items():
        lines.append(f"| {a} | {_num(v['gap'])} | {_num(base_gaps.get(a))} | {v['best']} | {v['worst']} |")
    return [*lines, ""]


def _plots_section(inp: ReportInputs) -> list[str]:
    if not inp.plots:
        return []
    lines = ["### Plots", "", *charts(inp.plots, inp.base_plots, inp.base)]
    note = f"_Every point of these plots, and the confusion matrix, is in the run's `{ARTIFACT}` artifact._"
    return [*lines, note, ""]


def build(inp: ReportInputs) -> str:
    lines = [f"## {WATERMARK}: this PR vs `{inp.base}`", ""]
    lines += _gate_section(inp.gate)
    lines += _metrics_section(inp)
    lines += _params_section(inp)
    lines += _validation_section(inp.validation)
    lines += _data_section(inp)
    lines += _slices_section(inp)
    lines += _plots_section(inp)
    return "\n".join(lines).rstrip() + "\n"
