"""Checks an answer's JSON against the SDK's own model types: a number where the SDK declares a
number (in plain notation, never a string), text where it declares text, and so on down."""

from __future__ import annotations

import json
import re
from decimal import Decimal
from typing import Any

import huaweicloudsdkbssintl.v2.model as models

PLAIN_NUMBER = re.compile(r"-?\d+(\.\d+)?")


def parse(text: str) -> Any:
    """JSON as the SDK reads it; every number must be written in plain notation."""

    def number(token: str) -> Decimal:
        assert PLAIN_NUMBER.fullmatch(token), f"not a plain number: {token}"
        return Decimal(token)

    return json.loads(text, parse_float=number, parse_int=lambda t: int(number(t)))


def assert_conforms(value: Any, declared: str, where: str = "$") -> None:
    if value is None:
        return
    if declared.startswith("list["):
        assert isinstance(value, list), where
        for i, item in enumerate(value):
            assert_conforms(item, declared[5:-1], f"{where}[{i}]")
        return
    number = (int, Decimal)
    simple = {"str": str, "int": int, "bool": bool, "decimal.Decimal": number, "float": number}
    if declared in simple:
        assert isinstance(value, simple[declared]), f"{where}: {value!r} is not {declared}"
        assert declared == "bool" or not isinstance(value, bool), where
        return
    model = getattr(models, declared)
    assert isinstance(value, dict), f"{where}: {declared} expected"
    wire = {v: k for k, v in model.attribute_map.items()}
    for key, item in value.items():
        if key in wire:
            assert_conforms(item, model.openapi_types[wire[key]], f"{where}.{key}")
