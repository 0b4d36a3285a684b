"""Words the pages show from data (statuses, roles, modes, types), listed here so that the
gettext catalogue carries them: templates translate them as `_(value)` at run time."""

from __future__ import annotations

from .i18n import N_

WORDS = (
    # resource and customer statuses
    N_("normal"), N_("grace"), N_("frozen"), N_("released"), N_("active"), N_("in arrears"),
    # users
    N_("admin"), N_("viewer"), N_("invited"), N_("disabled"),
    # payment and billing modes
    N_("prepaid"), N_("postpaid"), N_("pay per use"), N_("yearly monthly"),
    N_("pay_per_use"), N_("yearly_monthly"),
    # orders
    N_("new"), N_("renewal"), N_("change"), N_("unsubscription"), N_("conversion"),
    N_("pending payment"), N_("paid"), N_("cancelled"), N_("expired"), N_("refunded"),
    N_("month"), N_("year"), N_("day"),
    # expiry policies
    N_("grace then release"), N_("to pay per use"), N_("release"),
    # bill types and fee granularity
    N_("usage"), N_("new purchase"), N_("auto renewal"), N_("upgrade"),
    N_("downgrade refund"), N_("unsubscription refund"), N_("unsubscription fee"),
    N_("compensation"), N_("deduction"), N_("hour"), N_("resource"),
    # cost analysis: cost types and the dimensions costs are grouped by
    N_("original"), N_("amortized"), N_("service"), N_("resource type"), N_("region"),
    N_("billing mode"), N_("usage type"), N_("bill type"), N_("spec"), N_("account"),
    # coupons, notices, history
    N_("used up"), N_("revoked"), N_("sent"), N_("pending"), N_("dead"), N_("skipped"),
    N_("email"), N_("sms"), N_("cash"), N_("debt"), N_("credit"), N_("coupon"),
    N_("topup"), N_("withdrawal"), N_("adjustment"), N_("settlement"), N_("order payment"),
    # enterprise accounts: accounting modes, association statuses, allocation directions
    N_("unified"), N_("independent"), N_("declined"), N_("ended"), N_("allocate"), N_("recall"),
    N_("transfer"),  # a balance history line: an allocation or recall
    # invoices
    N_("personal"), N_("enterprise"), N_("order"), N_("cycle"), N_("pending review"),
    N_("issuing"), N_("issued"), N_("rejected"), N_("return pending"), N_("returned"),
    N_("Invoices"),
    # tabs, choices and buttons the templates list as data
    N_("Manual renewal"), N_("Auto-renew"), N_("To pay-per-use at expiry"),
    N_("Release at expiry"), N_("Expiring"), N_("Expired"), N_("Frozen"), N_("All"),
    N_("Available"), N_("Used up"), N_("Dead"), N_("Waiting"), N_("Skipped"), N_("Sent"),
    N_("Credit (compensation)"), N_("Charge (deduction)"), N_("Service"), N_("Billing mode"),
    N_("Bill type"), N_("Disable"), N_("Enable"), N_("Delete"), N_("Make viewer"),
    N_("Make admin"), N_("all"), N_("in arrears"), N_("frozen"), N_("postpaid"), N_("simulated"),
    N_("system"),
    # page titles
    N_("Overview"), N_("Unpaid Orders"), N_("Orders"), N_("Renewals"), N_("Bills"),
    N_("Bill overview"), N_("Fee records"), N_("Unpaid bills"), N_("Resources"),
    N_("Resource Packages"),
    N_("Cash Coupons"), N_("Balance History"), N_("Notifications"), N_("Access Keys"),
    N_("Users"), N_("Sign in"), N_("Accept the invitation"), N_("Refused"), N_("Withdraw"),
    N_("Top up"), N_("Repayment"), N_("Customers"), N_("Status"), N_("Settlements"),
    N_("Set aside"), N_("Webhooks and notices"), N_("Catalog"), N_("Clock"), N_("Audit trail"),
)  # fmt: skip
