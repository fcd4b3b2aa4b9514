"""The environment variables mlpipe's processes read, in one typed model; nothing else reads ``os.environ``.

Three process kinds, three models: the service's ``MLPIPE_*`` settings
(:class:`mlpipe.serving.settings.ServiceEnv`), the stream consumer's ``MLPIPE_STREAM_*``
(:class:`mlpipe.streaming.settings.StreamEnv`), and this one for everything else a stage, a task or a
server process reads: logging, CI and GitHub's variables, the deploy target, the client key of the
smoke test, the Dask scheduler, the Pushgateway. Read it where it is used, ``process_env()``, so a test
that sets a variable sees it. Handing our environment on to a child process is not reading it.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

from pydantic import BaseModel, ConfigDict, Field

DASK_SCHEDULER_ADDRESS = "DASK_SCHEDULER_ADDRESS"
PROMETHEUS_MULTIPROC_DIR = "PROMETHEUS_MULTIPROC_DIR"


class ProcessEnv(BaseModel):
    """One field per variable, named as the variable is (``alias``); unset and empty are the default."""

    model_config = ConfigDict(frozen=True, extra="ignore", populate_by_name=True)

    log_format: str = Field("", alias="LOG_FORMAT", description="json: one JSON object per log line")
    log_level: str = Field("INFO", alias="LOG_LEVEL")
    ci: str = Field("", alias="CI", description="true on CI runners")
    # GitHub Actions and the gh CLI
    github_repository: str = Field("", alias="GITHUB_REPOSITORY", description="owner/name")
    gh_token: str = Field("", alias="GH_TOKEN")
    github_token: str = Field("", alias="GITHUB_TOKEN")
    github_api_url: str = Field("https://api.github.com", alias="GITHUB_API_URL")
    github_step_summary: str = Field("", alias="GITHUB_STEP_SUMMARY", description="file the job summary goes to")
    github_output: str = Field("", alias="GITHUB_OUTPUT", description="file step outputs go to")
    sha: str = Field("", alias="SHA", description="the commit a workflow deploys")
    head_sha: str = Field("", alias="HEAD_SHA", description="the commit the pipeline ran on (pr-comment.yml)")
    # deploy and monitor
    deploy_command: str = Field("", alias="DEPLOY_COMMAND")
    deploy_url: str = Field("", alias="DEPLOY_URL")
    api_key: str = Field("", alias="MLPIPE_API_KEY", description="the key a smoke test sends to the service")
    monitor_retrain: str = Field("", alias="MONITOR_RETRAIN", description="true: an alert dispatches the retraining")
    pushgateway_url: str = Field("", alias="PUSHGATEWAY_URL")
    dask_scheduler_address: str = Field("", alias=DASK_SCHEDULER_ADDRESS)
    dvc_stage: str = Field("", alias="DVC_STAGE", description="set by dvc for a stage's command: the stage")
    arrow_memory_pool: str = Field(
        "", alias="ARROW_DEFAULT_MEMORY_POOL", description="Arrow's allocator, as Arrow reads it; unset: jemalloc"
    )
    # the server process (python -m mlpipe.serving)
    host: str = Field("127.0.0.1", alias="HOST")
    port: str = Field("8000", alias="PORT")
    web_concurrency: str = Field("1", alias="WEB_CONCURRENCY", description="uvicorn workers")
    prometheus_multiproc_dir: str = Field("", alias=PROMETHEUS_MULTIPROC_DIR)
    git_commit: str = Field("", alias="GIT_COMMIT", description="the image's build argument")

    @property
    def github_auth(self) -> str:
        return self.gh_token or self.github_token

    @property
    def retrain_on_alert(self) -> bool:
        return self.monitor_retrain.lower() == "true"


def process_env(environ: Mapping[str, str] | None = None) -> ProcessEnv:
    """The variables as they are now (``environ``: another mapping, for tests). Empty counts as unset."""
    env = os.environ if environ is None else environ
    names = {f.alias for f in ProcessEnv.model_fields.values() if f.alias}
    return ProcessEnv.model_validate({k: v.strip() for k, v in env.items() if k in names and v.strip()})
