"""The model service's routes (FastAPI): predict one record or a batch, health, readiness, metrics, version.

With ``MLPIPE_API_KEY`` set, the predict endpoints need the key; ``MLPIPE_API_KEY_SCOPE=all`` extends
that to every route but ``/health`` (liveness probes), including the docs and ``/openapi.json``. The
OpenAPI document declares the key scheme on exactly the operations that need it. The request schema
comes from the data contract (mlpipe.core.schema).

Build it with :func:`create_app`; ``python -m mlpipe.serving`` (the container's entrypoint, ``make
serve``) runs it under uvicorn. The other jobs live beside it: settings (``settings``), metrics
(``metrics``), the models and their routing (``routing``), the ASGI edge (``edge``), the answers'
shapes (``responses``).
"""

import functools
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.utils import get_openapi
from fastapi.responses import Response
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import ClientDisconnect

from mlpipe.core.schema import batch_model, record_model, row_getter
from mlpipe.logs import setup_logging
from mlpipe.serving.edge import Edge
from mlpipe.serving.metrics import Metrics
from mlpipe.serving.responses import error, json_response, problems_of
from mlpipe.serving.routes import Api, health_routes, metadata_routes, metrics_routes, predict_routes
from mlpipe.serving.routing import Router
from mlpipe.serving.settings import Settings

log = logging.getLogger(__name__)


def create_app(settings: Settings) -> Edge:
    """The routers (health, metadata, metrics, predict) around one :class:`Router`, errors in one shape,
    the OpenAPI document completed, and the ASGI edge (request ids, body limit, request metrics) outside."""
    contract, serve = settings.contract, settings.params.serve
    record = record_model(contract)
    batch = batch_model(record, serve.max_batch_rows)
    columns = list(record.model_fields)
    state = Router(settings, Metrics(), columns)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        await state.start()
        try:
            yield
        finally:
            await state.stop()

    app = FastAPI(
        title=f"{contract.name} model service",
        description=contract.description,
        version="1",
        lifespan=lifespan,
        openapi_url=None,  # served by metadata_routes, behind the key when the scope is "all"
        docs_url=None,
        redoc_url=None,
    )
    api = Api(settings, state, record, batch, row_getter(columns))
    for routes in (health_routes, metadata_routes, metrics_routes, predict_routes):
        # The routers' routes themselves, not app.include_router: FastAPI 0.165 includes a router as a
        # lazy branch matched on every request (47 µs a /health call instead of 37 µs, measured). They
        # carry no prefix or dependency of their own, so the app is the same either way.
        app.router.routes.extend(routes(api).routes)
    add_error_handlers(app)
    app.openapi = functools.partial(openapi, app, batch)  # type: ignore[method-assign]
    app.state.mlpipe = state
    return Edge(app, state.metrics, serve.max_body_bytes)


CLIENT_CLOSED = 499


def add_error_handlers(app: FastAPI) -> None:
    """Every 4xx in the one error shape (the problems named by field), 5xx as ServiceError."""

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, err: RequestValidationError) -> Response:
        return error(422, "invalid request", problems_of(err, "body"))

    @app.exception_handler(StarletteHTTPException)  # also the router's 404 and 405
    async def httperror(request: Request, err: StarletteHTTPException) -> Response:
        code = err.status_code
        out = error(code, err.detail) if code < 500 else json_response({"error": err.detail}, code)
        out.headers.update(err.headers or {})
        return out

    @app.exception_handler(ClientDisconnect)
    async def gone(request: Request, err: ClientDisconnect) -> Response:
        """The client left before its body arrived: nobody to answer, and not the service's fault (a 5xx
        would count against the error-ratio alert). Counted as 499, nginx's "client closed request"."""
        log.info(
            "request %s: the client closed the connection before sending its whole body",
            request.scope.get("state", {}).get("request_id"),
        )
        return error(CLIENT_CLOSED, "the client closed the connection before sending its whole body")

    @app.exception_handler(Exception)
    async def crashed(request: Request, err: Exception) -> Response:
        rid = request.scope.get("state", {}).get("request_id")
        log.exception("request %s failed", rid)
        return json_response({"error": "internal error; the service logged it", "request_id": rid}, 500)


def openapi(app: FastAPI, batch: type[BaseModel]) -> dict[str, Any]:
    """FastAPI's document plus BatchRequest, which /predict/batch validates itself: the one place the
    document is changed."""
    if app.openapi_schema is None:
        doc = get_openapi(title=app.title, version=app.version, description=app.description, routes=app.routes)
        schema = batch.model_json_schema(ref_template="#/components/schemas/{model}")
        for name, sub in schema.pop("$defs", {}).items():
            doc["components"]["schemas"].setdefault(name, sub)
        doc["components"]["schemas"]["BatchRequest"] = schema
        app.openapi_schema = doc
    return app.openapi_schema


def app_from_env() -> Edge:
    """uvicorn factory: each worker reads its settings from ``MLPIPE_*`` variables."""
    setup_logging()
    return create_app(Settings.from_env())
