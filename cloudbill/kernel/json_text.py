"""JSON read fast (orjson), with exactly the values the standard library's json gives.

orjson is several times faster, but where they differ it is not json: it refuses NaN,
Infinity and UTF-16 text that json reads, and it turns an integer past 64 bits into a float,
where json keeps the integer (a quantity sent as such an integer must be refused as too large,
not as a float). So a text holding a run of 19 digits or more (the shortest that can pass 64
bits) is read by json, and so is whatever orjson refuses.
"""

from __future__ import annotations

import json
import re
from typing import Any

import orjson

_LONG_DIGITS = re.compile(rb"[0-9]{19}")


def loads(data: bytes) -> Any:
    """`json.loads(data)`'s value, or its error (ValueError, UnicodeDecodeError)."""
    if _LONG_DIGITS.search(data) is None:
        try:
            return orjson.loads(data)
        except orjson.JSONDecodeError:
            pass
    return json.loads(data)
