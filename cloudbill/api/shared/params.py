"""Query parameters several routes share."""

from __future__ import annotations

from fastapi import Path, Query

from ...kernel.limits import INT64_MAX, OFFSET_MAX, PAGE_SIZE_DEFAULT, PAGE_SIZE_MAX

MONTH_DOC = "calendar month in the customer's time zone, YYYY-MM"
AT_DOC = "ISO 8601; figures for the period containing it"

Limit = Query(PAGE_SIZE_DEFAULT, ge=1, le=PAGE_SIZE_MAX)
Offset = Query(0, ge=0, le=OFFSET_MAX)
# A numeric id in a path: what a database key can hold (past it: 400, never a server error).
# FastAPI binds a parameter object to the first name it is declared under: use RowId for
# `notice_id` only, and a Path() of its own for any other name.
RowId = Path(ge=1, le=INT64_MAX)
