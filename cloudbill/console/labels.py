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
    # coupons, notices, history
    N_("used up"), N_("revoked"), N_("sent"), N_("pending"), N_("dead"), N_("skipped"),
    N_("email"), N_("sms"), N_("cash"), N_("debt"), N_("credit"), N_("coupon"),
    N_("topup"), N_("withdrawal"), N_("adjustment"), N_("settlement"), N_("order payment"),
)  # fmt: skip
