"""The Makefile's tasks, one module each, run as ``python -m mlpipe.tasks.<task>``."""

from mlpipe import tune_collector_for_command

tune_collector_for_command()  # `python -m mlpipe.tasks.<task>`: before the task's own imports
