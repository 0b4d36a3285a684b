"""Account balances and expenditure quota (group 1 of the map)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from fastapi import APIRouter, Request

from ....customers import service as customers
from ....customers.model import Customer, PaymentMode
from ..jsonnum import ExactRoute
from .common import MONEY_MEASURE_ID, Caller, amount, read

router = APIRouter(route_class=ExactRoute)
CASH_ACCOUNT, CREDIT_ACCOUNT = 1, 2  # Huawei account types: 1 balance, 2 credit


@router.get("/v2/accounts/customer-accounts/balances")
def show_customer_account_balances(request: Request, customer: Customer = Caller) -> dict[str, Any]:
    figures = read(request, lambda conn, now: customers.overview(conn, customer, now))
    cur = customer.currency
    balances = [
        {
            "account_id": f"{customer.id}-cash",
            "account_type": CASH_ACCOUNT,
            "amount": amount(figures.cash_balance_units, cur),
            "currency": cur,
            "designated_amount": amount(0, cur),
            "measure_id": MONEY_MEASURE_ID,
        }
    ]
    if customer.payment_mode is PaymentMode.POSTPAID:
        # Huawei: for the credit account `amount` is the total credit limit, not what is left.
        balances.append(
            {
                "account_id": f"{customer.id}-credit",
                "account_type": CREDIT_ACCOUNT,
                "amount": amount(figures.credit_limit_units, cur),
                "currency": cur,
                "designated_amount": amount(0, cur),
                "credit_amount": amount(figures.credit_limit_units, cur),
                "measure_id": MONEY_MEASURE_ID,
            }
        )
    return {
        "account_balances": balances,
        "debt_amount": amount(figures.debt_units, cur),
        "measure_id": MONEY_MEASURE_ID,
        "currency": cur,
    }


@router.get("/v2/accounts/customer-accounts/expenditure-quota")
def show_customer_expenditure_quota(
    request: Request, customer: Customer = Caller
) -> dict[str, Any]:
    """cloudbill grants no separate monthly quota: the quota is what the customer can still
    spend (cash + available credit + usable coupons), and none of it counts as used."""
    figures = read(request, lambda conn, now: customers.overview(conn, customer, now))
    cur = customer.currency
    return {
        "granting_amount": amount(figures.expenditure_quota_units, cur),
        "granting_amount_used": amount(0, cur),
        "percentage_granting_amount_used": Decimal(0),
        "measure_id": MONEY_MEASURE_ID,
        "currency": cur,
    }
