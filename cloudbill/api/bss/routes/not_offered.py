"""The SDK's operations cloudbill does not offer to a customer's key, each refused by name after
the signature is checked: 403 CBC.0151 (access denied), the answer Huawei gives a customer who
calls a partner's operation, with a message saying where cloudbill does the same thing.

- Partner (reseller) operations: in cloudbill the provider's operator runs its customers through
  the operator API and CLI, never through a customer's BSS key.
- Real-name authentication and SMS verification codes: identity checks belong to the provider's
  account system, not to the billing center.

Without these routes the SDK's calls would answer "no such BSS operation" (404), which reads as a
wrong endpoint rather than as an operation that exists and is not for this caller."""

from __future__ import annotations

from typing import NoReturn

from fastapi import APIRouter

from ..errors import ACCESS_DENIED, BssError

router = APIRouter()

PARTNER = (
    "is a partner's (reseller's) operation: a customer's key cannot call it; in cloudbill the "
    "provider's operator does this with the operator API or CLI"
)
IDENTITY = (
    "is an identity check of the provider's account system, not of the billing center: "
    "cloudbill does not offer it"
)

# (method, Huawei's path, the SDK's operation, why it is refused)
NOT_OFFERED: tuple[tuple[str, str, str, str], ...] = (
    ("POST", "/v2/partners/sub-customers", "CreateSubCustomer", PARTNER),
    ("POST", "/v2/partners/sub-customers/query", "ListSubCustomers", PARTNER),
    ("POST", "/v2/partners/sub-customers/users/check-identity", "CheckUserIdentity", PARTNER),
    ("POST", "/v2/partners/sub-customers/freeze", "FreezeSubCustomers", PARTNER),
    ("POST", "/v2/partners/sub-customers/unfreeze", "UnfreezeSubCustomers", PARTNER),
    (
        "POST",
        "/v2/partners/sub-customers/on-demand-resources/query",
        "ListCustomerOnDemandResources",
        PARTNER,
    ),
    ("POST", "/v2/partners/sub-customers/budget/query", "ListSubCustomerBudget", PARTNER),
    ("GET", "/v2/partners/sub-customers/budget", "ShowSubCustomerBudget", PARTNER),
    ("POST", "/v2/partners/sub-customers/budget", "UpdateSubCustomerBudget", PARTNER),
    ("GET", "/v2/partners/sub-customers/budget/records", "ListSubCustomerBudgetRecords", PARTNER),
    ("POST", "/v2/partners/indirect-partners/query", "ListIndirectPartners", PARTNER),
    ("GET", "/v2/partners/credit/consumption-quota", "ShowPartnerConsumptionQuota", PARTNER),
    ("GET", "/v2/bills/partner-bills/postpaid-bill-summary", "ListPostpaidBillSum", PARTNER),
    (
        "POST",
        "/v2/customers/realname-auths/individual",
        "CreatePersonalRealnameAuth",
        IDENTITY,
    ),
    (
        "POST",
        "/v2/customers/realname-auths/enterprise",
        "CreateEnterpriseRealnameAuthentication",
        IDENTITY,
    ),
    (
        "PUT",
        "/v2/customers/realname-auths/enterprise",
        "ChangeEnterpriseRealnameAuthentication",
        IDENTITY,
    ),
    (
        "GET",
        "/v2/customers/realname-auths/result",
        "ShowRealnameAuthenticationReviewResult",
        IDENTITY,
    ),
    ("POST", "/v2/bases/verificationcode/send", "SendVerificationMessageCode", IDENTITY),
)


def _refusal(operation: str, why: str):  # type: ignore[no-untyped-def]
    def refuse() -> NoReturn:
        raise BssError(403, ACCESS_DENIED, f"{operation} {why}")

    refuse.__name__ = f"not_offered_{operation}"
    return refuse


for _method, _path, _operation, _why in NOT_OFFERED:
    router.add_api_route(_path, _refusal(_operation, _why), methods=[_method], response_model=None)
