"""Yearly/monthly resources: query, renew, auto-renew, unsubscribe, to pay-per-use and the
renew configuration (group 3 of docs/bss-api-map.md)."""

from __future__ import annotations

from fastapi import APIRouter

from ..jsonnum import ExactRoute

router = APIRouter(route_class=ExactRoute)
