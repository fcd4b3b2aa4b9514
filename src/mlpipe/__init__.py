"""mlpipe: the template's pipeline package.

Layout: ``core`` is pure (no file, network or CLI code), ``io`` holds the edges,
``stages`` are the thin entry points that ``dvc.yaml`` calls, one module per stage.
"""

import gc
import sys

__version__ = "0.1.0"

# A stage or task command is short-lived and allocates mostly while importing pandas, scikit-learn,
# skops and great-expectations (tens of thousands of objects, few cycles): young collections every
# 50,000 allocations instead of 700 take 0.1-0.2 s off each heavy command (make bench-pipeline), and
# set before its first import, ~7% off that of pandas, which every stage's start-up pays.
GC_THRESHOLDS = (50_000, 20, 20)


def tune_collector() -> None:
    gc.set_threshold(*GC_THRESHOLDS)


def tune_collector_for_command() -> None:
    """``mlpipe.stages`` and ``mlpipe.tasks`` call this as they are imported. ``python -m`` imports a
    module's packages before the module itself, with ``sys.argv[0]`` set to ``"-m"`` until then: a
    command is tuned before its own imports, a test or a server importing the same modules is not."""
    if sys.argv[:1] == ["-m"]:
        tune_collector()
