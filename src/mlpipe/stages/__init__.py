"""One module per ``dvc.yaml`` stage; each has a ``main(argv)`` that takes every path as an argument."""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import Callable

from mlpipe.errors import PipelineError
from mlpipe.logs import setup_logging


def run_stage(main: Callable[[], None]) -> None:
    """Entry-point wrapper: logging set up, expected failures as one clear message and exit 1."""
    setup_logging()
    log = logging.getLogger(main.__module__)
    t0 = time.perf_counter()
    try:
        main()
    except PipelineError as err:
        log.error("%s", err)
        sys.exit(1)
    log.info("done in %.2fs", time.perf_counter() - t0)  # make bench-pipeline reads it: the work, after start-up
