"""Customer routes: bill storage, your bill files pushed every day to your own S3-compatible
bucket (set up, verify, switch on and off, the pushes made)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request

from ...bootstrap import Container
from ..deps import container
from ..keyauth import KeyCaller
from ..shared import storage as shared
from ..shared.params import Limit
from ..shared.storage import StorageSettings
from .auth import caller

router = APIRouter(tags=["bill storage"])
ROOT = "/bill-storage"


@router.get(ROOT)
def show(me: KeyCaller = Depends(caller), c: Container = Depends(container)) -> dict[str, Any]:
    """Your bucket settings (never the secret key), whether storage is on, and the latest
    pushes. 404 BILL_STORAGE_NOT_SET_UP before the first set-up."""
    return shared.show(c, me.customer.id)


@router.put(ROOT)
def configure(
    body: StorageSettings,
    request: Request,
    me: KeyCaller = Depends(caller),
    c: Container = Depends(container),
) -> dict[str, Any]:
    """Save the bucket settings. New bucket settings switch storage off until verified."""
    return shared.configure(c, request, me.customer.id, body)


@router.post(ROOT + "/verify")
def verify(
    request: Request, me: KeyCaller = Depends(caller), c: Container = Depends(container)
) -> dict[str, Any]:
    """Write, read back and delete a test object: `ok`, or the step and problem that failed
    (bucket_not_found, access_denied, endpoint_unreachable, read_back_mismatch, other)."""
    return shared.verify(c, request, me.customer.id)


@router.post(ROOT + "/enable")
def enable(
    request: Request, me: KeyCaller = Depends(caller), c: Container = Depends(container)
) -> dict[str, Any]:
    """Switch storage on; the bucket is verified first (422 BILL_STORAGE_UNVERIFIED with
    `step` and `problem` when it fails, and storage stays off)."""
    return shared.enable(c, request, me.customer.id)


@router.post(ROOT + "/disable")
def disable(me: KeyCaller = Depends(caller), c: Container = Depends(container)) -> dict[str, Any]:
    return shared.disable(c, me.customer.id)


@router.get(ROOT + "/pushes")
def pushes(
    limit: int = Limit, me: KeyCaller = Depends(caller), c: Container = Depends(container)
) -> dict[str, Any]:
    """The daily pushes, newest first, each with its outcome."""
    return shared.pushes(c, me.customer.id, limit=limit)
