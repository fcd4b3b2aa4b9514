"""Strict models for ``params.yaml`` and the data contract.

Every knob lives in one of the two YAML files; these models are the only place their
shape is written down. ``extra="forbid"`` everywhere, so a typo fails with the key's name.
The models are pure: loading a file is :func:`mlpipe.io.files.load_yaml`'s job.
"""

from __future__ import annotations

import datetime
import re
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from mlpipe.errors import ConfigError

Scalar = int | float | str | bool


_ISO_DATE = re.compile(r"\d{4}-(0[1-9]|1[0-2])(-(0[1-9]|[12]\d|3[01]))?")


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=False)


# --------------------------------------------------------------------------- contract


# An int column holds what int64 holds: pandas stores it so, parquet writes it so, and orjson (the service's
# answers, the prediction log) writes nothing wider.
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1


def whole_int64(nums: Any) -> Any:
    """Which floats (a numpy array or Series) are whole numbers an int64 holds (2**63 is exact as a float)."""
    return (nums % 1 == 0) & (nums >= INT64_MIN) & (nums < -float(INT64_MIN))


class Column(Strict):
    """One column of the raw data.

    ``labels`` makes a column categorical: its keys are the only allowed codes and
    ``prepare`` replaces codes by the readable labels. ``allowed`` restricts values
    without relabelling; ``min``/``max`` bound numeric columns.
    """

    dtype: Literal["int", "float", "str", "bool"]
    description: str = ""
    nullable: bool = False
    min: float | None = None
    max: float | None = None
    allowed: list[Scalar] | None = None
    labels: dict[Scalar, str] | None = None

    @model_validator(mode="after")
    def _consistent(self) -> Column:
        if self.labels is not None and self.allowed is not None:
            raise ValueError("give either 'labels' or 'allowed', not both")
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError(f"min ({self.min}) is greater than max ({self.max})")
        if self.labels is not None and len(set(self.labels.values())) != len(self.labels):
            raise ValueError("two codes share one label")
        return self

    @property
    def categorical(self) -> bool:
        return self.labels is not None or self.dtype in ("str", "bool")

    @property
    def value_set(self) -> list[Scalar] | None:
        if self.labels is not None:
            return list(self.labels)
        return self.allowed


class Expectation(Strict):
    """An extra great-expectations expectation, by its snake_case name and kwargs.

    ``scope: file`` (the default) checks every data file on its own, so one bad batch cannot hide
    behind the others; ``all`` checks the stacked data (e.g. a total row count).
    """

    type: Annotated[str, Field(pattern=r"^expect_[a-z0-9_]+$")]
    kwargs: dict[str, Any] = Field(default_factory=dict)
    scope: Literal["file", "all"] = "file"


class FileChecks(Strict):
    """Per-file checks of the ``validate`` stage; every reference is the *other* data files.

    ``min_share_of_median``: a file with fewer rows than this share of the other files' median
    fails (a partial export). ``collapse_min_rows``: in a file with at least this many rows, a
    categorical feature with a single value fails when the other files have several.
    ``max_psi``: a feature whose PSI against the other files exceeds this fails (0.25 is the
    usual "major shift"; ``null`` turns it off, e.g. for data with strong seasonality).
    """

    min_file_rows: int | None = Field(default=None, ge=1)
    min_share_of_median: float | None = Field(default=0.1, gt=0, le=1)
    collapse_min_rows: int = Field(default=50, ge=2)
    max_psi: float | None = Field(default=0.25, gt=0)


