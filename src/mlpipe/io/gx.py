"""The great-expectations 1.x edge: expectation specs (plain data) in, check dicts (plain data) out.

great-expectations is imported here only, inside the call (1-2 s), with analytics off and an
ephemeral context (nothing written to disk). Its own errors for bad expectation names or kwargs
become :class:`~mlpipe.errors.ConfigError` naming the expectation; ``result.success`` is read per
expectation, never trusted as a whole.
"""

from __future__ import annotations

import importlib
import importlib.util
import inspect
import logging
import os
import re
import sys
import time
import warnings
from typing import Any

import pandas as pd

from mlpipe.core.expectations import Spec
from mlpipe.core.validation import EXAMPLES, check, plain
from mlpipe.errors import ConfigError

log = logging.getLogger(__name__)


def _classes(module: Any) -> dict[str, Any]:
    """Expectation classes by the name a contract gives them: their own ``expectation_type``
    (``expect_column_kl_divergence_…`` is ``ExpectColumnKLDivergence…``, which capitalising each word
    of the name missed), else the class name in snake case; abstract classes are not expectations."""
    out: dict[str, Any] = {}
    for name in dir(module):
        cls = getattr(module, name)
        if name.startswith("Expect") and isinstance(cls, type) and not inspect.isabstract(cls):
            own = getattr(cls, "expectation_type", None)
            out[own if isinstance(own, str) and own else re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()] = cls
    return out


def defer_scipy_stats() -> None:
    """Load ``scipy.stats`` when code first reads one of its attributes, not when it is imported (the
    standard library's ``importlib.util.LazyLoader``), unless it is loaded already.

    great-expectations imports ``scipy.stats`` with its expectation classes, for three of them (KL
    divergence, two KS tests) that call it only when they run: 0.5-0.7 s and 500 modules of every
    validation that uses none of them; one that does gets the whole module on its first call. For a
    single-threaded process only (the validate stage's): before Python 3.12, a second thread reading an
    attribute while the first one loads the module sees it half loaded (``AttributeError``).
    """
    name = "scipy.stats"
    if name in sys.modules:
        return
    spec = importlib.util.find_spec(name)
    if spec is None or spec.loader is None:
        return
    loader = importlib.util.LazyLoader(spec.loader)
    spec.loader = loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    loader.exec_module(module)
    # `from scipy import stats` must find the attribute: scipy's __getattr__ would import it whole
    scipy = importlib.import_module("scipy")
    scipy.__dict__["stats"] = module


def run_batches(batches: list[tuple[str | None, pd.DataFrame, list[Spec]]]) -> list[dict[str, Any]]:
    """Run each (label, frame, specs) batch; every check carries its batch's label as ``file``."""
    if not batches:
        return []
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
    t0 = time.perf_counter()
    import great_expectations as gx  # noqa: PLC0415 - 1-2 s: only validation pays for it
    import great_expectations.expectations as gxe  # noqa: PLC0415
    from great_expectations.data_context.types.base import ProgressBarsConfig  # noqa: PLC0415

    log.info("great-expectations %s imported in %.1fs", gx.__version__, time.perf_counter() - t0)
    classes = _classes(gxe)
    ctx = gx.get_context(mode="ephemeral")
    ctx.variables.progress_bars = ProgressBarsConfig(globally=False)
    batch_def = (
        ctx.data_sources.add_pandas("raw").add_dataframe_asset("raw").add_batch_definition_whole_dataframe("all")
    )
    checks: list[dict[str, Any]] = []
    for i, (label, df, specs) in enumerate(batches):
        if not specs:
            continue
        expectations = []
        for spec in specs:
            cls = classes.get(spec.type)
            if cls is None:
                raise ConfigError(f"contract expectations: unknown great-expectations expectation '{spec.type}'")
            try:
                expectations.append(cls(**spec.kwargs))
            except Exception as err:  # gx raises pydantic errors of its own for bad kwargs
                raise ConfigError(f"contract expectations: {spec.type} {spec.kwargs}: {err}") from None
        # Nothing is stored in the context: a stored suite, validation definition and result are each
        # serialised whole (0.15 s of the example's 1 s of validation), and an ephemeral context
        # forgets them anyway. Batch.validate runs the same validator on the same batch.
        suite = gx.ExpectationSuite(name=f"contract-{i}", expectations=expectations)
        batch = batch_def.get_batch(batch_parameters={"dataframe": df})
        # gx warns about some valid inputs (a regex with groups); a warning turned into an error (as
        # pytest does) would fail the expectation in tests only: log them, the same everywhere.
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            # BASIC has every field _check reads; SUMMARY adds the unexpected values' counts and
            # index lists, which nothing reads, at a third of the validation's time
            result = batch.validate(suite, result_format="BASIC")
        for w in {str(w.message) for w in caught}:
            log.warning("great-expectations: %s", w)
        checks.extend(_check(r, label) for r in result.results)
    return checks


def run_gx(df: pd.DataFrame, specs: list[Spec]) -> list[dict[str, Any]]:
    """One frame, one suite (the monitor's window)."""
    return run_batches([(None, df, specs)])


def _check(r: Any, label: str | None) -> dict[str, Any]:
    cfg = r.expectation_config
    info = r.result or {}
    exc = r.exception_info or {}
    messages = sorted(
        {str(v.get("exception_message")) for v in exc.values() if isinstance(v, dict) and v.get("raised_exception")}
    )
    if exc.get("raised_exception"):
        messages.append(str(exc.get("exception_message")))
    extra: dict[str, Any] = {"kwargs": {k: v for k, v in cfg.kwargs.items() if k not in ("column", "batch_id")}}
    if label is not None:
        extra["file"] = label
    if "unexpected_count" in info:
        extra["unexpected_count"] = info["unexpected_count"]
        extra["element_count"] = info.get("element_count")
        extra["missing_count"] = info.get("missing_count")
        extra["unexpected_percent"] = info.get("unexpected_percent")
        extra["examples"] = [plain(v) for v in (info.get("partial_unexpected_list") or [])[:EXAMPLES]]
    if "observed_value" in info:
        extra["observed"] = plain(info["observed_value"])
    if messages:
        extra["message"] = "; ".join(messages)[:500]
    return check(cfg.type, cfg.kwargs.get("column"), bool(r.success), **extra)
