"""The repeated-key check: its fast path (flat objects, distinct keys) never hides a repeat the exact
parser finds."""

from __future__ import annotations

import json

import pytest

from mlpipe.serving.responses import _flat_and_unique, repeated_problem

pytestmark = pytest.mark.unit
BODIES = [
    b'{"a":1,"b":"x"}',
    b'{"a":1,"a":2}',
    b'{"a":"has \\" quote: and colon","b":1}',
    b'{"a":"x\\\\","a":1}',
    b'{"a":{"b":1,"b":2}}',
    b'{"records":[{"a":1},{"a":1,"a":2}]}',
    b'{ "a" : 1 , "b" : 2 }',
    b'{"\\u0061":1,"a":2}',
    b'{"a":"\\":","b":1}',
    b"[1,2]",
    '{"\u00e9":1,"\u00e9":2}'.encode(),
    b'{"a":null,"b":true,"c":-1.5e3,"d":""}',
]


def repeats_exactly(body: bytes) -> bool:
    def pairs_hook(pairs: list[tuple[str, object]]) -> dict[str, object]:
        keys = [k for k, _ in pairs]
        if len(set(keys)) != len(keys):
            raise KeyError(keys)
        return dict(pairs)

    try:
        json.loads(body, object_pairs_hook=pairs_hook)
    except KeyError:
        return True
    return False


@pytest.mark.parametrize("body", BODIES)
def test_the_fast_path_agrees_with_the_exact_parser(body: bytes) -> None:
    if _flat_and_unique(body):
        assert not repeats_exactly(body)
    assert (repeated_problem(body) is not None) == repeats_exactly(body)


def test_the_fast_path_takes_a_flat_record() -> None:
    assert _flat_and_unique(b'{"id": 7, "age": 30, "name": "a \\"b\\": c", "ok": true}')
