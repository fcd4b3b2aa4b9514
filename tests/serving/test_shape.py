"""The service's code stays readable: routers per concern, no function over 60 lines in serving/."""

from __future__ import annotations

import ast

import pytest

from tests.repos import ROOT

pytestmark = pytest.mark.unit
LIMIT = 60


def test_no_function_in_serving_is_over_60_lines() -> None:
    long = []
    for path in sorted((ROOT / "src" / "mlpipe" / "serving").glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                lines = (node.end_lineno or node.lineno) - node.lineno + 1
                if lines > LIMIT:
                    long.append(f"{path.name}: {node.name} ({lines} lines)")
    assert not long, f"split these (one concern each): {long}"


def test_the_app_is_assembled_from_routers() -> None:
    from mlpipe.serving import routes

    made = [name for name in dir(routes) if name.endswith("_routes")]
    assert sorted(made) == ["health_routes", "metadata_routes", "metrics_routes", "predict_routes"]
    app_source = (ROOT / "src" / "mlpipe" / "serving" / "app.py").read_text()
    assert "@app.get" not in app_source, "routes belong in routers"
    assert "@app.post" not in app_source, "routes belong in routers"
