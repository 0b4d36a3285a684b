"""JSON read fast (orjson), with the values the standard library's json gives.

orjson is several times faster, but where they differ it is not json: it refuses NaN,
Infinity and UTF-16 text that json reads, and it turns an integer past 64 bits into a float,
where json keeps the integer (a quantity sent as such an integer must be refused as too large,
not as a float). So a text holding a run of 19 digits or more (the shortest that can pass 64
bits) is read by json, and so is whatever orjson refuses.

Nesting is where neither can be followed as it is: json fails past the interpreter's recursion
limit (RecursionError, at a depth that depends on the caller's own), orjson past 1,024 levels.
Both paths refuse a value nested deeper than DEPTH_MAX levels with a ValueError instead: one
answer, whichever parser read it and from wherever it was called.
"""

from __future__ import annotations

import json
from typing import Any

import orjson

# Every digit as "9", every other byte as " ": a run of 19 digits is then a plain substring
# test (bytes.translate and `in` run in C, fifteen times faster than a regular expression).
_DIGITS_AS_NINES = bytes(0x39 if 0x30 <= b <= 0x39 else 0x20 for b in range(256))
_LONG_DIGITS = b"9" * 19

DEPTH_MAX = 512


class TooDeep(ValueError):
    def __init__(self) -> None:
        super().__init__(f"JSON nested deeper than {DEPTH_MAX} levels")


def loads(data: bytes) -> Any:
    """`json.loads(data)`'s value, or its error (ValueError, UnicodeDecodeError); TooDeep (a
    ValueError) for a value nested deeper than DEPTH_MAX."""
    if _LONG_DIGITS not in data.translate(_DIGITS_AS_NINES):
        try:
            return _shallow(orjson.loads(data), data)
        except orjson.JSONDecodeError:
            pass
    try:
        return _shallow(json.loads(data), data)
    except RecursionError:
        raise TooDeep() from None


def _shallow(value: Any, data: bytes) -> Any:
    """`value`, unless nested deeper than DEPTH_MAX (looked at only when the text holds that
    many brackets: a usage batch of 1,000 records does, most bodies do not)."""
    if data.count(b"[") + data.count(b"{") <= DEPTH_MAX:
        return value
    level = [(value, 1)]
    while level:
        node, depth = level.pop()
        if isinstance(node, dict):
            node = node.values()
        elif not isinstance(node, list):
            continue
        if depth > DEPTH_MAX:
            raise TooDeep()
        level.extend((child, depth + 1) for child in node)
    return value
