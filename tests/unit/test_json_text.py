"""kernel/json_text.loads gives exactly json.loads's values (or its errors), whichever parser
reads the text: orjson where it agrees, json where orjson differs or refuses."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cloudbill.kernel import json_text

VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text()
    | st.floats(allow_nan=True, allow_infinity=True),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=12,
)  # fmt: skip


def _same(a: object, b: object) -> bool:
    """Equal, types included (1 and 1.0 differ), NaN equal to NaN."""
    if isinstance(a, float) and isinstance(b, float) and a != a and b != b:
        return True
    if type(a) is not type(b):
        return False
    if isinstance(a, list):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))  # type: ignore[arg-type]
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)  # type: ignore[union-attr,index]
    return a == b


@given(VALUES)
def test_any_json_value_reads_as_json_reads_it(value: object) -> None:
    for text in (json.dumps(value), json.dumps(value, ensure_ascii=False, indent=1)):
        data = text.encode()
        assert _same(json_text.loads(data), json.loads(data))


@pytest.mark.parametrize(
    "data",
    [
        b'{"quantity": 123456789012345678901234567890}',  # orjson: a float
        b'{"quantity": -9999999999999999999}',  # 19 digits, below int64
        b'{"quantity": 18446744073709551615}',  # uint64's largest
        b'{"a": NaN, "b": -Infinity}',
        b'{"a": 1e400}',
        b'"\\ud800"',  # a lone surrogate
        '{"a": "\u00e9"}'.encode("utf-16"),
        b'\xef\xbb\xbf{"a": 1}',
        b'{"id": "1234567890123456789012", "quantity": 5}',  # long digits in a text
    ],
)
def test_where_orjson_differs_the_value_is_jsons(data: bytes) -> None:
    try:
        expected = json.loads(data)
    except ValueError as exc:
        with pytest.raises(type(exc)):
            json_text.loads(data)
        return
    assert _same(json_text.loads(data), expected)


@pytest.mark.parametrize("data", [b"{not json", b"[1,]", b"", b"\xff\xfe\xff", b'{"a": 1} x'])
def test_what_json_refuses_is_refused_with_its_error(data: bytes) -> None:
    with pytest.raises(ValueError) as ours:
        json_text.loads(data)
    with pytest.raises(ValueError) as theirs:
        json.loads(data)
    assert type(ours.value) is type(theirs.value)
    assert str(ours.value) == str(theirs.value)


@pytest.mark.parametrize("depth", [1, 511, 512])
def test_nesting_up_to_the_bound_reads_as_json_reads_it(depth: int) -> None:
    for data in (b"[" * depth + b"]" * depth, b'{"a":' * (depth - 1) + b"{}" + b"}" * (depth - 1)):
        assert json_text.loads(data) == json.loads(data)


@pytest.mark.parametrize("depth", [513, 999, 1020, 1024, 5000])
def test_deeper_nesting_is_refused_alike_by_either_parser(depth: int) -> None:
    # orjson reads up to 1,024 levels, json up to its recursion limit (about 1,000, less when
    # called deep in a stack): both paths refuse past DEPTH_MAX, with the same error.
    for data in (b"[" * depth + b"]" * depth, b"[" * depth + b"1" * 19 + b"]" * depth):
        with pytest.raises(json_text.TooDeep, match="nested deeper than 512"):
            json_text.loads(data)


def test_many_brackets_side_by_side_are_not_nesting() -> None:
    batch = b'{"records": [' + b",".join([b'{"a": [1]}'] * 1000) + b"]}"
    assert json_text.loads(batch) == json.loads(batch)
