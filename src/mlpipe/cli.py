"""The command-line edge every ``python -m mlpipe.stages.*`` and ``mlpipe.tasks.*`` entry point goes through.

Here, not in the stages package, so a task depends on the edge only, never on the stages.
"""

from __future__ import annotations

import atexit
import logging
import os
import sys
import threading
import time
from collections.abc import Callable

from mlpipe import tune_collector
from mlpipe.env import process_env
from mlpipe.errors import ConfigError, PipelineError
from mlpipe.logs import setup_logging


def use_jemalloc() -> None:
    """Arrow's buffers (pandas' text columns, parquet, CSV) from jemalloc instead of Arrow's default,
    mimalloc, if pyarrow is loaded, was built with it (the Linux wheels are) and the operator
    chose no allocator (``ARROW_DEFAULT_MEMORY_POOL``, which Arrow reads itself).

    Measured on the 2-core reference machine: in about one process in six, mimalloc's first
    allocations stalled 0.2-0.3 s (committing its arena; ``MIMALLOC_ARENA_EAGER_COMMIT=0`` removed
    it too), on every Arrow operation of that process: the split's row selection (then its own stage) took 0.3 s
    instead of 0.03 s, and the stage 1.6-1.8 s instead of 0.8 s. jemalloc never stalled in the same
    runs and costs ~10 ms more per operation than an unstalled mimalloc.
    """
    pa = sys.modules.get("pyarrow")  # pandas loads it: a process that imported neither allocates none
    if pa is None or process_env().arrow_memory_pool:
        return
    try:
        pool = pa.jemalloc_memory_pool()
        pa.allocate_buffer(1, memory_pool=pool)  # a jemalloc built for another page size fails here
    except (NotImplementedError, pa.ArrowException, MemoryError):  # no jemalloc (Windows wheels): the default
        return
    pa.set_memory_pool(pool)


def run_stage(main: Callable[[], None]) -> None:
    """Entry-point wrapper: logging set up, a named failure (:mod:`mlpipe.errors`) as one clear line and
    its exit code. Run as the process's own entry point (``python -m``), it also tunes the collector
    (a stage's or task's package did already, before its imports: see
    :func:`mlpipe.tune_collector_for_command`), sets Arrow's allocator
    (:func:`use_jemalloc`) and skips the interpreter's teardown on success (see :func:`_exit_now`);
    called in-process (tests, benchmarks) it does none of these."""
    setup_logging()
    log = logging.getLogger(main.__module__)
    command = main.__module__ == "__main__"
    if command:
        tune_collector()
        use_jemalloc()
    t0 = time.perf_counter()
    try:
        main()
    except PipelineError as err:
        log.error("%s", err)
        stage = process_env().dvc_stage
        if command and stage and isinstance(err, ConfigError):
            log.error(
                "dvc removed stage %s's outputs before running it: run it again once this is fixed, or bring back "
                "the committed ones with `dvc checkout %s` and `git checkout -- <its uncached outputs>` "
                "(`make repro` checks params.yaml and contract.yaml before dvc runs anything)",
                stage,
                stage,
            )
        sys.exit(err.exit_code)
    log.info("done in %.2fs", time.perf_counter() - t0)  # make bench-pipeline reads it: the work, after start-up
    if command:
        _exit_now()


def _exit_now() -> None:
    """Exit without the interpreter's teardown: freeing every module of scikit-learn and
    great-expectations one by one takes 0.1-0.6 s a process, five times a ``dvc repro``.

    What a normal exit does for the program still happens: atexit callbacks run (logging's flush,
    ``weakref.finalize`` clean-ups such as temporary directories, dask's), then the standard streams
    are flushed. Every file this package writes is closed before ``main`` returns (atomic writes). If
    a non-daemon thread is still running, the interpreter's own exit waits for it, as it always did.
    """
    if any(t.is_alive() and not t.daemon and t is not threading.main_thread() for t in threading.enumerate()):
        return
    atexit._run_exitfuncs()  # what Py_Finalize runs after joining threads; os._exit skips it
    code = 0
    for stream in (sys.stdout, sys.stderr):
        if stream is None or stream.closed:  # Python's own exit skips them too
            continue
        try:
            stream.flush()
        except OSError:  # a closed pipe: Python's own exit says 120 too
            code = 120
    os._exit(code)
