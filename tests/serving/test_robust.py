"""What the issue's fuzzing and fault runs found: bounded and strict types, one 4xx shape, 415,
and a prediction log that neither fails answers nor loses them (every 200 has exactly one log row)."""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from mlpipe.io.predlog import PredictionLog, read_prediction_log
from mlpipe.serving.app import create_app
from mlpipe.serving.responses import field_name
from tests.io.test_predlog import Disk
from tests.servers import Served, wait_bound

pytestmark = pytest.mark.integration


@pytest.fixture
def client(served: Served, tmp_path: Path) -> Iterator[TestClient]:
    with TestClient(create_app(served.settings(tmp_path / "log"))) as c:
        yield c


def plog_of(c: TestClient) -> PredictionLog:
    plog = c.app.app.state.mlpipe.plog  # type: ignore[attr-defined]
    assert isinstance(plog, PredictionLog)
    return plog


def fields(r: Any) -> dict[str, str]:
    body = r.json()
    assert set(body) == {"error", "problems"}, body  # one shape for every 4xx
    return {p["field"]: p["problem"] for p in body["problems"]}


def test_an_id_beyond_64_bits_is_a_422_naming_it(client: TestClient, served: Served) -> None:
    c = served.contract
    key = c.id  # an int id is bounded to int64; a text id refuses any number
    says = "less than or equal to" if c.columns[key].dtype == "int" else "valid string"
    for big in (2**63, 2**64, 10**30):
        r = client.post("/predict", json={**served.record(0), key: big})
        assert r.status_code == 422, r.text
        assert says in fields(r)[field_name((key,))]
        r = client.post("/predict/batch", json={"records": [served.record(1), {**served.record(0), key: big}]})
        assert r.status_code == 422, r.text
        assert says in fields(r)[field_name(("records", 1, key))]
    if c.columns[key].dtype == "int":
        assert client.post("/predict", json={**served.record(0), key: 2**63 - 1}).status_code == 200


_WRONG: dict[str, list[Any]] = {
    "int": [True, "1", 1.5],
    "float": [True, "1.5"],
    "str": [1, True],
    "bool": [1, "true", "yes"],
}


def test_strict_types_for_every_column(client: TestClient, served: Served) -> None:
    """Every contract column, of whatever dtype, refuses values of another JSON type."""
    c = served.contract
    for name in [c.id, *c.features]:
        for wrong in _WRONG[c.columns[name].dtype]:
            r = client.post("/predict", json={**served.record(0), name: wrong})
            assert r.status_code == 422, (name, wrong, r.text)
            assert "Input should be" in fields(r)[field_name((name,))]
            r = client.post("/predict/batch", json={"records": [{**served.record(0), name: wrong}]})
            assert r.status_code == 422, (name, wrong, r.text)
            assert field_name(("records", 0, name)) in fields(r)


