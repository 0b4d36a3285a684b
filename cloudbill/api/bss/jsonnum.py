"""JSON with exact decimal numbers: a Decimal is written as its digits (`12.34567891`), never
through a float and never as a string, which the SDK reads back with parse_float=Decimal."""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from fastapi.routing import APIRoute
from starlette.responses import Response

_MAX_DEPTH = 32


def dumps(value: Any, depth: int = 0) -> str:
    assert depth < _MAX_DEPTH, "answers are shallow"
    if value is None or isinstance(value, bool | str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, Decimal):
        assert value.is_finite(), value
        return format(value, "f")
    if isinstance(value, dict):
        items = (f"{json.dumps(str(k))}:{dumps(v, depth + 1)}" for k, v in value.items())
        return "{" + ",".join(items) + "}"
    if isinstance(value, list | tuple):
        return "[" + ",".join(dumps(v, depth + 1) for v in value) + "]"
    raise TypeError(f"no exact JSON for {type(value).__name__}")  # floats included, on purpose


class ExactJSONResponse(Response):
    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        return dumps(content).encode("utf-8")


class ExactRoute(APIRoute):
    """Routes whose dict answers are written by `dumps`: FastAPI's own encoder would turn a
    Decimal into a string (response models) or a float (jsonable_encoder)."""

    def __init__(self, path: str, endpoint: Callable[..., Any], **kwargs: Any) -> None:
        @functools.wraps(endpoint)
        def exact(*args: Any, **kw: Any) -> Any:
            answer = endpoint(*args, **kw)
            return answer if isinstance(answer, Response) else ExactJSONResponse(answer)

        kwargs["response_model"] = None
        super().__init__(path, exact, **kwargs)
