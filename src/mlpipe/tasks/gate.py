"""``make gate``: may this change merge? Compares the candidate with the base branch's model.

The reference is the model committed on the base branch (``--base``, ``origin/<base>``
preferred). When its file can be read (local DVC cache or remote), it is re-scored on the
candidate's frozen test set and every metric delta gets a paired bootstrap interval. When
it cannot (a fresh fork with no remote), the base branch's committed ``metrics.json`` is
the reference and the interval covers the candidate's sampling noise only; the report
says which. When the base measured a different test set (new data, another dataset swapped
in), there is no reference comparison: deltas between different data would block every
such change for nothing. Writes a JSON verdict and a Markdown summary; exits 1 when blocking.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import logging
from typing import Any

import numpy as np

from mlpipe.cli import run_stage
from mlpipe.core.bootstrap import DeltaCI, bootstrap_deltas
from mlpipe.core.features import feature_frame
from mlpipe.core.gate import Verdict, decide
from mlpipe.core.model import positive_proba
from mlpipe.errors import DataError, GateFailed, ModelIntegrityError
from mlpipe.io import git
from mlpipe.io.files import load_config, read_frame, read_json, sha256_file, write_json, write_text
from mlpipe.io.models import load_verified_bytes
from mlpipe.io.pipeline import DVC_YAML, PipelinePaths, pipeline_paths

log = logging.getLogger(__name__)


def resolve_base(base: str) -> str | None:
    for rev in (f"origin/{base}", base):
        if git.resolve(rev):
            return rev
    return None


def reference_model_bytes(rev: str, card_path: str) -> bytes:
    """The base branch's model file, checked against the sha256 its card records."""
    import dvc.api  # noqa: PLC0415 - only needed when a reference exists

    card_text = git.show(rev, card_path)
    if card_text is None:
        raise FileNotFoundError(f"{rev} has no {card_path}")
    card = json.loads(card_text)
    with dvc.api.open(card["model"]["path"], repo=".", rev=rev, mode="rb") as fh:
        data: bytes = fh.read()
    actual = hashlib.sha256(data).hexdigest()
    if actual != card["model"]["sha256"]:
        raise ModelIntegrityError(f"{rev}:{card['model']['path']} sha256 {actual[:12]}… does not match its card")
    return data


def reference_deltas(
    rev: str | None, paths: PipelinePaths, y: np.ndarray, p: np.ndarray, test: Any, contract: Any, params: Any
) -> tuple[dict[str, DeltaCI] | None, str | None, list[str]]:
    notes: list[str] = []
    if rev is None:  # a repository's first push (its "before" is all zeros), or a mistyped BASE
        return None, None, ["no base revision found: only absolute bounds, the baseline and slices were checked"]
    bs = params.gate.bootstrap
    kw = {"threshold": params.evaluate.threshold, "n_resamples": bs.n_resamples, "confidence": bs.confidence,
          "seed": bs.seed}  # fmt: skip
    try:
        model = load_verified_bytes(reference_model_bytes(rev, paths.card.as_posix()), f"{rev}:{paths.model}")
    except Exception as err:  # any failure to obtain the model falls back to committed metrics
        # the reason goes to the log; the PR comment gets a sentence, not an exception's text
        log.warning("%s model not available: %s: %s", rev, type(err).__name__, str(err)[:300])
        notes.append(f"{rev} model not available here (no DVC remote or local cache holds it)")
    else:
        try:
            p_ref = positive_proba(model, feature_frame(test, contract))
        except Exception as err:  # the data or the contract changed: its features are not these
            log.warning("%s model cannot score this test set: %s: %s", rev, type(err).__name__, str(err)[:300])
            notes.append(f"the {rev} model cannot score this test set (the data or the contract changed)")
        else:
            notes.append(f"reference: the {rev} model re-scored on this test set (paired bootstrap)")
            return bootstrap_deltas(y, p, p_ref, **kw), f"{rev} model", notes
    text = git.show(rev, paths.metrics.as_posix())
    if text is None:
        notes.append(f"{rev} has no committed {paths.metrics}: no reference comparison")
        return None, None, notes
    ref_metrics = json.loads(text)
    if ref_metrics.get("test", {}).get("sha256") != read_json(paths.metrics)["test"]["sha256"]:
        # Deltas between different data say nothing about the change (a fork swapping in its own
        # data would always be blocked): judge by the absolute bounds, the baseline and slices.
        notes.append(
            f"{rev}'s metrics were measured on a different test set (the data changed): no reference "
            "comparison; absolute bounds, the baseline and slices were checked"
        )
        return None, None, notes
    notes.append(f"reference: {rev}'s committed metrics; the interval covers the candidate's sampling noise only")
    return bootstrap_deltas(y, p, None, ref_metrics["model"], **kw), f"{rev} metrics.json", notes