@pytest.mark.parametrize(
    "kind", ["text/plain", "none", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x"]
)
@pytest.mark.parametrize("path", ["/predict", "/predict/batch"])
def test_bodies_not_sent_as_json_get_415(client: TestClient, served: Served, kind: str, path: str) -> None:
    body = json.dumps(served.record(0)).encode() + b"\xff\xfe raw bytes"
    headers = {} if kind == "none" else {"content-type": kind}
    r = client.post(path, content=body, headers=headers)
    assert r.status_code == 415, r.text
    assert "application/json" in fields(r)["Content-Type"]


def test_json_media_types_with_parameters_are_json(client: TestClient, served: Served) -> None:
    for kind in ("application/json; charset=utf-8", "Application/JSON", "application/vnd.api+json"):
        r = client.post("/predict", content=json.dumps(served.record(0)), headers={"content-type": kind})
        assert r.status_code == 200, (kind, r.text)


def test_a_lone_surrogate_is_a_422(client: TestClient, served: Served) -> None:
    """ "\\ud800" is valid JSON but no text: as a value or as a field name, a 422, not a 500."""
    as_value = json.dumps({**served.record(0), served.contract.features[0]: "LONE"})
    as_name = json.dumps({**served.record(0), "LONE": 1})
    for doc in (as_value, as_name):
        body = doc.replace('"LONE"', '"\\ud800"')
        for path, wrapped in (("/predict", body), ("/predict/batch", f'{{"records": [{body}]}}')):
            r = client.post(path, content=wrapped, headers={"content-type": "application/json"})
            assert r.status_code == 422, (path, r.text)
            assert fields(r)


def test_fields_named_body_or_empty_are_named(client: TestClient, served: Served) -> None:
    rec = {**served.record(0), "body": 1, "": 2}
    r = client.post("/predict", json=rec)
    assert set(fields(r)) == {"body", '[""]'}
    r = client.post("/predict/batch", json={"records": [rec]})
    assert set(fields(r)) == {"records[0].body", 'records[0][""]'}
    r = client.post("/predict", json=[1, 2])
    assert "(body)" in fields(r)


def test_every_4xx_has_one_shape(served: Served) -> None:
    with TestClient(create_app(served.settings(None, api_key="k"))) as c:
        key = {"X-API-Key": "k"}
        assert "X-API-Key" in fields(c.post("/predict", json=served.record(0)))  # 401
        r = c.get("/predict", headers=key)
        assert r.status_code == 405
        assert "(method)" in fields(r)
        assert r.headers["allow"] == "POST"
        r = c.get("/nowhere")
        assert r.status_code == 404
        assert "(path)" in fields(r)
        big = b" " * (served.params.serve.max_body_bytes + 1)
        r = c.post("/predict", content=big, headers={**key, "content-type": "application/json"})
        assert r.status_code == 413
        assert "(body)" in fields(r)
        r = c.post("/predict", content=b'{"a": "\xff"}', headers={**key, "content-type": "application/json"})
        assert r.status_code in (400, 422)
        assert "(body)" in fields(r)


def test_a_log_directory_that_cannot_be_made_neither_stops_the_service_nor_loses_rows(
    served: Served, tmp_path: Path
) -> None:
    blocker = tmp_path / "logs"
    blocker.write_text("a file where the directory should be")
    with TestClient(create_app(served.settings(blocker / "predictions"))) as c:
        assert c.get("/ready").status_code == 200
        rids = [c.post("/predict", json=served.record(i)).json()["request_id"] for i in range(3)]
        plog = plog_of(c)
        deadline = time.monotonic() + wait_bound()
        while plog.errors == 0 and time.monotonic() < deadline:  # the log is written off the request path
            time.sleep(0.01)
        metrics = c.get("/metrics").text
        assert "mlpipe_prediction_log_errors_total 0.0" not in metrics
        assert "mlpipe_prediction_log_pending_rows" in metrics
        blocker.unlink()  # fixed while the service runs
        plog.flush()
    assert sorted(read_prediction_log(blocker / "predictions")["request_id"]) == sorted(rids)


def test_every_200_has_exactly_one_log_row_under_load_and_faults(served: Served, tmp_path: Path) -> None:
    """A burst of concurrent single and batch requests, 1% with an id beyond 64 bits, some with wrong
    types, while the disk fills up and frees again and one rotation fails."""
    key = served.contract.id
    disk = Disk()
    with TestClient(create_app(served.settings(tmp_path / "log"))) as c:
        plog = plog_of(c)
        with plog._lock:
            plog._close()
            plog._open = disk.opener(plog._open)  # type: ignore[method-assign,assignment]
            plog.max_bytes = 20_000  # rotate often

        def call(i: int) -> tuple[int, list[str]]:
            if i % 50 == 0:
                disk.full = not disk.full  # the disk fills and frees during the burst
            rec = served.record(i % 300)
            if i % 100 == 7:
                rec[key] = 2**64
            if i % 37 == 5:
                rec[served.contract.features[0]] = True
            if i % 10 == 3:
                r = c.post("/predict/batch", json={"records": [rec, served.record((i + 1) % 300)]})
                rid = r.json().get("request_id")
                return r.status_code, [f"{rid}:0", f"{rid}:1"]
            r = c.post("/predict", json=rec)
            return r.status_code, [r.json().get("request_id")]

        with ThreadPoolExecutor(16) as pool:
            results = list(pool.map(call, range(600)))
        assert "mlpipe_prediction_log_errors_total 0.0" not in c.get("/metrics").text
        disk.full = False
    answered = [rid for status, rids in results if status == 200 for rid in rids]
    statuses = Counter(status for status, _ in results)
    assert set(statuses) == {200, 422}, statuses  # no 500
    assert statuses[422] >= 20
    assert plog.errors > 0
    assert plog.dropped_rows == 0
    logged = Counter(read_prediction_log(tmp_path / "log")["request_id"])
    assert logged == Counter(answered)  # each 200 exactly once, nothing else
