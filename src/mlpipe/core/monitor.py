"""The monitor's verdict and report (Markdown, small SVG plots), from drift, quality and metrics. Pure."""

from __future__ import annotations

from typing import Any

import numpy as np

from mlpipe.config import MonitorParams
from mlpipe.core.drift import Drift
from mlpipe.core.metrics import DIRECTION


def metric_drops(reference: dict[str, float], window: dict[str, float], m: MonitorParams) -> dict[str, dict[str, Any]]:
    """How much worse each metric is on the window than on the test set (positive = worse)."""
    out = {}
    for name, ref in reference.items():
        if name not in window:
            continue
        drop = DIRECTION[name] * (ref - window[name])
        bound = m.max_metric_drop.get(name)  # type: ignore[call-overload]
        out[name] = {"reference": ref, "window": window[name], "drop": drop, "max_drop": bound,
                     "alert": bound is not None and drop > bound}  # fmt: skip
    return out


def verdict(
    rows: int,
    features: list[Drift],
    prediction: Drift,
    failed_checks: int,
    drops: dict[str, dict[str, Any]],
    m: MonitorParams,
    slice_gaps: dict[str, float | None] | None = None,
    max_slice_gap: dict[str, float] | None = None,
) -> dict[str, Any]:
    reasons = []
    if rows < m.min_rows:
        return {
            "alert": False,
            "judged": False,
            "reasons": [f"only {rows} rows (< {m.min_rows}): reported, not judged"],
        }
    drifted = [d.name for d in features if d.drifted]
    if drifted:
        reasons.append(f"{len(drifted)} feature(s) drifted: {', '.join(drifted)}")
    if prediction.drifted:
        reasons.append("predictions drifted: " + "; ".join(prediction.reasons))
    if failed_checks > m.max_failed_expectations:
        reasons.append(f"{failed_checks} data-quality expectation(s) failed (> {m.max_failed_expectations})")
    for name, d in drops.items():
        if d["alert"]:
            reasons.append(f"{name} dropped by {d['drop']:.4f} (> {d['max_drop']})")
    for name, gap in (slice_gaps or {}).items():
        bound = (max_slice_gap or {}).get(name)
        if gap is not None and bound is not None and gap > bound:
            reasons.append(f"slice gap for {name} is {gap:.4f} (> {bound}, the gate's bound)")
    return {"alert": bool(reasons), "judged": True, "reasons": reasons}


def compare_models(champion: dict[str, Any], challenger: dict[str, Any]) -> dict[str, Any]:
    """Champion vs challenger on logged traffic: ``{request_id: (probability, prediction)}`` per model.

    Shadow traffic has both answers for the same requests (agreement, mean |difference|); canary
    traffic splits requests, so only the two answer distributions compare.
    """
    both = sorted(set(champion) & set(challenger))
    out: dict[str, Any] = {"champion_rows": len(champion), "challenger_rows": len(challenger), "paired": len(both)}
    if both:
        pa = np.array([champion[k][0] for k in both])
        pb = np.array([challenger[k][0] for k in both])
        agree = np.mean([champion[k][1] == challenger[k][1] for k in both])
        out.update(agreement=float(agree), mean_abs_diff=float(np.mean(np.abs(pa - pb))),
                   champion_mean=float(pa.mean()), challenger_mean=float(pb.mean()))  # fmt: skip
    elif champion and challenger:
        pa = np.array([v[0] for v in champion.values()])
        pb = np.array([v[0] for v in challenger.values()])
        out.update(champion_mean=float(pa.mean()), challenger_mean=float(pb.mean()))
    return out


def status(d: Drift, m: MonitorParams) -> str:
    if d.drifted:
        return "**drifted**"
    if d.p_value < m.alpha:
        return "shifted (significant, small)"
    return "stable"


def bar_svg(d: Drift, width: int = 360) -> str:
    """Reference vs window shares per bin or category: grey and blue bars, one row per bin."""
    n = len(d.bins)
    row, label_w = 14, 110
    height = row * n + 24
    scale = (width - label_w - 10) / max(max(d.reference, default=0), max(d.window, default=0), 1e-9)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" font-family="sans-serif" '
        f'font-size="10"><title>{_esc(d.name)}: reference (grey) vs window (blue)</title>',
        f'<text x="2" y="10">{_esc(d.name)} — PSI {d.psi:.3f}, {d.test} effect {d.effect:.3f}</text>',
    ]
    for i, (label, r, w) in enumerate(zip(d.bins, d.reference, d.window, strict=True)):
        y = 16 + i * row
        parts.append(f'<text x="2" y="{y + 9}">{_esc(label[:18])}</text>')
        parts.append(f'<rect x="{label_w}" y="{y}" width="{r * scale:.1f}" height="5" fill="#999"/>')
        parts.append(f'<rect x="{label_w}" y="{y + 5}" width="{w * scale:.1f}" height="5" fill="#2b6cb0"/>')
    parts.append("</svg>")
    return "\n".join(parts) + "\n"


