"""Operator routes: proof that the books balance."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from fastapi import APIRouter, Depends

from ...bootstrap import Container
from ...ledger.verify import verify
from ..deps import container, require_operator

router = APIRouter(tags=["ledger"], dependencies=[Depends(require_operator)])


@router.get("/ledger/verify")
def verify_books(c: Container = Depends(container)) -> dict[str, Any]:
    report = c.read(lambda conn, _now: verify(conn))
    return {"ok": report.ok, **asdict(report)}
