"""The service's settings: the ``MLPIPE_*`` environment variables, parsed once and strictly.

Environment variables (not a file) because every uvicorn worker and every container builds its app
from them (``python -m mlpipe.serving`` turns its options into these variables). A misspelt
``MLPIPE_*`` variable is an error naming it: a silently ignored ``MLPIPE_API_KEY_SCOPE`` typo
would leave routes open. Paths default to ``vars.paths`` in dvc.yaml.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, SecretStr, ValidationError, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from mlpipe.config import Contract, Params
from mlpipe.io.files import load_config
from mlpipe.io.pipeline import DVC_YAML, pipeline_paths

PREFIX = "MLPIPE_"
STREAM_PREFIX = "MLPIPE_STREAM_"  # mlpipe.streaming.settings reads these
# What MLPIPE_API_KEY guards: everything but /health and /ready (probes carry no key), the default: /version
# names commits and data hashes, /metrics the traffic, /docs the API; or, opting out, the predict endpoints.
ApiKeyScope = Literal["predict", "all"]


class ServiceEnv(BaseSettings):
    """One field per ``MLPIPE_*`` variable (``MLPIPE_API_KEY`` -> ``api_key``)."""

    model_config = SettingsConfigDict(env_prefix=PREFIX, extra="forbid", frozen=True, case_sensitive=False)

    root: Path = Field(default=Path("."), description="repository root holding dvc.yaml")
    params: Path | None = Field(default=None, description="params.yaml (default: paths.params)")
    contract: Path | None = Field(default=None, description="contract.yaml (default: paths.contract)")
    card: Path | None = Field(default=None, description="model card (default: paths.card)")
    prediction_log: str | None = Field(
        default=None, description="directory of the prediction log, or off (default: paths.prediction_log)"
    )
    api_key: SecretStr | None = Field(default=None, description="key the guarded routes need (unset: none)")
    api_key_scope: ApiKeyScope = Field(default="all", description="all (but /health, /ready) | predict")
    micro_batch: bool | None = Field(default=None, description="override serve.micro_batch.enabled")
    challenger_card: Path | None = Field(default=None, description="a second model: shadow or canary")
    docs: bool = Field(default=True, description="/docs and /redoc (their pages load Swagger UI/ReDoc from a CDN)")

    @model_validator(mode="before")
    @classmethod
    def empty_is_unset(cls, values: Any) -> Any:
        """``VAR=`` (as compose/Helm templates write an unset value) means the default; for the
        prediction log an empty value keeps meaning off."""
        if isinstance(values, dict):
            return {k: v for k, v in values.items() if v != "" or k == "prediction_log"}
        return values

    def settings(self) -> Settings:
        """The paths resolved against dvc.yaml, params and contract loaded."""
        root = self.root
        paths = pipeline_paths(root / DVC_YAML)
        params, contract = load_config(root / (self.params or paths.params), root / (self.contract or paths.contract))
        log_dir = self.prediction_log if self.prediction_log is not None else str(root / paths.prediction_log)
        key = self.api_key.get_secret_value() if self.api_key is not None else ""
        return Settings(
            params=params,
            contract=contract,
            card=self.card or Path(paths.card),
            root=root,
            prediction_log=None if log_dir.strip().lower() in ("", "off", "none") else Path(log_dir),
            api_key=key or None,
            api_key_scope=self.api_key_scope,
            micro_batch=self.micro_batch,
            challenger_card=self.challenger_card,
            docs=self.docs,
            metrics=Path(paths.metrics),
        )


def ours(env: Mapping[str, str]) -> dict[str, str]:
    """The ``MLPIPE_*`` variables, but the stream consumer's own (``MLPIPE_STREAM_*``, one image runs both)."""
    return {k: v for k, v in env.items() if k.upper().startswith(PREFIX) and not k.upper().startswith(STREAM_PREFIX)}


def unknown_variables(env: Mapping[str, str]) -> list[str]:
    known = {PREFIX + name.upper() for name in ServiceEnv.model_fields}
    return sorted(k for k in ours(env) if k.upper() not in known)


@dataclass(frozen=True)
class Settings:
    """What :func:`mlpipe.serving.app.create_app` is built from (tests build it directly)."""

    params: Params
    contract: Contract
    card: Path
    root: Path = Path(".")
    prediction_log: Path | None = None  # None: no log
    api_key: str | None = None
    api_key_scope: ApiKeyScope = "all"  # without api_key nothing needs a key
    micro_batch: bool | None = None  # None: as params.yaml says
    challenger_card: Path | None = None  # a second model: shadow or canary (params.yaml serve.challenger)
    docs: bool = True  # /docs, /redoc: off in the image (MLPIPE_DOCS=false), whose pages would load a CDN's script
    metrics: Path | None = None  # the evaluate stage's metrics.json: the test set's mean probability

    def __post_init__(self) -> None:
        if self.api_key_scope not in ("predict", "all"):  # a typo must not leave routes open
            raise ValueError(f"MLPIPE_API_KEY_SCOPE must be one of predict, all, not {self.api_key_scope!r}")

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        """How uvicorn workers get their settings; fails naming any ``MLPIPE_*`` variable it does not know."""
        env = os.environ if env is None else env
        if bad := unknown_variables(env):
            known = ", ".join(PREFIX + n.upper() for n in ServiceEnv.model_fields)
            raise ValueError(f"unknown environment variable(s) {', '.join(bad)}; the service reads {known}")
        try:
            parsed = ServiceEnv.model_validate({k[len(PREFIX) :].lower(): v for k, v in ours(env).items()})
        except ValidationError as err:  # named as the variables the user set, not as fields
            problems = "; ".join(f"{PREFIX}{str(e['loc'][0]).upper()}: {e['msg']}" for e in err.errors())
            raise ValueError(f"invalid service settings: {problems}") from None
        return parsed.settings()
