"""Every answer's JSON, and the one shape of every 4xx: ``{"error", "problems": [{"field", "problem"}]}``.

Answers echo what a client sent (the field, its value) but never crash on it: lone surrogates and
integers beyond 64 bits are made writable, and paths lose their directories (answers never show
where files live; the service's own log has the full message).
"""

from __future__ import annotations

import json
import re
from typing import Any

import orjson
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from pydantic import ValidationError

from mlpipe.core.schema import ECHO_CHARS

_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
# What a 4xx that is not about one field is about: every error names something (one shape for all 4xx).
_SUBJECT = {400: "(body)", 401: "X-API-Key", 404: "(path)", 405: "(method)", 413: "(body)", 415: "Content-Type"}


# A path in an error message: its directories are dropped, the file name stays. Answers never show
# where files live (the log has the full message).
_DIRS = re.compile(r"(?:[A-Za-z]:)?(?:[^\s:'\"/\\]*[/\\])+")


def no_dirs(text: str) -> str:
    return _DIRS.sub("", text)


def field_name(loc: tuple[int | str, ...] | list[int | str]) -> str:
    """``records[2].AGEP``; a name that is not an identifier is quoted (``[""]``, ``["a b"]``)."""
    name = ""
    for p in loc:
        if isinstance(p, int):
            name += f"[{p}]"
        elif _NAME.match(p):
            name += f".{p}" if name else p
        else:
            name += f"[{orjson.dumps(safe(p)).decode()}]"
    return name or "(body)"


# A body of 1,000 records with 300 unknown keys each had 300,000 problems: a 25 MB answer.
MAX_PROBLEMS = 100


def problems_of(err: RequestValidationError | ValidationError, prefix: str | None = None) -> list[dict[str, Any]]:
    """One item per problem; ``prefix`` is FastAPI's first loc element (``body``), not a field."""
    out = []
    errors = err.errors()
    for e in errors[:MAX_PROBLEMS]:
        loc = list(e["loc"])
        if prefix is not None and loc[:1] == [prefix]:
            loc = loc[1:]
        name = "(body)" if e["type"] == "json_invalid" else field_name(loc)
        item = {"field": clip(name), "problem": e["msg"]}
        if "input" in e and e["type"] not in ("missing", "json_invalid") and not isinstance(e["input"], dict | list):
            item["input"] = clip(e["input"])
        out.append(item)
    if len(errors) > MAX_PROBLEMS:
        out.append({"field": "(body)", "problem": f"and {len(errors) - MAX_PROBLEMS:,} more problems, not listed"})
    return out


_LOG10_2 = 0.30103  # digits per bit


def clip(value: Any) -> Any:
    """What an answer repeats of a request: a long text cut (a 1 MB field would come back as 1 MB), a
    huge integer named by its size (no text is made of it: Python refuses beyond 4,300 digits)."""
    if isinstance(value, str) and len(value) > ECHO_CHARS:
        return f"{value[:ECHO_CHARS]}... ({len(value):,} characters)"
    if isinstance(value, int) and not isinstance(value, bool) and value.bit_length() * _LOG10_2 > ECHO_CHARS:
        return f"(an integer of about {round(value.bit_length() * _LOG10_2):,} digits)"
    return value


def refused(err: ValidationError, body: bytes) -> Response:
    """A body pydantic refused: 400 when it is not JSON at all (as the OpenAPI document says), else 422.

    pydantic-core also calls a lone surrogate escape (``"\\ud800"``) invalid JSON; it is valid JSON
    that holds no text, so a 422 (the stdlib parser, which accepts it, decides: on this error path only).
    The body is decoded as UTF-8 first: given bytes, the stdlib would also take a byte-order mark or
    UTF-16, which the service does not.
    """
    problems = problems_of(err)
    if any(e["type"] == "json_invalid" for e in err.errors()):
        try:
            json.loads(body.decode("utf-8"))
        except (ValueError, RecursionError):
            return error(400, "the body is not valid JSON", problems)
    return error(422, "invalid request", problems)


class _Repeated(ValueError):
    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out = dict(pairs)
    if len(out) != len(pairs):
        seen: set[str] = set()
        raise _Repeated(next(k for k, _ in pairs if k in seen or seen.add(k)))  # type: ignore[func-returns-value]
    return out