def markdown(v: Verdict) -> str:
    head = "✅ **Gate passed**" if v.passed else "❌ **Gate blocked the merge**"
    lines = [f"### {head}", ""]
    if not v.passed:
        lines += [f"- {r}" for r in v.reasons] + [""]
    lines += ["| check | result | detail |", "|---|---|---|"]
    lines += [f"| `{c.name}` | {'pass' if c.passed else '**FAIL**'} | {c.detail} |" for c in v.checks]
    if v.deltas:
        lines += ["", f"Deltas vs {v.reference} (candidate - reference, {len(v.deltas)} metrics):", "",
                  "| metric | candidate | reference | delta | 95% CI |", "|---|---|---|---|---|"]  # fmt: skip
        for m, d in v.deltas.items():
            lines.append(
                f"| {m} | {d['candidate']:.4f} | {d['reference']:.4f} | {d['delta']:+.4f} "
                f"| [{d['low']:+.4f}, {d['high']:+.4f}] |"
            )
    lines += [""] + [f"_{n}_" for n in v.notes]
    return "\n".join(lines) + "\n"


METRICS_KEYS = ("model", "baseline", "slice_gaps", "model_sha256", "test")


def candidate_metrics(paths: PipelinePaths) -> dict[str, Any]:
    """The evaluate stage's metrics, and proof they are those of the model on disk: the gate judges
    figures, and a model deleted or replaced since (by hand, a failed run, a checkout) must not pass
    on its predecessor's figures."""
    metrics: dict[str, Any] = read_json(paths.metrics)
    missing = [k for k in METRICS_KEYS if k not in metrics] if isinstance(metrics, dict) else list(METRICS_KEYS)
    if missing:
        raise DataError(f"{paths.metrics}: no {', '.join(missing)}: not evaluate's output; rerun `make repro`")
    if not paths.model.is_file():
        raise DataError(f"{paths.model}: missing; restore it (`dvc checkout`) or rerun `make repro`")
    actual = sha256_file(paths.model)
    if actual != metrics["model_sha256"]:
        raise DataError(
            f"{paths.model} (sha256 {actual[:12]}…) is not the model {paths.metrics} measured "
            f"({str(metrics['model_sha256'])[:12]}…): rerun `make repro` (or `dvc checkout` to restore it)"
        )
    return metrics


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--base", default="main", help="branch to compare against (CI passes github.base_ref)")
    ap.add_argument("--dvc-yaml", default=DVC_YAML)
    args = ap.parse_args(argv)
    paths = pipeline_paths(args.dvc_yaml)
    params, contract = load_config(paths.params, paths.contract)
    metrics = candidate_metrics(paths)
    preds = read_frame(paths.predictions)
    test = read_frame(paths.test)
    y, p = preds["y"].to_numpy(), preds["model"].to_numpy()
    rev = resolve_base(args.base)
    if rev is None:
        log.warning("BASE %r: neither origin/%s nor %s is a revision here", args.base, args.base, args.base)
    deltas, label, notes = reference_deltas(rev, paths, y, p, test, contract, params)
    verdict = decide(params.gate, metrics["model"], metrics["baseline"], deltas, metrics["slice_gaps"], label, notes)
    out = verdict.to_dict() | {"base": args.base, "model_sha256": metrics["model_sha256"]}
    write_json(paths.gate_json, out)
    write_text(paths.gate_md, markdown(verdict))
    for n in notes:
        log.info("%s", n)
    if not verdict.passed:
        raise GateFailed("gate blocked the candidate:\n" + "\n".join(f"  - {r}" for r in verdict.reasons))
    log.info("gate passed (%d checks)", len(verdict.checks))


if __name__ == "__main__":
    run_stage(main)
