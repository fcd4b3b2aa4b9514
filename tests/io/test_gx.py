"""The great-expectations edge: scipy.stats loaded only by the expectations that use it."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.repos import ROOT

pytestmark = pytest.mark.unit

SCRIPT = """
import json, sys
import pandas as pd
from mlpipe.core.expectations import Spec
from mlpipe.io.gx import defer_scipy_stats, run_batches

defer_scipy_stats()  # as the validate stage does

df = pd.DataFrame({"c": ["a", "b"] * 50})
plain = run_batches([("f.csv", df, [Spec("expect_column_values_to_not_be_null", {"column": "c"})])])
loaded = "scipy.stats._stats_py" in sys.modules
kl = [
    Spec("expect_column_kl_divergence_to_be_less_than",
         {"column": "c", "partition_object": {"values": ["a", "b"], "weights": w}, "threshold": 0.1})
    for w in ([0.5, 0.5], [0.95, 0.05])
]
print(json.dumps([plain[0]["success"], loaded, [c["success"] for c in run_batches([("f.csv", df, kl)])]]))
"""


def test_scipy_stats_waits_for_an_expectation_that_uses_it() -> None:
    """A fresh interpreter, as a stage is: importing great-expectations no longer loads scipy.stats
    (0.5-0.7 s), and the KL-divergence expectation, which calls it, still gives both answers (it was
    also unknown: its class is ``…KLDivergence…``)."""
    out = subprocess.run([sys.executable, "-c", SCRIPT], cwd=ROOT, capture_output=True, text=True, check=True)
    plain, loaded_by_import, kl = json.loads(out.stdout.strip().splitlines()[-1])
    assert plain is True
    assert loaded_by_import is False
    assert kl == [True, False]


@pytest.mark.parametrize(
    "name", ["expect_column_values_tobe_unique", "expect_column_value_to_be_unique", "expectation"]
)
def test_a_misspelt_expectation_is_named_not_run_as_another(name: str) -> None:
    """Only an expectation's own name finds it: a near miss must not silently run a similar one."""
    import pandas as pd

    from mlpipe.core.expectations import Spec
    from mlpipe.errors import ConfigError
    from mlpipe.io.gx import run_batches

    df = pd.DataFrame({"c": [1, 2]})
    with pytest.raises(ConfigError, match=f"unknown great-expectations expectation '{name}'"):
        run_batches([("f.csv", df, [Spec(name, {"column": "c"})])])
    ok = run_batches([("f.csv", df, [Spec("expect_column_values_to_be_unique", {"column": "c"})])])
    assert ok[0]["success"] is True
