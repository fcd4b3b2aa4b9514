"""The one scoring path: the trained Pipeline, loaded after its hash check, fed by ``model_input``.

The service and batch scoring both use :class:`Scorer`; training's evaluate stage uses the same
``model_input``/``positive_proba`` functions on the same Pipeline, so a row gets the same
probability everywhere (tests/serving/test_socket.py proves it).
"""

from __future__ import annotations

import contextlib
import logging
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sklearn.utils._openmp_helpers import _openmp_effective_n_threads
from threadpoolctl import ThreadpoolController

from mlpipe.config import Contract
from mlpipe.core.features import model_input
from mlpipe.core.model import positive_proba
from mlpipe.core.schema import target_values
from mlpipe.errors import ConfigError
from mlpipe.io.files import read_json
from mlpipe.io.models import load_model
from mlpipe.io.predlog import PredictionLog, utc_now
from mlpipe.serving.fastpath import FastPath

log = logging.getLogger(__name__)

# Calls with fewer rows run on one OpenMP/BLAS thread. Parallel tree scoring splits the rows among
# threads once per tree (100 fork/joins per call): on a busy machine every join waits for a core.
# Measured on a loaded 2-core machine, the fast path took 2.8 ms for 200 rows on one thread, 13.5 ms
# on two; 23 vs 100 ms for 1,000 rows (a 1-row Pipeline call: 16 ms on one thread, up to 324 ms on
# two). So every service call (at most serve.max_batch_rows = 1,000 rows) stays on one thread;
# only big batch-scoring chunks use them all, for machines with idle cores.
SMALL_CALL_ROWS = 2048
# One controller for the process: threadpoolctl.threadpool_limits re-inspects the loaded libraries
# on every call (~3 ms); a controller's limit() is ~15 µs.
_THREADS = ThreadpoolController()


@dataclass(frozen=True)
class Scorer:
    pipeline: Any
    card: dict[str, Any]
    contract: Contract
    role: str = "champion"
    # the checked sha256 of the file ``pipeline`` was loaded from (its fast path is probed once a process)
    file_sha256: str | None = None
    threshold: float = field(init=False)  # the card's: the one the model was evaluated with
    labels: tuple[Any, Any] = field(init=False)
    fast: FastPath | None = field(init=False, repr=False)  # None: the Pipeline scores every call

    def __post_init__(self) -> None:
        threshold = self.card.get("threshold")
        if not isinstance(threshold, int | float) or isinstance(threshold, bool) or not 0 < threshold < 1:
            raise ValueError(
                f"the model card has no decision threshold between 0 and 1 (got {threshold!r}): "
                "it predates the train stage that records it; run `make repro`"
            )
        object.__setattr__(self, "threshold", float(threshold))
        self._check_contract()
        object.__setattr__(self, "labels", target_values(self.contract))
        object.__setattr__(self, "fast", FastPath.build(self.pipeline, self.contract, self.file_sha256))

    def _check_contract(self) -> None:
        """The model takes the features and predicts the target its card records: a contract edited
        since (a feature added or dropped, another target) would make every request fail in scoring."""
        trained = self.card.get("features")
        if trained is not None and list(trained) != list(self.contract.features):
            added = [f for f in self.contract.features if f not in trained]
            dropped = [f for f in trained if f not in self.contract.features]
            change = f"added {added}, dropped {dropped}" if added or dropped else "the same columns in another order"
            raise ValueError(
                f"the model was trained on other features than the contract lists ({change}): retrain it "
                "(`make repro`), or restore the contract it was trained with"
            )
        target = self.card.get("target")
        if target is not None and target != self.contract.target:
            raise ValueError(
                f"the model predicts {target!r}, the contract's target is {self.contract.target!r}: retrain it "
                "(`make repro`), or restore the contract it was trained with"
            )

    @property
    def sha256(self) -> str:
        return str(self.card["model"]["sha256"])

    @property
    def version(self) -> str:
        """The first 12 hex digits of the model file's sha256: same bytes, same version."""
        return self.sha256[:12]

    def provenance(self) -> dict[str, Any]:
        """What the model was trained from, as its card records it: inputs only, so no commit (the
        service adds the commit it runs, see mlpipe.serving.app)."""
        c = self.card
        return {
            "model_version": self.version,
            "model_sha256": self.sha256,
            "model_kind": c["model"]["kind"],
            "role": self.role,
            "dataset": c.get("dataset"),
            "data_sha256": c.get("data_sha256"),
            "train_sha256": c.get("train_sha256"),
            "train_rows": c.get("train_rows"),
            "contract_sha256": c.get("contract_sha256"),
            "code_sha256": c.get("code_sha256"),
            "libraries": c.get("libraries"),
        }

    def proba(self, raw: pd.DataFrame) -> np.ndarray:
        """Positive-class probabilities, bit-identical to ``positive_proba(pipeline, model_input(raw))``.

        Small calls never oversubscribe threads (see SMALL_CALL_ROWS); the fast path, when the model
        has one, skips pandas and the ColumnTransformers (see mlpipe.serving.fastpath).
        """
        small = len(raw) < SMALL_CALL_ROWS
        with _THREADS.limit(limits=1) if small else contextlib.nullcontext():
            if self.fast is not None:
                return self.fast.proba(raw, threads=1 if small else _openmp_effective_n_threads())
            p: np.ndarray = positive_proba(self.pipeline, model_input(raw, self.contract))
            return p

    def predictions(self, proba: np.ndarray) -> np.ndarray:
        neg, pos = self.labels
        out: np.ndarray = np.where(proba >= self.threshold, pos, neg)
        return out

    def event(self, raw: pd.DataFrame, proba: np.ndarray, source: str, **extra: Any) -> dict[str, Any]:
        """A prediction-log line (see mlpipe.io.predlog for the format)."""
        ids = None
        if self.contract.id in raw:  # optional in requests: missing ones are logged as null
            col = raw[self.contract.id]
            ids = col.astype(object).where(col.notna(), None).tolist()
        return {
            "ts": utc_now(),
            "source": source,
            "role": self.role,
            "model_version": self.version,
            "model_sha256": self.sha256,
            "data_sha256": self.card.get("data_sha256"),
            "rows": len(raw),
            **extra,
            "ids": ids,
            "features": {f: raw[f].to_numpy() for f in self.contract.features},
            "probability": proba,
            "prediction": self.predictions(proba),
        }


