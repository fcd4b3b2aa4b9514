"""The service in-process (Starlette's TestClient runs the lifespan, no socket): every endpoint."""

from __future__ import annotations

import dataclasses
import gc
import json
import logging
import shutil
from collections.abc import Iterator, MutableMapping
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from mlpipe.config import Contract
from mlpipe.core.schema import target_values
from mlpipe.io.pipeline import PipelinePaths
from mlpipe.io.predlog import read_prediction_log
from mlpipe.serving.app import create_app
from mlpipe.serving.responses import field_name
from mlpipe.serving.settings import Settings
from tests.datasets import bounded_numeric, coded_feature, non_nullable_feature, numeric_feature, unknown_value
from tests.repos import ROOT, run
from tests.servers import Served

pytestmark = pytest.mark.integration


@pytest.fixture
def client(served: Served, tmp_path: Path) -> Iterator[TestClient]:
    with TestClient(create_app(served.settings(tmp_path / "log"))) as c:
        yield c


def problems(resp: Any) -> dict[str, str]:
    return {p["field"]: p["problem"] for p in resp.json()["problems"]}


def test_health_ready_version(client: TestClient, served: Served) -> None:
    assert client.get("/health").json() == {"status": "ok"}
    version = served.card["model"]["sha256"][:12]
    assert client.get("/ready").json() == {"ready": True, "model_version": version}
    v = client.get("/version").json()
    assert v["model_sha256"] == served.card["model"]["sha256"]
    assert v["data_sha256"] == served.card["data_sha256"]
    assert v["code_sha256"] == served.card["code_sha256"]
    assert "git_commit" not in served.card  # the card records inputs; the service adds the commit it runs
    assert v["git_commit"] == run(served.repo, "git", "rev-parse", "HEAD").stdout.strip()


