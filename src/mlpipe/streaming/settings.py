"""The consumer's settings: ``MLPIPE_STREAM_*`` variables, parsed once and strictly (a misspelt one is an
error naming it), beside the service's ``MLPIPE_*`` ones for the model, contract and prediction log."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from pydantic import Field, ValidationError, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

PREFIX = "MLPIPE_STREAM_"


class StreamEnv(BaseSettings):
    """One field per ``MLPIPE_STREAM_*`` variable (``MLPIPE_STREAM_URL`` -> ``url``)."""

    model_config = SettingsConfigDict(env_prefix=PREFIX, extra="forbid", frozen=True, case_sensitive=False)

    url: str = Field(default="nats://127.0.0.1:4222", description="nats://host:port or kafka://host:port[,host:port]")
    input: str = Field(default="mlpipe.events", description="subject (NATS) or topic (Kafka) events arrive on")
    output: str = Field(default="mlpipe.predictions", description="where one prediction per event is published")
    dead_letter: str = Field(default="mlpipe.dead", description="where bad events go, with their problem")
    group: str = Field(default="mlpipe-scorer", description="durable consumer (NATS) or consumer group (Kafka)")
    batch_size: int = Field(default=1000, ge=1, le=10_000, description="most events scored in one model call")
    batch_wait_ms: float = Field(default=5.0, gt=0, le=60_000, description="longest wait to fill a batch")
    metrics_port: int = Field(default=9108, ge=0, le=65_535, description="/metrics, /health, /ready (0: off)")
    metrics_host: str = Field(default="127.0.0.1", description="address of the metrics server (0.0.0.0 in a pod)")
    dedupe_window_s: float = Field(default=120.0, gt=0, description="NATS: the output stream's duplicate window")
    ack_wait_s: float = Field(default=30.0, gt=0, description="an unacknowledged batch is redelivered after this")

    @model_validator(mode="before")
    @classmethod
    def empty_is_unset(cls, values: Any) -> Any:
        if isinstance(values, dict):
            return {k: v for k, v in values.items() if v != ""}
        return values

    @property
    def kind(self) -> str:
        scheme = self.url.split("://", 1)[0].lower()
        if scheme not in ("nats", "tls", "kafka"):
            raise ValueError(f"{PREFIX}URL: {self.url!r} is neither nats://host:port nor kafka://host:port")
        return "kafka" if scheme == "kafka" else "nats"

    @property
    def streams(self) -> dict[str, str]:
        """NATS JetStream stream names for the three subjects (letters, digits, - and _ only)."""
        return {k: "MLPIPE_" + "".join(c if c.isalnum() else "_" for c in v).upper() for k, v in
                (("input", self.input), ("output", self.output), ("dead_letter", self.dead_letter))}  # fmt: skip


def unknown_variables(env: Mapping[str, str]) -> list[str]:
    known = {PREFIX + name.upper() for name in StreamEnv.model_fields}
    return sorted(k for k in env if k.upper().startswith(PREFIX) and k.upper() not in known)


def stream_env(env: Mapping[str, str] | None = None) -> StreamEnv:
    """Fails naming any ``MLPIPE_STREAM_*`` variable it does not know, or one it cannot parse."""
    env = os.environ if env is None else env
    if bad := unknown_variables(env):
        known = ", ".join(PREFIX + n.upper() for n in StreamEnv.model_fields)
        raise ValueError(f"unknown environment variable(s) {', '.join(bad)}; the consumer reads {known}")
    values = {k[len(PREFIX) :].lower(): v for k, v in env.items() if k.upper().startswith(PREFIX)}
    try:
        parsed = StreamEnv.model_validate(values)
        _ = parsed.kind
    except ValidationError as err:
        problems = "; ".join(f"{PREFIX}{str(e['loc'][0]).upper()}: {e['msg']}" for e in err.errors())
        raise ValueError(f"invalid stream settings: {problems}") from None
    return parsed
