"""observability/: the rules, the dashboard and the compose file name what mlpipe really exports.

The metric names are read from the exporters themselves (the service's and the stream consumer's
registries, make monitor's exposition of a report), not from a list kept beside them; promtool checks
the rules' syntax and behaviour in ``make lint`` (rules_test*.yml), test_prometheus.py runs them for real.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from prometheus_client import generate_latest
from prometheus_client.parser import text_string_to_metric_families

from mlpipe.config import MonitorParams
from mlpipe.io.monitor_metrics import monitor_registry
from mlpipe.serving.metrics import Metrics
from mlpipe.streaming.metrics import StreamMetrics
from tests.repos import ROOT

pytestmark = pytest.mark.unit
OBS = ROOT / "observability"
DASHBOARD = OBS / "grafana" / "dashboards" / "mlpipe.json"
METRIC = re.compile(r"\b(mlpipe(?:_[a-z0-9]+)+|mlpipe:[a-z0-9_:]+)\b")


def metrics_in(expr: str) -> set[str]:
    """The metric names a PromQL expression reads (label values such as job="mlpipe_stream" are not)."""
    return set(METRIC.findall(re.sub(r'"[^"]*"', '""', expr)))


def sample_names(text: str) -> set[str]:
    return {s.name for family in text_string_to_metric_families(text) for s in family.samples}


def a_report() -> dict[str, Any]:
    """Every section make monitor can write, with one feature and one labelled metric."""
    feature = {
        "name": "f",
        "test": "ks",
        "psi": 0.2,
        "statistic": 0.1,
        "p_value": 0.001,
        "effect": 0.1,
        "drifted": True,
    }
    return {
        "window": {"rows": 900},
        "verdict": {"alert": True, "judged": True},
        "model_version": "abc",
        "features": [feature],
        "predictions": {"psi": 0.01, "drifted": False, "window_mean": 0.5, "reference_mean": 0.5},
        "quality": {"evaluated": 10, "failed": 1},
        "metrics": {"roc_auc": {"reference": 0.9, "window": 0.8, "drop": 0.1, "max_drop": 0.02, "alert": True}},
    }


@pytest.fixture(scope="module")
def exported() -> set[str]:
    """Every sample name the service, the stream consumer and make monitor expose, and the recording rules."""
    service = Metrics()
    for child in (service.requests, service.errors):
        child.labels("/predict", "500").inc()
    service.latency.labels("/predict").observe(0.01)
    service.predictions.labels("m", "champion", "1").inc()
    service.probability_sum.labels("m", "champion").inc(0.5)
    service.model_info.labels("m", "champion", "d").set(1)
    service.reference_mean.labels("m").set(0.5)
    service.thresholds.labels("x").set(1)
    stream = StreamMetrics()
    stream.predictions.labels("m", "1").inc()
    stream.dead.labels("not JSON").inc()
    stream.model_info.labels("m", "champion", "d").set(1)
    names = sample_names(generate_latest(service.registry).decode())
    names |= sample_names(generate_latest(stream.registry).decode())
    names |= sample_names(generate_latest(monitor_registry(a_report(), MonitorParams(), 0.0)).decode())
    rules = yaml.safe_load((OBS / "rules.yml").read_text())
    return names | {r["record"] for g in rules["groups"] for r in g["rules"] if "record" in r}


def alert_rules() -> list[dict[str, Any]]:
    rules = yaml.safe_load((OBS / "rules.yml").read_text())
    return [r for g in rules["groups"] for r in g["rules"] if "alert" in r]


def dashboard_exprs() -> list[str]:
    dash = json.loads(DASHBOARD.read_text())
    return [t["expr"] for p in dash["panels"] for t in p["targets"]]


def test_every_dashboard_query_uses_exported_metric_names(exported: set[str]) -> None:
    for expr in dashboard_exprs():
        unknown = metrics_in(expr) - exported
        assert not unknown, f"{expr}: {sorted(unknown)} is not exported by the service, the consumer or make monitor"


def test_every_rule_uses_exported_metric_names(exported: set[str]) -> None:
    rules = yaml.safe_load((OBS / "rules.yml").read_text())
    for rule in (r for g in rules["groups"] for r in g["rules"]):
        unknown = metrics_in(rule["expr"]) - exported
        assert not unknown, f"{rule.get('alert') or rule['record']}: {sorted(unknown)} is not exported"


def test_the_dashboard_asks_for_its_datasource() -> None:
    """No datasource uid is written in the file: Grafana offers the Prometheus datasources there are."""
    dash = json.loads(DASHBOARD.read_text())
    (var,) = [v for v in dash["templating"]["list"] if v["type"] == "datasource"]
    assert var["query"] == "prometheus"
    for panel in dash["panels"]:
        for ds in [panel["datasource"], *(t["datasource"] for t in panel["targets"])]:
            assert ds == {"type": "prometheus", "uid": f"${{{var['name']}}}"}, panel["title"]
    titles = " ".join(p["title"].lower() for p in dash["panels"])
    for topic in ("requests", "latency", "5xx", "model version", "probability", "log", "drift", "monitor", "stream"):
        assert topic in titles, f"no panel about {topic}"


def test_every_alert_has_a_severity_a_summary_and_a_runbook_section() -> None:
    readme = (ROOT / "docs" / "observability.md").read_text()
    headings = {re.sub(r"[^a-z0-9 -]", "", h.lower()).replace(" ", "-") for h in re.findall(r"^#+ (.+)$", readme, re.M)}
    names = []
    for rule in alert_rules():
        name = rule["alert"]
        names.append(name)
        assert rule["labels"]["severity"] in ("critical", "warning", "info"), name
        assert rule["annotations"]["summary"], name
        anchor = name.lower()
        assert f"Runbook: docs/observability.md#{anchor}" in rule["annotations"]["description"], name
        assert anchor in headings, f"docs/observability.md has no section '{name}' (the runbook {name} names)"
    assert len(names) == len(set(names))


def test_every_alert_has_a_promtool_unit_test() -> None:
    files = sorted(OBS.glob("rules_test*.yml"))
    tests = [t for f in files for t in yaml.safe_load(f.read_text())["tests"]]
    tested = {case["alertname"] for t in tests for case in t["alert_rule_test"] if case.get("exp_alerts")}
    assert {r["alert"] for r in alert_rules()} == tested


def test_compose_mounts_the_files_it_names() -> None:
    compose = yaml.safe_load((OBS / "compose.yaml").read_text())
    assert {"prometheus", "pushgateway", "grafana"} <= set(compose["services"])
    for name, service in compose["services"].items():
        assert "@sha256:" in service["image"] or re.search(r":v?\d+\.\d+\.\d+$", service["image"]), name
        for volume in service.get("volumes", []):
            host = volume.split(":", 1)[0]
            assert (OBS / host).exists(), f"{name} mounts {host}, which is not in observability/"
    config = yaml.safe_load((OBS / "prometheus.yml").read_text())
    assert {"mlpipe", "mlpipe_stream", "pushgateway"} == {j["job_name"] for j in config["scrape_configs"]}
    assert config["rule_files"] == ["rules.yml"]
    provisioning = yaml.safe_load((OBS / "grafana/provisioning/dashboards/mlpipe.yml").read_text())
    mounted = {v.split(":")[1]: v.split(":")[0] for v in compose["services"]["grafana"]["volumes"]}
    assert Path(mounted[provisioning["providers"][0]["options"]["path"]]) == Path("./grafana/dashboards")