def test_version_names_the_commit_the_image_was_built_from(
    served: Served, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GIT_COMMIT", "0123abc")  # the image's build argument (Dockerfile)
    with TestClient(create_app(served.settings(None))) as c:
        assert c.get("/version").json()["git_commit"] == "0123abc"


def test_the_app_freezes_the_heap_and_leaves_a_hosts_frozen_heap_frozen(
    served: Served, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A service process freezes the model's objects out of full collections; a host that froze its
    own heap first (this test process did after collection) keeps it frozen, with no full collection
    at start and nothing unfrozen at stop."""
    collections: list[int] = []
    collect = gc.collect

    def counted(generation: int = 2) -> int:
        collections.append(generation)
        return collect(generation)

    monkeypatch.setattr(gc, "collect", counted)
    assert gc.get_freeze_count() > 0
    with TestClient(create_app(served.settings(None))) as c:
        assert c.get("/ready").json()["ready"] is True
    assert collections == []
    assert gc.get_freeze_count() > 0
    gc.unfreeze()
    try:
        with TestClient(create_app(served.settings(None))) as c:
            assert c.get("/ready").json()["ready"] is True
            assert gc.get_freeze_count() > 0
        assert collections == [2]  # one full collection
        assert gc.get_freeze_count() == 0
    finally:
        collect()
        gc.freeze()


def test_predict_one_and_batch_match_training(client: TestClient, served: Served) -> None:
    rec = served.record(3)
    r = client.post("/predict", json=rec, headers={"X-Request-ID": "req-1"})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["request_id"] == r.headers["x-request-id"] != "req-1"  # the service's own id, never the client's
    key = served.contract.id
    assert body["id"] == rec[key]
    assert body["probability"] == served.trained[rec[key]]
    negative, positive = target_values(served.contract)
    assert body["prediction"] == (positive if body["probability"] >= served.params.evaluate.threshold else negative)
    recs = [served.record(i) for i in range(25)]
    out = client.post("/predict/batch", json={"records": recs}).json()
    assert [p["id"] for p in out["predictions"]] == [r[key] for r in recs]
    assert [p["probability"] for p in out["predictions"]] == [served.trained[r[key]] for r in recs]


def test_the_id_is_optional(client: TestClient, served: Served) -> None:
    rec = served.record(0)
    del rec[served.contract.id]
    body = client.post("/predict", json=rec).json()
    assert body["id"] is None
    assert 0 <= body["probability"] <= 1


_SAYS = {"int": "valid integer", "float": "valid number", "str": "valid string", "bool": "valid boolean"}


def _bad_field(case: str, c: Contract) -> tuple[dict[str, Any], str, str]:
    """(change to a good record, the field to be named, what its problem says), from the contract."""
    if case == "missing_value":
        name = non_nullable_feature(c)
        col = c.columns[name]
        return {name: None}, name, "Input should be" if col.value_set is not None else _SAYS[col.dtype]
    if case == "above_max":
        name, col = bounded_numeric(c)
        above = (col.max or 0) + 1000
        return {name: int(above) if col.dtype == "int" else above}, name, f"less than or equal to {col.max:g}"
    if case == "text_in_number":
        name = numeric_feature(c)
        return {name: "forty"}, name, "valid"
    if case == "unknown_code":
        name, values = coded_feature(c)
        return {name: unknown_value(values)}, name, "Input should be"
    extra = unknown_column(c)
    return {extra: "red"}, extra, "Extra inputs are not permitted"


def unknown_column(c: Contract) -> str:
    """A field name the contract does not have (a fork may well have a ``colour``)."""
    return next(n for n in (f"colour{'_' * i}" for i in range(len(c.columns) + 1)) if n not in c.columns)


@pytest.mark.parametrize("case", ["missing_value", "above_max", "text_in_number", "unknown_code", "extra_field"])
def test_bad_fields_get_422_naming_them(client: TestClient, served: Served, case: str) -> None:
    change, field, says = _bad_field(case, served.contract)
    r = client.post("/predict", json={**served.record(0), **change})
    assert r.status_code == 422
    assert says in problems(r)[field_name((field,))]


def test_missing_field_and_bad_json(client: TestClient, served: Served) -> None:
    rec = served.record(0)
    name = served.contract.features[-1]
    del rec[name]
    assert problems(client.post("/predict", json=rec)) == {field_name((name,)): "Field required"}
    r = client.post("/predict", content=b'{"x": 4', headers={"content-type": "application/json"})
    assert r.status_code == 400  # not JSON at all, as the OpenAPI document says
    assert "JSON" in problems(r)["(body)"]
    body = json.dumps(served.record(0))
    for encoded in (b"\xef\xbb\xbf" + body.encode(), body.encode("utf-16")):  # JSON is UTF-8, without a BOM
        r = client.post("/predict", content=encoded, headers={"content-type": "application/json"})
        assert r.status_code == 400, r.text


def test_an_answer_repeats_at_most_a_little_of_a_long_input(client: TestClient, served: Served) -> None:
    name = numeric_feature(served.contract)
    rec = {**served.record(0), name: "9" * 1_000_000, "x" * 5000: 1}
    r = client.post("/predict", json=rec)
    assert r.status_code == 422
    assert len(r.content) < 2000
    said = {p["field"]: p.get("input") for p in r.json()["problems"]}
    assert said[field_name((name,))] == "9" * 200 + "... (1,000,000 characters)"
    assert "x" * 200 + "... (5,000 characters)" in said
    r = client.post("/predict", content=f'{{"{name}": {"9" * 4000}}}', headers={"content-type": "application/json"})
    assert r.status_code == 422
    assert len(r.content) < 1000


def test_batch_errors_name_the_record(client: TestClient, served: Served) -> None:
    recs = [served.record(i) for i in range(3)]
    change, field, says = _bad_field("extra_field", served.contract)
    recs[2].update(change)
    assert says in problems(client.post("/predict/batch", json={"records": recs}))[field_name(("records", 2, field))]
    assert client.post("/predict/batch", json={"records": []}).status_code == 422


def test_batch_size_is_bounded(served: Served, tmp_path: Path) -> None:
    params = served.params.model_copy(update={"serve": served.params.serve.model_copy(update={"max_batch_rows": 5})})
    settings = dataclasses.replace(served.settings(None), params=params)
    with TestClient(create_app(settings)) as c:
        r = c.post("/predict/batch", json={"records": [served.record(i) for i in range(6)]})
        assert r.status_code == 422
        assert "at most 5 items" in problems(r)["records"]


def test_oversize_bodies_are_refused(client: TestClient, served: Served) -> None:
    limit = served.params.serve.max_body_bytes
    big = b'{"records": [' + b" " * limit + b"]}"
    r = client.post("/predict/batch", content=big, headers={"content-type": "application/json"})
    assert r.status_code == 413
    assert str(limit) in r.json()["error"]

    def chunks() -> Iterator[bytes]:  # no Content-Length: counted while it arrives
        yield b'{"records": ['
        for _ in range(limit // 65536 + 2):
            yield b" " * 65536

    r = client.post("/predict/batch", content=chunks(), headers={"content-type": "application/json"})
    assert r.status_code == 413
    assert "larger than the limit" in r.json()["error"]
    assert client.get("/health").status_code == 200


def test_api_key(served: Served) -> None:
    with TestClient(create_app(served.settings(None, api_key="s3cret"))) as c:
        assert c.post("/predict", json=served.record(0)).status_code == 401
        assert c.post("/predict", json=served.record(0), headers={"X-API-Key": "wrong"}).status_code == 401
        assert c.post("/predict", json=served.record(0), headers={"X-API-Key": "s3cret"}).status_code == 200
        assert c.post("/predict", json=served.record(0), headers={"Authorization": "Bearer s3cret"}).status_code == 200
        assert c.get("/health").status_code == 200  # probes need no key


PREDICT = {"/predict", "/predict/batch"}
OPEN_ROUTES = ("/ready", "/version", "/metrics", "/docs", "/redoc", "/openapi.json")


def secured(doc: dict[str, Any]) -> set[str]:
    return {path for path, ops in doc["paths"].items() for op in ops.values() if op.get("security")}


def test_api_key_scope_predict_opts_out(served: Served) -> None:
    """Only the predict endpoints need the key; the document says so, and open routes say little."""
    with TestClient(create_app(served.settings(None, api_key="s3cret", api_key_scope="predict"))) as c:
        for path in OPEN_ROUTES:
            assert c.get(path).status_code == 200, path
        doc = c.get("/openapi.json").json()
        assert doc["components"]["securitySchemes"]["APIKeyHeader"] == {
            "type": "apiKey",
            "in": "header",
            "name": "X-API-Key",
            "description": "the service's MLPIPE_API_KEY",
        }
        assert secured(doc) == PREDICT
        assert "401" in doc["paths"]["/predict"]["post"]["responses"]
        assert "401" not in doc["paths"]["/version"]["get"]["responses"]
        version = c.get("/version").json()
        assert "libraries" not in version  # open to anyone: no library versions to look CVEs up by
        assert version["model_sha256"] == served.card["model"]["sha256"]  # what smoke tests compare


def test_a_key_guards_everything_but_health_and_ready_by_default(served: Served) -> None:
    with TestClient(create_app(served.settings(None, api_key="s3cret"))) as c:
        assert c.get("/health").status_code == 200  # liveness and readiness probes send no key
        assert c.get("/ready").status_code == 200
        for path in set(OPEN_ROUTES) - {"/ready"}:
            r = c.get(path)
            assert r.status_code == 401, path
            assert problems(r) == {"X-API-Key": "missing or wrong API key: send it in the X-API-Key header"}
            assert c.get(path, headers={"X-API-Key": "wrong"}).status_code == 401
            assert c.get(path, headers={"X-API-Key": "s3cret"}).status_code == 200, path
            assert c.get(path, headers={"Authorization": "Bearer s3cret"}).status_code == 200, path
        doc = c.get("/openapi.json", headers={"X-API-Key": "s3cret"}).json()
        assert secured(doc) == set(doc["paths"]) - {"/health", "/ready"}
        assert doc["paths"]["/version"]["get"]["security"] == [{"APIKeyHeader": []}, {"HTTPBearer": []}]
        version = c.get("/version", headers={"X-API-Key": "s3cret"}).json()
        assert version["libraries"] == served.card["libraries"]  # behind the key: the whole provenance


def test_without_a_key_nothing_is_secured(client: TestClient) -> None:
    doc = client.get("/openapi.json").json()
    assert secured(doc) == set()
    assert "securitySchemes" not in doc["components"]


def test_the_scope_setting(served: Served, monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(ValueError, match="MLPIPE_API_KEY_SCOPE must be one of"):
        served.settings(None, api_key="k", api_key_scope="everything")  # a typo must not leave routes open
    monkeypatch.setenv("MLPIPE_ROOT", str(served.repo))
    assert Settings.from_env().api_key_scope == "all"  # secure by default
    monkeypatch.setenv("MLPIPE_API_KEY_SCOPE", "predict")
    assert Settings.from_env().api_key_scope == "predict"
    monkeypatch.setenv("MLPIPE_API_KEY_SCOPE", "everything")
    with pytest.raises(ValueError, match="MLPIPE_API_KEY_SCOPE: Input should be 'predict' or 'all'"):
        Settings.from_env()
    monkeypatch.setenv("MLPIPE_API_KEY_SCOPE", "all")
    monkeypatch.setenv("MLPIPE_API_KEY_SCOPES", "all")  # a misspelt variable is named, not ignored
    with pytest.raises(ValueError, match=r"unknown environment variable\(s\) MLPIPE_API_KEY_SCOPES; the service reads"):
        Settings.from_env()


def test_settings_from_a_mapping(served: Served) -> None:
    env = {"MLPIPE_ROOT": str(served.repo), "MLPIPE_PREDICTION_LOG": "off", "MLPIPE_MICRO_BATCH": "no"}
    s = Settings.from_env({**env, "MLPIPE_API_KEY": "k"})
    assert (s.prediction_log, s.micro_batch, s.api_key, s.card) == (
        None,
        False,
        "k",
        served.paths.card.relative_to(served.repo),
    )
    with pytest.raises(ValueError, match="MLPIPE_MICRO_BATCH: Input should be a valid boolean"):
        Settings.from_env({**env, "MLPIPE_MICRO_BATCH": "sometimes"})
    empty = {f"MLPIPE_{k}": "" for k in ("CARD", "API_KEY", "API_KEY_SCOPE", "MICRO_BATCH", "CHALLENGER_CARD")}
    s = Settings.from_env({**env, **empty})  # VAR= is the default, as compose/Helm write "unset"
    assert (s.challenger_card, s.api_key, s.api_key_scope, s.micro_batch) == (None, None, "all", None)
    assert Settings.from_env({**env, "MLPIPE_PREDICTION_LOG": ""}).prediction_log is None  # empty log: off


@pytest.mark.parametrize("damage", ["corrupt", "missing"])
def test_a_bad_model_leaves_the_service_up_and_not_ready(
    served: Served, paths: PipelinePaths, tmp_path: Path, damage: str
) -> None:
    repo = tmp_path / "repo"
    shutil.copytree(served.repo, repo, ignore=shutil.ignore_patterns(".git", ".dvc", "data", "src"))
    model = paths.under(repo).model
    if damage == "corrupt":
        data = bytearray(model.read_bytes())
        data[len(data) // 2] ^= 0xFF
        model.write_bytes(bytes(data))
    else:
        model.unlink()
    settings = dataclasses.replace(served.settings(None), root=repo)
    with TestClient(create_app(settings)) as c:
        assert c.get("/health").status_code == 200
        r = c.get("/ready")
        assert r.status_code == 503
        reason = r.json()["reason"]
        assert ("does not match the recorded" if damage == "corrupt" else "not found") in reason
        assert reason.startswith("ModelIntegrityError: model.skops: ")  # the file's name, not where it lives
        p = c.post("/predict", json=served.record(0))
        assert p.status_code == 503
        assert p.json()["error"] == f"model not ready: {reason}"
        assert "mlpipe_ready 0.0" in c.get("/metrics").text


def test_an_exception_in_scoring_is_a_500_and_the_worker_lives_on(served: Served) -> None:
    class Broken:
        def predict_proba(self, X: Any) -> Any:
            raise RuntimeError("boom")

    # raise_server_exceptions stays on: an exception escaping to the server would make uvicorn drop
    # the connection after the 500 (the client's next request on it fails); here nothing escapes
    with TestClient(create_app(served.settings(None))) as c:
        scorer = c.app.app.state.mlpipe.scorer  # type: ignore[attr-defined]
        good, fast = scorer.pipeline, scorer.fast
        object.__setattr__(scorer, "pipeline", Broken())
        object.__setattr__(scorer, "fast", None)  # the Pipeline scores (the fast path would skip Broken)
        r = c.post("/predict", json=served.record(0))
        assert r.status_code == 500
        assert r.json()["request_id"] == r.headers["x-request-id"]
        object.__setattr__(scorer, "pipeline", good)
        object.__setattr__(scorer, "fast", fast)
        assert c.post("/predict", json=served.record(0)).status_code == 200


def test_metrics(client: TestClient, served: Served) -> None:
    answer = client.post("/predict", json=served.record(0)).json()
    client.post("/predict", json={unknown_column(served.contract): 1})
    text = client.get("/metrics").text
    version = served.card["model"]["sha256"][:12]
    assert 'mlpipe_requests_total{endpoint="/predict",status="200"} 1.0' in text
    assert 'mlpipe_request_errors_total{endpoint="/predict",status="422"} 1.0' in text
    assert 'mlpipe_request_latency_seconds_count{endpoint="/predict"} 2.0' in text
    assert f'mlpipe_predictions_total{{model="{version}",prediction=' in text
    assert (
        f'mlpipe_model_info{{data_sha256="{served.card["data_sha256"]}",model="{version}",role="champion"}} 1.0' in text
    )
    # what observability/rules.yml compares with: the traffic's mean probability, the test set's, the targets
    assert (
        f'mlpipe_prediction_probability_sum_total{{model="{version}",role="champion"}} {answer["probability"]!r}'
        in text
    )
    test_mean = json.loads(served.paths.metrics.read_text())["test"]["mean_probability"]
    assert f'mlpipe_reference_mean_probability{{model="{version}"}} {test_mean!r}' in text
    alerts = served.params.serve.alerts
    assert f'mlpipe_alert_threshold{{name="p99_latency_seconds"}} {alerts.p99_latency_ms / 1000!r}' in text
    assert f'mlpipe_alert_threshold{{name="max_stream_lag"}} {float(alerts.max_stream_lag)!r}' in text


def test_no_reference_from_another_models_metrics(served: Served, tmp_path: Path) -> None:
    """metrics.json of another model (a stale file beside a new model) gives no reference: no false alert."""
    other = json.loads(served.paths.metrics.read_text())
    other["model_sha256"] = "0" * 64
    (tmp_path / "metrics.json").write_text(json.dumps(other))
    with TestClient(create_app(served.settings(None, metrics=tmp_path / "metrics.json"))) as client:
        text = client.get("/metrics").text
        assert client.get("/ready").status_code == 200
    assert "mlpipe_reference_mean_probability{" not in text


def test_a_missing_metrics_file_leaves_the_service_up_without_a_reference(
    served: Served, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with TestClient(create_app(served.settings(None, metrics=tmp_path / "missing.json"))) as client:
        assert client.get("/ready").status_code == 200
        assert client.post("/predict", json=served.record(0)).status_code == 200
        text = client.get("/metrics").text
    assert "mlpipe_reference_mean_probability{" not in text
    assert any("missing.json" in r.getMessage() and r.levelname == "WARNING" for r in caplog.records)


def test_every_prediction_is_logged(served: Served, tmp_path: Path) -> None:
    with TestClient(create_app(served.settings(tmp_path / "log"))) as client:
        one = client.post("/predict", json=served.record(1)).json()
        many = client.post("/predict/batch", json={"records": [served.record(i) for i in range(4)]}).json()
    # the log is written off the request path; leaving the block shuts the service down, which flushes it
    df = read_prediction_log(tmp_path / "log")
    assert len(df) == 5
    assert one["request_id"] in set(df["request_id"])
    assert {f"{many['request_id']}:{i}" for i in range(4)} <= set(df["request_id"])
    row = df[df["request_id"] == one["request_id"]].iloc[0]
    assert row["probability"] == one["probability"]
    assert row["model_version"] == one["model_version"]
    feature = served.contract.features[0]
    assert row[feature] == served.record(1)[feature] or served.record(1)[feature] is None
    assert row["id"] == served.record(1)[served.contract.id]  # the log names the id column "id"
    assert row["ts"].endswith("Z")


def test_a_client_gone_before_its_answer_is_marked_in_its_row(served: Served, tmp_path: Path) -> None:
    """The ASGI server tells the app a client left with ``http.disconnect`` (what uvicorn's receive gives
    once the socket closed); the row is logged all the same, marked, and its answer goes nowhere."""
    app = create_app(served.settings(tmp_path / "log"))
    gone: list[str] = []

    async def leave_after_sending(path: str, body: dict[str, Any]) -> None:
        payload = json.dumps(body).encode()
        messages: list[dict[str, Any]] = [{"type": "http.request", "body": payload, "more_body": False}]
        sent: list[dict[str, Any]] = []

        async def receive() -> dict[str, Any]:
            return messages.pop(0) if messages else {"type": "http.disconnect"}

        async def send(message: MutableMapping[str, Any]) -> None:
            sent.append(dict(message))

        headers = [(b"content-type", b"application/json"), (b"content-length", str(len(payload)).encode())]
        scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST",
                 "scheme": "http", "path": path, "raw_path": path.encode(), "query_string": b"", "root_path": "",
                 "headers": headers, "client": ("127.0.0.1", 1), "server": ("127.0.0.1", 80)}  # fmt: skip
        await app(scope, receive, send)
        assert sent[0]["status"] == 200, sent
        gone.append(json.loads(sent[1]["body"])["request_id"])

    with TestClient(app) as client:
        stayed = client.post("/predict", json=served.record(0)).json()["request_id"]
        assert client.portal is not None  # the app's own event loop, where its lifespan started the batcher
        client.portal.call(leave_after_sending, "/predict", served.record(1))
        client.portal.call(leave_after_sending, "/predict/batch", {"records": [served.record(2), served.record(3)]})
    df = read_prediction_log(tmp_path / "log").set_index("request_id")
    assert len(df) == 4
    assert not df.loc[stayed, "client_gone"]
    assert df.loc[gone[0], "client_gone"]
    assert df.loc[[f"{gone[1]}:0", f"{gone[1]}:1"], "client_gone"].all()


def test_a_client_gone_before_its_body_arrived_is_a_499_not_a_server_error(
    served: Served, caplog: pytest.LogCaptureFixture
) -> None:
    """uvicorn's receive gives ``http.disconnect`` once the socket closed mid-body: no answer can reach
    the client, and a 5xx would count against the service's error-ratio alert."""
    app = create_app(served.settings(None))

    async def leave_mid_body(path: str) -> None:
        messages: list[dict[str, Any]] = [{"type": "http.request", "body": b'{"a', "more_body": True}]

        async def receive() -> dict[str, Any]:
            return messages.pop(0) if messages else {"type": "http.disconnect"}

        async def send(message: MutableMapping[str, Any]) -> None:
            pass

        headers = [(b"content-type", b"application/json"), (b"content-length", b"1000")]
        scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST",
                 "scheme": "http", "path": path, "raw_path": path.encode(), "query_string": b"", "root_path": "",
                 "headers": headers, "client": ("127.0.0.1", 1), "server": ("127.0.0.1", 80)}  # fmt: skip
        await app(scope, receive, send)

    with TestClient(app) as client:
        assert client.portal is not None
        for path in ("/predict", "/predict/batch"):
            client.portal.call(leave_mid_body, path)
        text = client.get("/metrics").text
    for path in ("/predict", "/predict/batch"):
        assert f'mlpipe_requests_total{{endpoint="{path}",status="499"}} 1.0' in text
    assert 'status="500"' not in text
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


def test_openapi_schema_comes_from_the_contract(client: TestClient, served: Served) -> None:
    schemas = client.get("/openapi.json").json()["components"]["schemas"]
    rec = schemas["Record"]
    assert set(rec["required"]) == set(served.contract.features)
    assert rec["additionalProperties"] is False
    name, col = bounded_numeric(served.contract)
    prop = rec["properties"][name]  # a nullable column's bound is inside its anyOf
    bound = prop["maximum"] if "maximum" in prop else next(x["maximum"] for x in prop["anyOf"] if "maximum" in x)
    assert bound == col.max
    coded, values = coded_feature(served.contract)
    prop = rec["properties"][coded]
    assert (prop.get("enum") or next(x["enum"] for x in prop["anyOf"] if "enum" in x)) == values
    labels = served.contract.columns[coded].labels
    if labels:
        code, label = next(iter(labels.items()))
        assert f"{code} = {label}" in prop["description"]
    assert schemas["BatchRequest"]["properties"]["records"]["maxItems"] == served.params.serve.max_batch_rows


@pytest.mark.parametrize(
    ("message", "shown"),
    [
        ("/srv/app/models/model.skops: model file not found", "model.skops: model file not found"),
        ("models/card.json: file not found", "card.json: file not found"),
        (r"C:\\app\\models\\model.skops: sha256 ab… does not match", "model.skops: sha256 ab… does not match"),
        ("KeyError: 'model'", "KeyError: 'model'"),
    ],
)
def test_answers_name_files_but_not_where_they_live(message: str, shown: str) -> None:
    from mlpipe.serving.responses import no_dirs as _no_dirs

    assert _no_dirs(message) == shown


def test_what_a_body_claims_is_what_it_is(client: TestClient, served: Served, caplog: pytest.LogCaptureFixture) -> None:
    """Not JSON: 400 (as the document says); a key twice: 422 naming it; not UTF-8: 415; a client's
    request id is logged beside the service's own, never used as it."""
    rec = served.record(0)
    r = client.post("/predict", content=b"{not json", headers={"content-type": "application/json"})
    assert r.status_code == 400
    assert "400" in client.get("/openapi.json").json()["paths"]["/predict"]["post"]["responses"]
    name = served.contract.features[0]
    body = json.dumps(rec)[:-1] + f", {json.dumps(name)}: {json.dumps(rec[name])}}}"
    for path, content in (("/predict", body), ("/predict/batch", '{"records": [' + body + "]}")):
        r = client.post(path, content=content.encode(), headers={"content-type": "application/json"})
        assert r.status_code == 422, (path, r.text)
        assert r.json()["problems"] == [{"field": field_name((name,)), "problem": "appears more than once"}]
    r = client.post("/predict", content=json.dumps(rec).encode("utf-16"),
                    headers={"content-type": "application/json; charset=utf-16"})  # fmt: skip
    assert r.status_code == 415
    assert "charset was utf-16" in r.text
    ok = client.post("/predict", json=rec, headers={"content-type": "application/json; charset=UTF-8"})
    assert ok.status_code == 200
    with caplog.at_level(logging.INFO, logger="mlpipe.serving.edge"):
        r = client.post("/predict", json=rec, headers={"X-Request-ID": "client-7"})
    assert f"request {r.json()['request_id']}: client request id client-7" in caplog.text


def test_docs_pages_can_be_off(served: Served) -> None:
    """The image turns them off (MLPIPE_DOCS=false): their pages load Swagger UI and ReDoc from a CDN."""
    with TestClient(create_app(dataclasses.replace(served.settings(None), docs=False))) as c:
        assert c.get("/docs").status_code == 404
        assert c.get("/redoc").status_code == 404
        assert c.get("/openapi.json").status_code == 200  # the document itself needs no third party
    assert "MLPIPE_DOCS=false" in (ROOT / "Dockerfile").read_text()
