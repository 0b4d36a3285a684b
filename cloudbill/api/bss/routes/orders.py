"""Customer orders, order discounts and refund orders (group 2 of docs/bss-api-map.md)."""

from __future__ import annotations

from fastapi import APIRouter

from ..jsonnum import ExactRoute

router = APIRouter(route_class=ExactRoute)