def load_scorer(card_path: str | Path, contract: Contract, role: str = "champion", root: str | Path = ".") -> Scorer:
    """Read the model card, check the model file's sha256 against it, load with trusted types only.

    Paths in the card are relative to the repository root (where ``dvc repro`` ran): ``root``.
    """
    card = read_json(Path(root) / card_path)
    pipeline = load_model(Path(root) / card["model"]["path"], card["model"]["sha256"])
    try:
        scorer = Scorer(pipeline, card, contract, role, card["model"]["sha256"])  # load_model checked it
    except ValueError as err:
        raise ConfigError(f"{card_path}: {err}") from None
    log.info("loaded %s model %s (%s) from %s", role, scorer.version, card["model"]["kind"], card["model"]["path"])
    return scorer


def score_and_log(
    scorer: Scorer, raw: pd.DataFrame, plog: PredictionLog | None, source: str, **extra: Any
) -> np.ndarray:
    proba = scorer.proba(raw)
    if plog is not None:
        plog.write(scorer.event(raw, proba, source, **extra))
    return proba


#: numpy's type for a number column: the check leaves only Python ints in an int column and floats in a
#: float one (JSON 3 becomes 3.0), so that is what pandas would infer from them
_NUMBERS = {"int": np.int64, "float": np.float64}


def records_frame(rows: Sequence[tuple[Any, ...]], columns: list[str], contract: Contract) -> pd.DataFrame:
    """Checked records (value tuples in ``columns`` order) as the frame the model scores; an int id that
    some records left out stays an int column (``Int64``), not floats.

    A number column with no value missing becomes its numpy array directly, what pandas would infer
    without inferring (~2x cheaper a record); the others as pandas infers them from the records."""
    values = list(zip(*rows, strict=True))
    arrays: dict[str, Any] = {}
    for j, name in enumerate(columns):
        kind = _NUMBERS.get(contract.columns[name].dtype)
        if rows and kind is not None and None not in values[j]:
            arrays[name] = np.fromiter(values[j], dtype=kind, count=len(rows))
    rest = [j for j, name in enumerate(columns) if name not in arrays]
    if rest:
        inferred = pd.DataFrame.from_records(
            [tuple(r[j] for j in rest) for r in rows], columns=[columns[j] for j in rest]
        )
        arrays.update({name: inferred[name] for name in inferred.columns})
    frame = pd.DataFrame({name: arrays[name] for name in columns}, columns=columns)
    key = contract.id
    if contract.columns[key].dtype == "int" and key not in contract.features and frame[key].dtype != "int64":
        frame[key] = pd.array([r[columns.index(key)] for r in rows], dtype="Int64")  # None beside ids
    return frame


def new_id() -> str:
    return uuid.uuid4().hex