def _esc(s: str) -> str:
    return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def markdown(report: dict[str, Any], features: list[Drift], prediction: Drift, m: MonitorParams) -> str:
    v = report["verdict"]
    head = "🚨 **Alert**" if v["alert"] else ("✅ No alert" if v["judged"] else "ℹ️ Not judged")
    lines = [
        f"# Model monitor: {report['window']['source']}",
        "",
        f"{head} — model `{report['model_version']}`, {report['window']['rows']:,} rows in the window vs "
        f"{report['reference']['rows']:,} training rows.",
        "",
        *[f"- {r}" for r in v["reasons"]],
        "",
        "## Feature drift",
        f"Drifted = PSI ≥ {m.psi}, or p < {m.alpha} with effect ≥ {m.min_effect} (KS D for numbers, Cramér's V "
        "for categories). With this many rows tiny shifts are significant: those are listed as *shifted*.",
        "",
        "| feature | status | PSI | test | effect | p |",
        "|---|---|---|---|---|---|",
    ]
    for d in sorted(features, key=lambda d: -d.psi):
        lines.append(f"| {d.name} | {status(d, m)} | {d.psi:.4f} | {d.test} | {d.effect:.3f} | {d.p_value:.1e} |")
    lines += [
        "",
        "## Predictions",
        f"Positive-class probability vs the test set: PSI {prediction.psi:.4f}, KS D {prediction.effect:.3f} "
        f"(p {prediction.p_value:.1e}) — {status(prediction, m.model_copy(update={'psi': m.prediction_psi}))}. "
        f"Mean {report['predictions']['window_mean']:.4f} (test set {report['predictions']['reference_mean']:.4f}).",
        "",
        "## Data quality",
    ]
    q = report["quality"]
    if q["failed"]:
        lines += [f"{q['failed']} of {q['evaluated']} expectations failed:", ""]
        failed = [c for c in q["checks"] if not c["success"]]
        lines += [f"- `{c['expectation']}` {c.get('column') or ''} {c.get('message') or ''}".rstrip() for c in failed]
    else:
        lines.append(f"All {q['evaluated']} expectations of the contract's suite passed.")
    if report.get("metrics"):
        lines += ["", "## Performance (the window has labels)", ""]
        lines += ["| metric | test set | window | worse by | alert at |", "|---|---|---|---|---|"]
        for name, d in report["metrics"].items():
            bound = "" if d["max_drop"] is None else f"> {d['max_drop']}"
            lines.append(f"| {name} | {d['reference']:.4f} | {d['window']:.4f} | {d['drop']:+.4f} | {bound} |")
        if report.get("slices"):
            lines += ["", "| slice | metric | test-set gap | window gap | worst group |", "|---|---|---|---|---|"]
            for name, s in report["slices"].items():
                ref = "n/a" if s["reference_gap"] is None else f"{s['reference_gap']:.4f}"
                gap = "n/a" if s["gap"] is None else f"{s['gap']:.4f}"
                lines.append(f"| {name} | {s['metric']} | {ref} | {gap} | {s['worst']} |")
    cc = report.get("challenger")
    if cc:
        lines += ["", "## Champion vs challenger (logged traffic)", ""]
        lines.append(f"{cc['champion_rows']:,} champion and {cc['challenger_rows']:,} challenger predictions; "
                     f"{cc['paired']:,} requests scored by both (shadow).")  # fmt: skip
        if cc.get("paired"):
            lines.append(f"Same prediction on {cc['agreement']:.1%} of them; mean |probability difference| "
                         f"{cc['mean_abs_diff']:.4f}.")  # fmt: skip
        if "champion_mean" in cc:
            lines.append(
                f"Mean probability: champion {cc['champion_mean']:.4f}, challenger {cc['challenger_mean']:.4f}."
            )
    plots = report.get("plots", [])
    if plots:
        lines += ["", "## Plots", ""] + [f"- `{p}`" for p in plots]
    return "\n".join(lines) + "\n"
