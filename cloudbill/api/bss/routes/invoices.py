"""Invoices (group 6)."""

from __future__ import annotations

from fastapi import APIRouter

from ..jsonnum import ExactRoute

router = APIRouter(route_class=ExactRoute)
