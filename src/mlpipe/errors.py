"""The package's exception tree: every failure a user can cause has a named class."""


class PipelineError(Exception):
    """Base class: a stage exits with code 1 and this message, no traceback."""


class ConfigError(PipelineError):
    """params.yaml or the data contract is invalid (the message names the key)."""


class DataError(PipelineError):
    """Input data is missing, unreadable, or breaks the contract."""


class DataUnavailable(DataError):
    """The data ``data.dvc`` records cannot be had here (no remote, no credentials, no example to rebuild)."""


class ValidationFailed(DataError):
    """great-expectations rejected the data; the message lists every failed expectation."""


class ModelIntegrityError(PipelineError):
    """A model file does not match its recorded hash or holds an untrusted type."""


class GateFailed(PipelineError):
    """The regression gate blocked the candidate model."""
