"""Operator routes: usage records in (the provider's metering posts here).

A batch is parsed once (kernel/json_text.py) and, in its common shape, handed to ingestion as
plain values, which checks it as columns (ingest/columns.py): no model object per record. Any other
body takes FastAPI's own validation of `UsageBatch`, so every answer, refusals included, is
the one the declared model gives (tests/integration/test_api_usage_fast.py compares them).
"""

from __future__ import annotations

import email.message
import json
import re
from datetime import datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.dependencies.utils import get_dependant, request_body_to_args
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ConfigDict, Field
from pydantic_core import PydanticUndefined

from ...bootstrap import Container
from ...ingest import service
from ...ingest.model import UsageInput
from ...ingest.stream import FIELDS
from ...ingest.stream import REQUIRED_SET as REQUIRED
from ...kernel import json_text
from ...kernel.limits import USAGE_BATCH_MAX
from ..deps import container, require_operator
from .schemas import Amount

router = APIRouter(tags=["usage"])


class UsageRecordIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    record_id: str = Field(max_length=128, description="unique id: replays are deduplicated by it")
    resource_id: str = Field(max_length=128)
    usage_type: str = Field(max_length=64, examples=["duration"])
    quantity: Amount
    unit: str | None = Field(None, max_length=32, description="default: the pricing unit")
    start: datetime = Field(description="start of the metered interval (inclusive)")
    end: datetime = Field(description="end of the metered interval (exclusive)")


class UsageBatch(BaseModel):
    model_config = ConfigDict(extra="forbid")

    records: Annotated[list[UsageRecordIn], Field(min_length=1, max_length=USAGE_BATCH_MAX)]


def _declared(body: UsageBatch) -> None:
    """Never called: FastAPI's body field for `UsageBatch`, to validate with."""


_BODY_FIELDS = get_dependant(path="/usage-records", call=_declared).body_params


def _inline(schema: dict[str, Any]) -> dict[str, Any]:
    """The model's JSON schema with its $defs in place (the docs' request body)."""
    defs = schema.pop("$defs", {})

    def walk(node: Any) -> Any:
        if isinstance(node, dict):
            ref = node.get("$ref", "")
            if ref.startswith("#/$defs/"):
                return walk(defs[ref.rsplit("/", 1)[1]])
            return {k: walk(v) for k, v in node.items()}
        if isinstance(node, list):
            return [walk(v) for v in node]
        return node

    return walk(schema)  # type: ignore[no-any-return]


_OPENAPI = {
    "requestBody": {
        "required": True,
        "content": {"application/json": {"schema": _inline(UsageBatch.model_json_schema())}},
    }
}


async def json_body(request: Request) -> Any:
    """The body decoded as FastAPI decodes a declared JSON body (same content types, same
    refusal of bad JSON, raised before authentication as FastAPI does), with orjson where it
    gives json's values (kernel/json_text.py)."""
    raw = await request.body()
    if not raw:
        return PydanticUndefined
    content_type = request.headers.get("content-type")
    if not content_type:
        return raw  # FastAPI's strict content type: not decoded
    message = email.message.Message()
    message["content-type"] = content_type
    subtype = message.get_content_subtype()
    if message.get_content_maintype() != "application" or not (
        subtype == "json" or subtype.endswith("+json")
    ):
        return raw
    try:
        return json_text.loads(raw)  # orjson where it reads what json reads
    except json.JSONDecodeError as exc:
        raise RequestValidationError(
            [{"type": "json_invalid", "loc": ("body", exc.pos), "msg": "JSON decode error",
              "input": {}, "ctx": {"error": exc.msg}}],
            body=exc.doc,
        ) from exc  # fmt: skip
    except Exception as exc:  # not UTF-8, and the like: FastAPI's answer to them
        raise HTTPException(status_code=400, detail="There was an error parsing the body") from exc


TEXT_MAX = {"record_id": 128, "resource_id": 128, "usage_type": 64}
# Instants the model and the ingestion rules read alike (pydantic, fromisoformat, Arrow);
# a day past its month's end is left to the model.
INSTANT = re.compile(
    r"(19|2[0-9])[0-9]{2}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])[T ]([01][0-9]|2[0-3]):"
    r"[0-5][0-9]:[0-5][0-9](\.[0-9]{1,6})?(Z|[+-](0[0-9]|1[0-9]|2[0-3]):[0-5][0-9])?"
)
DAYS = (31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)


def _instant_ok(value: object) -> bool:
    if type(value) is not str or not INSTANT.fullmatch(value):
        return False
    year, month, day = int(value[:4]), int(value[5:7]), int(value[8:10])
    leap = year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)
    return day <= DAYS[month - 1] and (month != 2 or day <= 28 or leap)


def plain_records(body: Any) -> list[UsageInput] | None:
    """The records of a body `UsageBatch` accepts as it is, or None (the model decides)."""
    if type(body) is not dict or body.keys() != {"records"}:
        return None
    items = body["records"]
    if type(items) is not list or not 1 <= len(items) <= USAGE_BATCH_MAX:
        return None
    out = []
    for item in items:
        if type(item) is not dict or not REQUIRED <= item.keys() <= FIELDS:
            return None
        for name, longest in TEXT_MAX.items():
            value = item[name]
            if type(value) is not str or len(value) > longest:
                return None
        unit = item.get("unit")
        if unit is not None and (type(unit) is not str or len(unit) > 32):
            return None
        if not (_instant_ok(item["start"]) and _instant_ok(item["end"])):
            return None
        out.append(
            UsageInput(item["record_id"], item["resource_id"], item["usage_type"],
                       item["quantity"], item["start"], item["end"], unit)
        )  # fmt: skip
    return out


@router.post(
    "/usage-records",
    dependencies=[Depends(json_body), Depends(require_operator)],
    openapi_extra=_OPENAPI,
)
async def ingest(
    body: Any = Depends(json_body), c: Container = Depends(container)
) -> dict[str, Any]:
    """Store a batch of usage records, all or nothing; each rejected record is listed with why."""
    records = plain_records(body)
    if records is None:
        values, errors = await request_body_to_args(_BODY_FIELDS, body, embed_body_fields=False)
        if errors:
            raise RequestValidationError(errors, body=body)
        records = [UsageInput(**r.model_dump()) for r in values["body"].records]
    horizon = timedelta(days=c.settings.usage_horizon_days)
    result = await run_in_threadpool(
        c.write, lambda conn, now: service.ingest_batch(conn, records, now=now, horizon=horizon)
    )
    return result.as_dict()
