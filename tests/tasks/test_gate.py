"""The gate's reference when the base branch measured other data: no deltas between different test sets."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import numpy as np
import pytest

from mlpipe.config import Contract, Params
from mlpipe.core.metrics import classification_metrics
from mlpipe.io.pipeline import PipelinePaths
from mlpipe.tasks.gate import reference_deltas

pytestmark = pytest.mark.integration


def commit_base(repo: Path, paths: PipelinePaths, metrics: dict[str, object]) -> None:
    """A base branch whose model cannot be fetched (no DVC here) but whose metrics are committed."""
    for cmd in (["git", "init", "-q", "-b", "main"], ["git", "config", "user.email", "t@example.com"],
                ["git", "config", "user.name", "t"]):  # fmt: skip
        subprocess.run(cmd, cwd=repo, check=True)
    card = repo / paths.card
    card.parent.mkdir(parents=True, exist_ok=True)
    card.write_text(json.dumps({"model": {"path": paths.model.as_posix(), "sha256": "0" * 64}}))
    (repo / paths.metrics).parent.mkdir(parents=True, exist_ok=True)
    (repo / paths.metrics).write_text(json.dumps(metrics))
    subprocess.run(["git", "add", "-A"], cwd=repo, check=True)
    subprocess.run(["git", "commit", "-qm", "base"], cwd=repo, check=True)


@pytest.mark.parametrize("same_test_set", [True, False])
def test_deltas_only_against_the_same_test_set(
    same_test_set: bool,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    paths: PipelinePaths,
    params: Params,
    synth_contract: Contract,
) -> None:
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 400)
    p = np.clip(y * 0.3 + rng.random(400) * 0.7, 0, 1)
    base_model = classification_metrics(y, np.clip(p + 0.05, 0, 1), params.evaluate.threshold)
    commit_base(tmp_path, paths, {"test": {"sha256": "base-test"}, "model": base_model})
    ours = "base-test" if same_test_set else "a-new-dataset-test"
    (tmp_path / paths.metrics).write_text(json.dumps({"test": {"sha256": ours}}))
    monkeypatch.chdir(tmp_path)
    deltas, label, notes = reference_deltas("main", paths, y, p, None, synth_contract, params)
    if same_test_set:
        assert deltas is not None
        assert label == "main metrics.json"
    else:  # a fork's first PR with its own data: judged by bounds, baseline and slices, not by the example's
        assert (deltas, label) == (None, None)
        assert any("different test set (the data changed): no reference comparison" in n for n in notes)


def test_the_gate_judges_only_the_metrics_of_the_model_on_disk(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, paths: PipelinePaths
) -> None:
    """A model deleted or replaced after evaluate (a failed run, a checkout, by hand) must not pass on
    its predecessor's figures, and a metrics file that is not evaluate's is named, not a KeyError."""
    import hashlib

    from mlpipe.errors import DataError
    from mlpipe.tasks.gate import METRICS_KEYS, candidate_metrics

    monkeypatch.chdir(tmp_path)
    for p in (paths.model, paths.metrics):
        p.parent.mkdir(parents=True, exist_ok=True)
    paths.model.write_bytes(b"a model")
    sha = hashlib.sha256(b"a model").hexdigest()
    metrics: dict[str, object] = {key: {} for key in METRICS_KEYS} | {"model_sha256": sha}
    paths.metrics.write_text(json.dumps(metrics))
    assert candidate_metrics(paths) == metrics
    paths.model.write_bytes(b"another model")
    with pytest.raises(DataError, match=rf"{paths.model} \(sha256 .*\) is not the model {paths.metrics} measured"):
        candidate_metrics(paths)
    paths.model.unlink()
    with pytest.raises(DataError, match=rf"{paths.model}: missing"):
        candidate_metrics(paths)
    for text in ("{}", "[]"):
        paths.metrics.write_text(text)
        with pytest.raises(DataError, match=rf"{paths.metrics}: no model, baseline, slice_gaps"):
            candidate_metrics(paths)
