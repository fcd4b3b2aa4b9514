"""The repeated-key check: its fast path (flat objects, distinct keys) never hides a repeat the exact
parser finds."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mlpipe.serving.responses import field_name, flat_and_unique, repeated_problem

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
    b'{"t":"10:00:00","t":"x"}',
    b'{"a:b":1,"a:b":2}',
    b'{"t":"2026-01-01T10:00:00+00:00","id":3}',
    b'{"a":"\\u003a","a":":"}',
    b'{"a" : 1,"b":"::","a":":"}',
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
    if flat_and_unique(body):
        assert not repeats_exactly(body)
    assert (repeated_problem(body) is not None) == repeats_exactly(body)


def test_the_fast_path_takes_a_flat_record() -> None:
    assert flat_and_unique(b'{"id": 7, "age": 30, "name": "a \\"b\\": c", "ok": true}')


_SCALARS = st.one_of(
    st.none(), st.booleans(), st.integers(-(10**6), 10**6), st.text(alphabet=':a"\\\u00e9 ', max_size=6)
)
_KEYS = st.text(alphabet=':ab"\\', max_size=3)
# a JSON value as a tree: a scalar, ("list", [values]) or ("object", [(key, value), ...]) with keys maybe repeated
_VALUES = st.recursive(
    _SCALARS,
    lambda inner: st.one_of(
        st.tuples(st.just("list"), st.lists(inner, max_size=3)),
        st.tuples(st.just("object"), st.lists(st.tuples(_KEYS, inner), max_size=4)),
    ),
    max_leaves=12,
)


def text_of(value: object, sep: str) -> str:
    """The value written member by member, so an object can hold a key twice."""
    if isinstance(value, tuple) and value[0] == "list":
        return "[" + ",".join(text_of(v, sep) for v in value[1]) + "]"
    if isinstance(value, tuple) and value[0] == "object":
        return "{" + ",".join(json.dumps(k) + sep + text_of(v, sep) for k, v in value[1]) + "}"
    return json.dumps(value)


@settings(deadline=None)  # a busy machine must not turn a slow example into a failure
@given(st.lists(st.tuples(_KEYS, _VALUES), max_size=6), st.booleans())
def test_the_fast_path_never_hides_a_repeat(members: list[tuple[str, object]], spaced: bool) -> None:
    """Objects with repeats, colons and escapes in keys and values, nested ones, spaces or not."""
    body = text_of(("object", members), " : " if spaced else ":").encode()
    assert (repeated_problem(body) is not None) == repeats_exactly(body)
    if flat_and_unique(body):
        assert not repeats_exactly(body)


def test_a_body_nested_deeper_than_orjson_writes_is_still_answered() -> None:
    deep = b'{"a":1,"a":' + b"[" * 300 + b"]" * 300 + b"}"
    assert flat_and_unique(deep) is False
    assert repeated_problem(deep) is not None


def test_a_field_that_is_not_an_identifier_is_quoted() -> None:
    """What a fork whose columns have spaces sees in a 422 (the serving tests key problems by it)."""
    assert field_name(("records", 2, "Contract Type")) == 'records[2]["Contract Type"]'
    assert field_name(("Contract Type",)) == '["Contract Type"]'
    assert field_name(("records", 0, "tenure")) == "records[0].tenure"
    assert field_name(()) == "(body)"


def test_an_answer_lists_at_most_max_problems_and_counts_the_rest() -> None:
    """1,000 records x 300 unknown keys made a 25 MB 422 from a 3.4 MB body."""
    from pydantic import BaseModel, ConfigDict, ValidationError

    from mlpipe.serving.responses import MAX_PROBLEMS, problems_of

    class Record(BaseModel):
        model_config = ConfigDict(extra="forbid")

    many = MAX_PROBLEMS + 57
    with pytest.raises(ValidationError) as info:
        Record.model_validate({f"k{i}": i for i in range(many)})
    problems = problems_of(info.value)
    assert len(problems) == MAX_PROBLEMS + 1
    assert problems[0] == {"field": "k0", "problem": "Extra inputs are not permitted", "input": 0}
    assert problems[-1] == {"field": "(body)", "problem": "and 57 more problems, not listed"}
    with pytest.raises(ValidationError) as info:
        Record.model_validate({f"k{i}": i for i in range(MAX_PROBLEMS)})
    assert len(problems_of(info.value)) == MAX_PROBLEMS
