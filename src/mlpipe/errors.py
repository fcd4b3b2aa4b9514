"""The package's exception tree: every failure a user can cause has a named class, here and only here.

::

    PipelineError                 a named failure: the command logs one line and exits with exit_code
    ├── ConfigError               params.yaml, contract.yaml, dvc.yaml or a setting is invalid (names the key)
    ├── DataError                 input data is missing, unreadable, or breaks the contract (names the file)
    │   ├── DataUnavailable       the data data.dvc records cannot be had here (no remote, no example)
    │   ├── ValidationFailed      great-expectations rejected the data (lists every failed expectation)
    │   └── NothingToMonitor      make monitor found no window (reported, not an alert)
    ├── ModelIntegrityError       a model file does not match its recorded hash, or holds an untrusted type
    ├── GateFailed                the regression gate blocked the candidate model
    ├── JobFailed                 a Dask partition failed, or its workers kept dying
    ├── SmokeFailed               a deployed service failed a smoke check (lists which)
    ├── DeployFailed              the new version failed (and was rolled back when it could be)
    ├── PublishFailed             the broker refused a prediction or did not acknowledge it in time
    └── GitHubError               a GitHub API call failed (names the call and GitHub's answer)

The command-line edge (:func:`mlpipe.cli.run_stage`) turns any of them into its message on one log
line and the class's ``exit_code``: 1 for all of them, so a workflow step fails on any named failure
and a script tells it from argparse's usage error (2), ``make monitor --fail-on-alert``'s alert (3) and
a bug (a traceback, exit 1 from Python itself, which only a traceback in the log tells apart).
"""


class PipelineError(Exception):
    """Base class: a command exits with ``exit_code`` and this message, no traceback."""

    exit_code = 1


class ConfigError(PipelineError):
    """params.yaml or the data contract is invalid (the message names the key)."""


class DataError(PipelineError):
    """Input data is missing, unreadable, or breaks the contract."""


class DataUnavailable(DataError):
    """The data ``data.dvc`` records cannot be had here (no remote, no credentials, no example to rebuild)."""


class ValidationFailed(DataError):
    """great-expectations rejected the data; the message lists every failed expectation."""


class NothingToMonitor(DataError):
    """``auto`` found no window: no logged traffic and no unseen example data. Not an alert."""


class ModelIntegrityError(PipelineError):
    """A model file does not match its recorded hash or holds an untrusted type."""


class GateFailed(PipelineError):
    """The regression gate blocked the candidate model."""


class JobFailed(PipelineError):
    """A partition could not be done: its error, or its workers kept dying."""


class SmokeFailed(PipelineError):
    """The deployed service failed a smoke check (the message lists which)."""


class DeployFailed(PipelineError):
    """The new version failed (and was rolled back, when a previous version was given)."""


class PublishFailed(PipelineError):
    """The stream's broker refused a prediction or did not acknowledge it in time: the consumer leaves the
    batch unacknowledged, and the broker delivers it again. ``fresh`` says, per message, which ones the
    broker did take as new before that (their prediction-log rows are still written)."""

    def __init__(self, message: str, fresh: list[bool] | None = None) -> None:
        super().__init__(message)
        self.fresh = fresh or []


class GitHubError(PipelineError):
    """A GitHub API call failed (the message names the call and GitHub's answer)."""