# A key of a flat JSON object: a string followed by a colon (a string value is followed by , or }).
_KEY = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"\s*:')


def _colons_rewritten(parsed: Any) -> int:
    try:
        return orjson.dumps(parsed).count(b":")
    except orjson.JSONEncodeError:  # nested deeper than orjson writes (it reads deeper): no shortcut
        return -1


def flat_and_unique(body: bytes) -> bool:
    """True when no object in the body holds a key twice, shown cheaply (~1.5 us a record, against ~13 us
    for the stdlib's parser with a hook). False says nothing.

    Counting colons: each member of an object has one of its own, the others are in strings. orjson
    keeps one member per key; written back, its text has the colons of the members it kept and of their
    strings. With no escape in the body its strings are written as orjson writes them, so a body with
    no more colons than that has no member orjson dropped: no key twice. Otherwise (an escape, or a
    repeat) a flat object's keys are counted with a regular expression."""
    try:
        parsed = orjson.loads(body)
    except orjson.JSONDecodeError:
        return False
    if b"\\" not in body and body.count(b":") == _colons_rewritten(parsed):
        return True
    if type(parsed) is not dict or any(type(v) is dict or type(v) is list for v in parsed.values()):
        return False
    return len(_KEY.findall(body)) == len(parsed)


def repeated_problem(body: bytes) -> dict[str, Any] | None:
    """The problem of a key an object holds twice. JSON parsers keep the last one silently, so a proxy
    or WAF reading the first would see another request than the model does (pydantic-core's parser and
    orjson cannot tell; the stdlib's can: ~13 us a record, run only on a body that validated and is not
    a flat object with distinct keys, which one record or event is)."""
    if flat_and_unique(body):
        return None
    try:
        json.loads(body, object_pairs_hook=_unique_keys)
    except _Repeated as dup:
        return {"field": field_name([dup.key]), "problem": "appears more than once"}
    return None


def repeated_key(body: bytes) -> Response | None:
    """422 naming a key an object holds twice (see :func:`repeated_problem`)."""
    problem = repeated_problem(body)
    return None if problem is None else error(422, "invalid request", [problem])


def error(status: int, message: str, problems: list[dict[str, Any]] | None = None) -> Response:
    """Every 4xx: ``{"error": ..., "problems": [{"field": ..., "problem": ...}]}``."""
    if problems is None:
        problems = [{"field": _SUBJECT.get(status, "(request)"), "problem": message}]
    return json_response({"error": message, "problems": problems}, status)


def safe(o: Any) -> Any:
    """What a client sent, made writable: lone surrogates escaped, integers beyond 64 bits as text."""
    if isinstance(o, dict):
        return {safe(k): safe(v) for k, v in o.items()}
    if isinstance(o, list | tuple):
        return [safe(v) for v in o]
    if isinstance(o, str):
        return o.encode("utf-8", "backslashreplace").decode()
    if isinstance(o, bytes):
        return o.decode("utf-8", "backslashreplace")
    if isinstance(o, int) and not isinstance(o, bool) and not -(2**63) <= o < 2**64:
        return str(o)
    return o


def json_response(obj: Any, status: int = 200) -> Response:
    try:
        body = orjson.dumps(obj, option=orjson.OPT_SERIALIZE_NUMPY)
    except (TypeError, orjson.JSONEncodeError):  # an echoed input orjson cannot write
        body = orjson.dumps(safe(obj), option=orjson.OPT_SERIALIZE_NUMPY, default=repr)
    return Response(body, status_code=status, media_type="application/json")


def not_utf8(content_type: str | None) -> str | None:
    """The charset a JSON body claims when it is not UTF-8 (the only one JSON allows, RFC 8259): the body
    would be read as UTF-8 anyway, so ``charset=utf-16`` is refused, not misread."""
    for param in (content_type or "").split(";")[1:]:
        name, _, value = param.partition("=")
        if name.strip().lower() == "charset":
            charset = value.strip().strip('"').lower()
            if charset not in ("utf-8", "utf8"):
                return charset
    return None


def is_json(content_type: str | None) -> bool:
    media = (content_type or "").split(";", 1)[0].strip().lower()
    return media == "application/json" or (media.startswith("application/") and media.endswith("+json"))
