"""Operator routes: the shared clock (simulated mode replays days in seconds)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from fastapi import APIRouter, Depends

from ...bootstrap import Container
from ...store import clock_repo
from ...views import instant
from ..deps import container, require_operator
from .schemas import ClockAdvance, ClockSimulate

router = APIRouter(tags=["clock"], dependencies=[Depends(require_operator)])


def clock_view(mode: str, now) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    return {"mode": mode, "now": instant(now)}


@router.get("/clock")
def show(c: Container = Depends(container)) -> dict[str, Any]:
    return c.read(lambda conn, _now: clock_view(*clock_repo.read_clock(conn)))


@router.post("/clock/advance")
def advance(body: ClockAdvance, c: Container = Depends(container)) -> dict[str, Any]:
    delta = timedelta(days=body.days, hours=body.hours, minutes=body.minutes, seconds=body.seconds)
    now = c.write(lambda conn, _now: clock_repo.advance(conn, delta))
    return clock_view(clock_repo.SIMULATED, now)


@router.post("/clock/simulate")
def simulate(body: ClockSimulate, c: Container = Depends(container)) -> dict[str, Any]:
    now = c.write(lambda conn, _now: clock_repo.set_simulated(conn, body.at))
    return clock_view(clock_repo.SIMULATED, now)
