"""Operator routes: usage records in (the provider's metering posts here)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends
from pydantic import BaseModel, ConfigDict, Field

from ...bootstrap import Container
from ...ingest import service
from ...ingest.model import UsageInput
from ...kernel.limits import USAGE_BATCH_MAX
from ..deps import container, require_operator
from .schemas import Amount

router = APIRouter(tags=["usage"], dependencies=[Depends(require_operator)])


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


@router.post("/usage-records")
def ingest(body: UsageBatch, c: Container = Depends(container)) -> dict[str, Any]:
    """Store a batch of usage records, all or nothing; each rejected record is listed with why."""
    records = [UsageInput(**r.model_dump()) for r in body.records]
    horizon = timedelta(days=c.settings.usage_horizon_days)
    result = c.write(
        lambda conn, now: service.ingest_batch(conn, records, now=now, horizon=horizon)
    )
    return result.as_dict()
