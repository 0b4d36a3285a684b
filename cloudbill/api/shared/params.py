"""Query parameters several routes share."""

from __future__ import annotations

from fastapi import Query

from ...kernel.limits import OFFSET_MAX, PAGE_SIZE_DEFAULT, PAGE_SIZE_MAX

MONTH_DOC = "calendar month in the customer's time zone, YYYY-MM"
AT_DOC = "ISO 8601; figures for the period containing it"

Limit = Query(PAGE_SIZE_DEFAULT, ge=1, le=PAGE_SIZE_MAX)
Offset = Query(0, ge=0, le=OFFSET_MAX)
