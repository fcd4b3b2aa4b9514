"""Start-up: a process pays for the heavy libraries it uses, not for those its imports could use.

Every ``python -m mlpipe…`` process (each dvc stage, each task, the service) starts by importing its
module. great-expectations (3-5 s), scikit-learn and skops (1.5-2 s), dvc, dask and scipy
are imported inside the functions that need them; this holds the import graph to that, in a fresh
interpreter per module (what ``python -X importtime -c "import <module>"`` shows).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from mlpipe import GC_THRESHOLDS
from tests.repos import ROOT

pytestmark = pytest.mark.unit
HEAVY = ("great_expectations", "dvc", "skops", "dask", "distributed", "scipy", "sklearn")
MODULES = [
    *(f"mlpipe.stages.{stage}" for stage in ("validate", "prepare", "train", "evaluate", "tune")),
    "mlpipe.core.features",
    "mlpipe.io.models",
    "mlpipe.tasks.smoke",  # smoke-testing a URL (make deploy) loads no model
    "mlpipe.tasks.gate",
    "mlpipe.serving.__main__",  # --help and the argument checks come before the model
]
PROBE = """
import importlib, json, sys
importlib.import_module(sys.argv[1])
print(json.dumps(sorted({m.split(".")[0] for m in sys.modules} | {m for m in sys.modules if m.startswith("mlpipe.")})))
"""


def loaded(module: str) -> set[str]:
    res = subprocess.run([sys.executable, "-c", PROBE, module], cwd=ROOT, capture_output=True, text=True, check=False)
    assert res.returncode == 0, res.stderr[-2000:]
    return set(json.loads(res.stdout))


@pytest.mark.parametrize("module", MODULES)
def test_importing_a_module_loads_no_heavy_library_and_no_benchmark(module: str) -> None:
    modules = loaded(module)
    heavy = sorted(set(HEAVY) & modules)
    assert not heavy, f"importing {module} loads {heavy}: import them inside the function that needs them"
    # benchmarks and the load generator are tooling: stages, tasks and the service never import them
    tooling = sorted(m for m in modules if m == "bench" or m.startswith("bench."))
    assert not tooling, f"{module} imports {tooling}"


def test_the_comment_task_loads_no_pandas() -> None:
    """``make comment`` starts three processes that handle text and JSON only (0.56 s each with pandas)."""
    modules = loaded("mlpipe.tasks.comment")
    assert not {"pandas", "numpy"} & modules, sorted({"pandas", "numpy"} & modules)


SPY = """
import gc, sys

class Spy:
    def find_spec(self, name, path=None, target=None):
        if name == "pandas" and "pandas" not in sys.modules:
            sys.stderr.write(f"pandas imported under {gc.get_threshold()}\\n")
        return None

sys.meta_path.insert(0, Spy())
"""


def test_a_command_tunes_the_collector_before_its_first_import(tmp_path: Path) -> None:
    """``python -m mlpipe.stages.…`` (and tasks) import pandas under the command's collector thresholds
    (7% off every stage's start-up); a process that imports the same module (a test, a server) keeps
    Python's. The spy is a ``sitecustomize`` module: it runs before the command, as ``python -m`` does."""
    (tmp_path / "sitecustomize.py").write_text(SPY, encoding="utf-8")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(tmp_path), str(ROOT / "src")])}

    def threshold(*args: str) -> str:
        res = subprocess.run([sys.executable, *args], cwd=ROOT, env=env, capture_output=True, text=True, check=False)
        assert res.returncode == 0, res.stderr[-2000:]
        said = [line for line in res.stderr.splitlines() if line.startswith("pandas imported under")]
        assert len(said) == 1, res.stderr[-2000:]
        return said[0]

    assert threshold("-m", "mlpipe.stages.prepare", "--help") == f"pandas imported under {GC_THRESHOLDS}"
    assert threshold("-m", "mlpipe.tasks.score", "--help") == f"pandas imported under {GC_THRESHOLDS}"
    default = subprocess.run(
        [sys.executable, "-c", "import gc; print(gc.get_threshold())"], capture_output=True, text=True, check=True
    ).stdout.strip()
    assert threshold("-c", "import mlpipe.stages.prepare") == f"pandas imported under {default}"