class RowFilter(Strict):
    """Rows whose raw value is within [min, max] and/or one of ``in``."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)
    min: float | None = None
    max: float | None = None
    in_: list[Scalar] | None = Field(default=None, alias="in")


class BehaviourCheck(Strict):
    """A domain fact the model must respect, checked on the test rows (raw values, codes not labels).

    Without ``set``: minimum functionality, the share of selected rows whose probability is at
    most ``max_probability`` (or at least ``min_probability``) must reach ``share``. With ``set``:
    a directional check, the probability after ``set`` against the rows as they are (or after
    ``compare``) must move in ``direction`` for ``share`` of rows, or on average by at least ``by``.
    """

    name: str
    rows: dict[str, RowFilter] = Field(default_factory=dict)
    set: dict[str, Scalar] = Field(default_factory=dict)
    compare: dict[str, Scalar] = Field(default_factory=dict)
    max_probability: float | None = Field(default=None, ge=0, le=1)
    min_probability: float | None = Field(default=None, ge=0, le=1)
    direction: Literal["increase", "decrease"] | None = None
    by: float | None = None
    share: float = Field(default=0.99, gt=0, le=1)
    min_rows: int = Field(default=50, ge=1)

    @model_validator(mode="after")
    def _one_kind(self) -> BehaviourCheck:
        bounds = self.max_probability is not None or self.min_probability is not None
        if self.set and (bounds or self.direction is None):
            raise ValueError("a check with 'set' needs 'direction' and no probability bounds")
        if not self.set and (not bounds or self.direction is not None or self.compare):
            raise ValueError("a check without 'set' needs 'max_probability' or 'min_probability' (only)")
        return self


class SensitiveAttribute(Strict):
    """A column to slice metrics by; numeric columns need ``bins`` (left-closed edges)."""

    bins: list[float] | None = None

    @model_validator(mode="after")
    def _sorted(self) -> SensitiveAttribute:
        if self.bins is not None and (len(self.bins) < 2 or sorted(self.bins) != self.bins):
            raise ValueError("bins must be at least two increasing edges")
        return self


_QUOTE = " (in YAML, quote text that looks like a number or a boolean: '1', 'yes')"


def _fits(value: Scalar, dtype: str) -> bool:
    if dtype == "bool":
        return isinstance(value, bool)
    if dtype == "int":
        return isinstance(value, int) and not isinstance(value, bool)
    if dtype == "float":
        return isinstance(value, int | float) and not isinstance(value, bool)
    return isinstance(value, str)


class Contract(Strict):
    """What the data must look like and what each column is for."""

    name: str
    description: str = ""
    id: str
    target: str
    positive: Scalar = 1
    time: str | None = None
    columns: dict[str, Column]
    features: list[str] = Field(min_length=1)  # a model needs at least one column to learn from
    sensitive: dict[str, SensitiveAttribute] = Field(default_factory=dict)
    min_rows: int = Field(default=1, ge=1)
    expectations: list[Expectation] = Field(default_factory=list)
    validation: FileChecks = FileChecks()
    behaviour: list[BehaviourCheck] = Field(default_factory=list)

    @model_validator(mode="after")
    def _roles_are_columns(self) -> Contract:
        known = set(self.columns)
        roles: dict[str, list[str]] = {
            "id": [self.id],
            "target": [self.target],
            "features": self.features,
            "sensitive": list(self.sensitive),
        }
        if self.time is not None:
            roles["time"] = [self.time]
        for role, names in roles.items():
            missing = [n for n in names if n not in known]
            if missing:
                raise ValueError(f"{role}: {missing} not declared under 'columns'")
        leaked = {self.id, self.target} & set(self.features)
        if leaked:
            raise ValueError(f"features must not include the id or the target: {sorted(leaked)}")
        if len(set(self.features)) != len(self.features):
            raise ValueError("features lists a column twice")
        if self.columns[self.target].nullable or self.columns[self.id].nullable:
            raise ValueError("the target and the id cannot be nullable: drop the rows without them")
        target_values = self.columns[self.target].value_set
        if target_values is not None and self.positive not in target_values:
            allowed = sorted(target_values, key=str)
            raise ValueError(f"positive class {self.positive!r} is not an allowed target value (allowed: {allowed})")
        for name, attr in self.sensitive.items():
            if attr.bins is None and not self.columns[name].categorical:
                raise ValueError(f"sensitive.{name}: a numeric column needs 'bins'")
        return self

    @model_validator(mode="after")
    def _values_fit_their_dtypes(self) -> Contract:
        """``allowed``/``labels`` values and ``positive`` of the column's type: YAML reads ``1`` as a number,
        so a text column listing ``[1, 2]`` would reject every row ("1" is not 1)."""
        for name, col in self.columns.items():
            bad = [v for v in (col.value_set or []) if not _fits(v, col.dtype)]
            if bad:
                raise ValueError(f"columns.{name}: values {bad[:3]} are not of dtype {col.dtype}{_QUOTE}")
        target = self.columns[self.target]
        if not _fits(self.positive, target.dtype):
            raise ValueError(f"positive {self.positive!r} is not of the target's dtype {target.dtype}{_QUOTE}")
        if target.value_set is not None and len(target.value_set) != 2:
            raise ValueError(f"the target must have exactly two values, {self.target} lists {target.value_set}")
        return self

    @model_validator(mode="after")
    def _behaviour_names_columns(self) -> Contract:
        known = set(self.columns)
        for i, b in enumerate(self.behaviour):
            for key, names in (("rows", list(b.rows)), ("set", list(b.set)), ("compare", list(b.compare))):
                unknown = [n for n in names if n not in known]
                if unknown:
                    raise ValueError(f"behaviour.{i} ({b.name}): {key} names unknown columns {unknown}")
            for key, values in (("set", b.set), ("compare", b.compare)):
                for n, v in values.items():
                    allowed = self.columns[n].value_set
                    if allowed is not None and v not in allowed:
                        raise ValueError(f"behaviour.{i} ({b.name}): {key}.{n} = {v!r} is not an allowed value")
        return self

    def target_labels(self) -> tuple[Scalar, Scalar]:
        """(negative, positive) target values: the declared pair, else the other value of a boolean or
        0/1 target, else ``"not <positive>"`` (a text target that lists no values)."""
        col = self.columns[self.target]
        values = col.value_set
        if values is not None and len(values) >= 2:
            return next(v for v in values if v != self.positive), self.positive
        if col.dtype == "bool" or isinstance(self.positive, bool):
            return (not self.positive), self.positive
        if col.dtype in ("int", "float"):
            return (0 if self.positive != 0 else 1), self.positive
        return f"not {self.positive}", self.positive

    def feature_kinds(self) -> tuple[list[str], list[str]]:
        """(categorical, numeric) feature names, in contract order."""
        cat = [f for f in self.features if self.columns[f].categorical]
        num = [f for f in self.features if not self.columns[f].categorical]
        return cat, num


# --------------------------------------------------------------------------- params


class ExampleData(Strict):
    """Where ``make data`` gets the example dataset when no DVC remote has it."""

    package: str
    sha256: Annotated[str, Field(pattern=r"^[0-9a-f]{64}$")]
    years: list[int] = Field(min_length=1)
    available_years: list[int] = Field(min_length=1)

    @model_validator(mode="after")
    def _years_available(self) -> ExampleData:
        bad = sorted(set(self.years) - set(self.available_years))
        if bad:
            raise ValueError(f"years {bad} are not in available_years {self.available_years}")
        return self


class SplitParams(Strict):
    """``temporal``: test on the latest ``test_periods`` periods (or from ``cutoff`` on); ``stratified``: random.

    A period is a time value (``period: value``: a year column, ISO months), or, for a column of ISO
    dates, the ``month``, ``quarter`` or ``year`` it falls in: a daily date has hundreds of values,
    and "test on the last 92 days" is a quarter.
    """

    strategy: Literal["temporal", "stratified"] = "temporal"
    test_periods: int = Field(default=1, ge=1)
    period: Literal["value", "month", "quarter", "year"] = "value"
    cutoff: str | None = Field(default=None, description="temporal: test on time values from this ISO date on")
    test_size: float = Field(default=0.25, gt=0, lt=1)
    seed: int = 42

    @field_validator("cutoff", mode="before")
    @classmethod
    def _cutoff_quoted(cls, value: Any) -> Any:
        if isinstance(value, datetime.date):  # YAML reads 2024-07-01 as a date, which DVC refuses in params
            raise ValueError(f'write the date in quotes, cutoff: "{value.isoformat()}" (unquoted, YAML reads a date)')
        return value

    @model_validator(mode="after")
    def _cutoff_is_a_date(self) -> SplitParams:
        if self.cutoff is not None and not _ISO_DATE.fullmatch(self.cutoff):
            raise ValueError(f"cutoff must be an ISO date (YYYY-MM-DD or YYYY-MM), not {self.cutoff!r}")
        return self


class HistGradientBoosting(Strict):
    kind: Literal["hist_gradient_boosting"]
    max_iter: int = Field(default=200, ge=1)
    learning_rate: float = Field(default=0.1, gt=0)
    max_leaf_nodes: int = Field(default=31, ge=2)
    min_samples_leaf: int = Field(default=20, ge=1)
    l2_regularization: float = Field(default=0.0, ge=0)


class LogisticRegression(Strict):
    kind: Literal["logistic_regression"]
    C: float = Field(default=1.0, gt=0)
    max_iter: int = Field(default=1000, ge=1)


class Prior(Strict):
    """Predicts the training base rate for everyone: the floor any model must clear."""

    kind: Literal["prior"]


Estimator = Annotated[HistGradientBoosting | LogisticRegression | Prior, Field(discriminator="kind")]
EstimatorKind = Literal["hist_gradient_boosting", "logistic_regression", "prior"]
ESTIMATORS: dict[str, type[HistGradientBoosting | LogisticRegression | Prior]] = {
    "hist_gradient_boosting": HistGradientBoosting,
    "logistic_regression": LogisticRegression,
    "prior": Prior,
}


class TrainParams(Strict):
    seed: int = 0
    model: Estimator
    baseline: Estimator


class BootstrapParams(Strict):
    n_resamples: int = Field(default=200, ge=10)
    confidence: float = Field(default=0.95, gt=0.5, lt=1)
    seed: int = 0


class EvaluateParams(Strict):
    threshold: float = Field(default=0.5, gt=0, lt=1)
    min_slice_size: int = Field(default=100, ge=1)
    calibration_bins: int = Field(default=10, ge=2)
    curve_points: int = Field(default=200, ge=10)
    importance_rows: int = Field(default=5000, ge=100)
    importance_repeats: int = Field(default=3, ge=1)
    seed: int = 0


MetricName = Literal["roc_auc", "pr_auc", "f1", "accuracy", "log_loss", "brier"]


class GateParams(Strict):
    """Absolute bounds, tolerated regression against the reference, and slice gaps."""

    primary_metric: MetricName = "roc_auc"
    minimums: dict[MetricName, float] = Field(default_factory=dict)
    maximums: dict[MetricName, float] = Field(default_factory=dict)
    tolerance: dict[MetricName, float] = Field(default_factory=dict)
    must_beat_baseline: bool = True
    slice_metric: MetricName = "accuracy"
    max_slice_gap: dict[str, float] = Field(default_factory=dict)
    bootstrap: BootstrapParams = BootstrapParams()

    @model_validator(mode="after")
    def _in_range(self) -> GateParams:
        """A bar the metric can never reach, or one that turns its check off, is a typo (88 for 0.88)."""

        def top(metric: str) -> float:
            return float("inf") if metric == "log_loss" else 1.0  # every other metric is a fraction

        bars = [(f"{name}.{m}", v, top(m)) for name in ("minimums", "maximums", "tolerance")
                for m, v in getattr(self, name).items()]  # fmt: skip
        bars += [(f"max_slice_gap.{a}", v, top(self.slice_metric)) for a, v in self.max_slice_gap.items()]
        for where, value, high in bars:
            if not 0 <= value <= high:
                span = "at least 0" if high == float("inf") else "between 0 and 1 (a fraction, not a percent)"
                raise ValueError(f"{where} is {value}: it must be {span}")
        return self


class MicroBatch(Strict):
    """Concurrent single-record requests are scored together: one model call costs about the
    same for 1 row as for 64. Requests that arrive during a call share the next; when others are
    already waiting, a call also waits up to ``window_ms`` for more (a lone request never waits)."""

    enabled: bool = True
    window_ms: float = Field(default=2.0, ge=0, le=1000)
    max_rows: int = Field(default=64, ge=1)


class PredictionLogParams(Strict):
    """Append-only JSON-lines files, rotated at ``max_bytes``; the oldest beyond ``keep_files`` go."""

    max_bytes: int = Field(default=64_000_000, ge=1_000)
    keep_files: int | None = Field(default=None, ge=1)


class SmokeParams(Strict):
    """The post-deploy smoke test (mlpipe.tasks.smoke)."""

    known_rows: int = Field(default=5, ge=1)
    latency_requests: int = Field(default=20, ge=1)
    max_latency_ms: float = Field(default=500, gt=0)
    timeout_s: float = Field(default=10, gt=0)


class ChallengerParams(Strict):
    """A second model beside the champion (its card is given at start-up: ``--challenger-card``).

    ``shadow``: it scores every request too, off the request path, and only its log line and metrics
    show it. ``canary``: it answers ``fraction`` of requests, chosen by a hash of the request key
    (``X-Canary-Key`` header, else the record id, else the request id), so a key always gets the
    same model.
    """

    mode: Literal["shadow", "canary"] = "shadow"
    fraction: float = Field(default=0.1, ge=0, le=1)


class HttpLimits(Strict):
    """What one connection may cost a worker before the app sees a byte (mlpipe.serving.protocol)."""

    max_header_bytes: int = Field(default=16_384, ge=1_024, description="request line + headers; beyond: 431")
    header_timeout_s: float = Field(default=10, gt=0, description="a request's line and headers arrive within this")
    keep_alive_s: int = Field(default=5, ge=1, description="an idle keep-alive connection is closed after this")
    max_concurrency: int = Field(default=512, ge=1, description="connections + requests per worker; beyond: 503")


class AlertParams(Strict):
    """Targets the Prometheus alert rules compare with (observability/rules.yml): the service and the
    stream consumer export them as ``mlpipe_alert_threshold{name=...}``, so the rules hold no number
    that belongs to a model or a deployment."""

    p99_latency_ms: float = Field(default=250, gt=0, description="p99 of /predict* over 5 minutes")
    max_5xx_ratio: float = Field(default=0.01, gt=0, le=1, description="share of requests answered 5xx over 5 min")
    prediction_shift: float = Field(
        default=0.1, gt=0, le=1, description="|mean probability over 1 h - the test set's| (model card figure)"
    )
    max_stream_lag: int = Field(default=10_000, ge=1, description="events waiting in the stream's input")


class ServeParams(Strict):
    max_batch_rows: int = Field(default=1000, ge=1)
    max_body_bytes: int = Field(default=4_000_000, ge=1_000)
    http: HttpLimits = HttpLimits()
    micro_batch: MicroBatch = MicroBatch()
    prediction_log: PredictionLogParams = PredictionLogParams()
    smoke: SmokeParams = SmokeParams()
    challenger: ChallengerParams = ChallengerParams()
    alerts: AlertParams = AlertParams()
    score_chunk_rows: int = Field(default=50_000, ge=1, description="batch scoring reads this many rows at a time")


class MonitorParams(Strict):
    """Thresholds of ``make monitor`` (mlpipe.core.drift explains each)."""

    min_rows: int = Field(default=500, ge=1)
    bins: int = Field(default=10, ge=2)
    psi: float = Field(default=0.1, gt=0)
    alpha: float = Field(default=0.01, gt=0, lt=1)
    min_effect: float = Field(default=0.1, gt=0, le=1)
    prediction_psi: float = Field(default=0.1, gt=0)
    max_metric_drop: dict[MetricName, float] = Field(default_factory=dict)
    max_failed_expectations: int = Field(default=0, ge=0)


class ScaleParams(Strict):
    """``ENGINE=dask`` for ``make score`` and ``make monitor`` (docs/scale.md)."""

    engine: Literal["pandas", "dask"] = Field(
        default="pandas", description="pandas: one process, chunk by chunk; dask: partitions on a Dask cluster"
    )
    partition_rows: int = Field(
        default=500_000, ge=1, description="rows per partition (parquet: whole row groups; CSV: byte blocks)"
    )
    workers: int | None = Field(default=None, ge=1, description="local cluster's worker processes (null: one per core)")
    threads_per_worker: int = Field(default=1, ge=1)
    memory_limit: str = Field(
        default="auto", description="per local worker: 'auto' shares the machine's out, or '4GiB'"
    )


class Range(Strict):
    """A numeric interval to draw from (whole numbers for an integer setting); ``log: true`` draws
    uniformly on the log scale (learning rates, regularisation strengths)."""

    low: float
    high: float
    log: bool = False

    @model_validator(mode="after")
    def _ordered(self) -> Range:
        if self.low > self.high:
            raise ValueError(f"low ({self.low}) is greater than high ({self.high})")
        if self.log and self.low <= 0:
            raise ValueError("a log-scale range needs low > 0")
        return self


class TuneParams(Strict):
    """``make tune``: a seeded random search over ``train.model``, scored by cross-validation on the
    training split only (the test set is never read), the best ``top`` run as DVC experiments.

    ``space`` has one entry per estimator kind, so switching ``train.model.kind`` needs no other
    edit: each maps that kind's settings to a :class:`Range` or a list of values to choose from;
    settings not in it keep their ``train.model`` value. Candidate 0 is ``train.model`` itself, so the
    search always says where the current settings rank (with no space for its kind, it is the only one).
    """

    candidates: int = Field(default=20, ge=1)
    folds: int = Field(default=3, ge=2)
    max_rows: int | None = Field(default=None, ge=100, description="a stratified sample of the training rows")
    seed: int = 0
    top: int = Field(default=3, ge=1, description="best candidates run as experiments")
    leaderboard: int = Field(default=10, ge=1, description="experiments the leaderboard compares")
    jobs: int = Field(default=-1, ge=-1, description="processes for the fits; -1: one per core")
    resamples: int = Field(default=1000, ge=100, description="the leaderboard's bootstrap resamples")
    space: dict[EstimatorKind, dict[str, Range | list[Scalar]]] = Field(default_factory=dict)

    @model_validator(mode="before")
    @classmethod
    def _keyed_by_kind(cls, raw: Any) -> Any:
        space = raw.get("space") if isinstance(raw, dict) else None
        if isinstance(space, dict):
            flat = sorted(k for k in space if k not in ESTIMATORS)
            if flat:
                raise ValueError(
                    f"space is keyed by model kind ({', '.join(ESTIMATORS)}), then setting: put {flat} under "
                    "the kind they belong to, e.g. `space: {hist_gradient_boosting: {learning_rate: ...}}`"
                )
        return raw

    @model_validator(mode="after")
    def _choices(self) -> TuneParams:
        if self.jobs == 0:
            raise ValueError("jobs: 0 processes; give a number, or -1 for one per core")
        for kind, dims in self.space.items():
            cls = ESTIMATORS[kind]
            fields = set(cls.model_fields) - {"kind"}
            unknown = sorted(set(dims) - fields)
            if unknown:
                raise ValueError(
                    f"space.{kind}: {unknown} are not settings of {kind} (it has: {sorted(fields) or 'none'})"
                )
            for key, dim in dims.items():
                values = dim if isinstance(dim, list) else [dim.low, dim.high]
                if not values:
                    raise ValueError(f"space.{kind}.{key}: an empty list of values")
                for value in values:
                    try:
                        cls.model_validate({"kind": kind, key: value})
                    except ValidationError as err:
                        raise ValueError(
                            f"space.{kind}.{key}: {value!r} is not valid: {err.errors()[0]['msg']}"
                        ) from None
        return self

    def dims(self, kind: str) -> dict[str, Range | list[Scalar]]:
        """The space searched for a ``train.model`` of this kind (empty: only the current settings)."""
        return next((dims for k, dims in self.space.items() if k == kind), {})


class Params(Strict):
    example_data: ExampleData | None = None
    split: SplitParams = SplitParams()
    train: TrainParams
    evaluate: EvaluateParams = EvaluateParams()
    gate: GateParams = GateParams()
    tune: TuneParams = TuneParams()
    serve: ServeParams = ServeParams()
    monitor: MonitorParams = MonitorParams()
    scale: ScaleParams = ScaleParams()


def check_against_contract(params: Params, contract: Contract) -> None:
    """Cross-file checks: keys in params that name contract columns must exist there."""
    unknown = sorted(set(params.gate.max_slice_gap) - set(contract.sensitive))
    if unknown:
        raise ConfigError(
            f"params.yaml gate.max_slice_gap: {unknown} are not sensitive attributes "
            f"in the contract (known: {sorted(contract.sensitive)})"
        )
    if params.split.strategy == "temporal" and contract.time is None:
        raise ConfigError("params.yaml split.strategy is 'temporal' but the contract names no 'time' column")


def _format(err: ValidationError, source: str) -> str:
    lines = [f"{source} is invalid:"]
    for e in err.errors():
        loc = ".".join(str(p) for p in e["loc"]) or "(top level)"
        lines.append(f"  - {loc}: {e['msg']}")
    return "\n".join(lines)


def parse_params(raw: Any, source: str = "params.yaml") -> Params:
    try:
        return Params.model_validate(raw)
    except ValidationError as err:
        raise ConfigError(_format(err, source)) from None


def parse_contract(raw: Any, source: str = "contract.yaml") -> Contract:
    try:
        return Contract.model_validate(raw)
    except ValidationError as err:
        raise ConfigError(_format(err, source)) from None
