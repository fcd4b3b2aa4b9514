"""The command-line edge every ``python -m mlpipe.stages.*`` and ``mlpipe.tasks.*`` entry point goes through.

Here, not in the stages package, so a task depends on the edge only, never on the stages.
"""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import Callable

from mlpipe.errors import PipelineError
from mlpipe.logs import setup_logging


def run_stage(main: Callable[[], None]) -> None:
    """Entry-point wrapper: logging set up, a named failure (:mod:`mlpipe.errors`) as one clear line and
    its exit code."""
    setup_logging()
    log = logging.getLogger(main.__module__)
    t0 = time.perf_counter()
    try:
        main()
    except PipelineError as err:
        log.error("%s", err)
        sys.exit(err.exit_code)
    log.info("done in %.2fs", time.perf_counter() - t0)  # make bench-pipeline reads it: the work, after start-up
