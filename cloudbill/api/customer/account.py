"""Customer routes: profile, overview, balance history, post-paid bills, balance alert."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends

from ...bootstrap import Container
from ..deps import container
from ..keyauth import KeyCaller
from ..shared import accounts
from ..shared.accounts import BalanceAlertBody
from ..shared.dashboard import dashboard
from ..shared.params import Limit, Offset
from .auth import caller

router = APIRouter(tags=["account"])


@router.get("/account")
def profile(me: KeyCaller = Depends(caller), c: Container = Depends(container)) -> dict[str, Any]:
    """Who you are (name, currency, payment mode, level, time zone) with your overview."""
    return accounts.profile(c, me.customer.id)


@router.get("/account/overview")
def overview(me: KeyCaller = Depends(caller), c: Container = Depends(container)) -> dict[str, Any]:
    """Cash and withdrawable balance, debt, unpaid, credit, coupons, expenditure quota and
    since when you are in arrears."""
    return accounts.overview(c, me.customer.id)


@router.get("/account/dashboard")
def account_dashboard(
    me: KeyCaller = Depends(caller), c: Container = Depends(container)
) -> dict[str, Any]:
    """The Account Overview page's figures card by card: funds and the balance alert, unpaid
    bills, orders pending payment, cash coupons, bill storage, renewals (30 days, expired,
    frozen), the six months' expenditure trend, and in arrears the dates each resource will be
    frozen and released unless the debt is paid."""
    return dashboard(c, me.customer.id)


@router.get("/account/history")
def history(
    limit: int = Limit,
    offset: int = Offset,
    me: KeyCaller = Depends(caller),
    c: Container = Depends(container),
) -> dict[str, Any]:
    """Every movement of your balances, newest first."""
    return accounts.history(c, me.customer.id, limit=limit, offset=offset)


@router.get("/account/postpaid-bills")
def postpaid_bills(
    me: KeyCaller = Depends(caller), c: Container = Depends(container)
) -> dict[str, Any]:
    """Your post-paid monthly bills, oldest first, with what is still outstanding."""
    return accounts.postpaid_bills(c, me.customer.id)


@router.get("/account/balance-alert")
def show_alert(
    me: KeyCaller = Depends(caller), c: Container = Depends(container)
) -> dict[str, Any]:
    return accounts.show_alert(c, me.customer.id)


@router.put("/account/balance-alert")
def set_alert(
    body: BalanceAlertBody, me: KeyCaller = Depends(caller), c: Container = Depends(container)
) -> dict[str, Any]:
    """Switch the alert on or off and set the threshold your expenditure quota is watched by."""
    return accounts.set_alert(c, me.customer.id, body)
