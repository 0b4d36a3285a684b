"""Notice templates: Jinja2 in a sandbox, StrictUndefined (a misspelt variable is an error,
not an empty string), no autoescape (the output is plain text). Each kind has an email subject,
an email body and an SMS text; a file of the same name in `notice_templates_dir` replaces the
default shipped in `default_templates/`."""

from __future__ import annotations

import traceback
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from jinja2 import ChoiceLoader, FileSystemLoader, StrictUndefined
from jinja2.sandbox import SandboxedEnvironment

from ...kernel.errors import CloudbillError, ErrorCode
from .rules import EMAIL, KINDS

DEFAULT_DIR = Path(__file__).parent / "default_templates"
PARTS = ("subject", "email", "sms")
SUBJECT_MAX_CHARS = 512


class TemplateFailure(Exception):
    """A template could not be rendered: its name and the reason, one line."""


@dataclass(frozen=True, slots=True)
class Rendered:
    subject: str | None
    body: str


def environment(override_dir: str | None) -> SandboxedEnvironment:
    """Jinja reloads a template whose file changed, but not one that a newly added (or removed)
    override now hides: the cache is keyed by the directory's listing too."""
    listing: tuple[tuple[str, int], ...] = ()
    if override_dir and Path(override_dir).is_dir():
        listing = tuple(
            sorted((p.name, p.stat().st_mtime_ns) for p in Path(override_dir).glob("*.j2"))
        )
    return _environment(override_dir, listing)


@lru_cache(maxsize=8)
def _environment(override_dir: str | None, _listing: object) -> SandboxedEnvironment:
    dirs = [override_dir] if override_dir else []
    return SandboxedEnvironment(
        loader=ChoiceLoader([FileSystemLoader(d) for d in [*dirs, str(DEFAULT_DIR)]]),
        undefined=StrictUndefined,
        autoescape=False,
        keep_trailing_newline=False,
        auto_reload=True,
    )


def file_name(kind: str, part: str) -> str:
    return f"{kind}.{part}.j2"


def _template_line(exc: BaseException, name: str) -> int | None:
    """Where a runtime error happened: Jinja puts the template's own lines in the traceback."""
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if f.filename.endswith(name)]
    return frames[-1].lineno if frames else None


def _render_one(env: SandboxedEnvironment, name: str, context: dict[str, Any]) -> str:
    try:
        return env.get_template(name).render(context)
    except Exception as exc:  # a template is outside code: any failure is reported, not raised
        line = getattr(exc, "lineno", None) or _template_line(exc, name)
        where = f" line {line}" if line else ""
        message = " ".join(str(exc).split()) or type(exc).__name__
        raise TemplateFailure(f"template {name}{where}: {message}"[:1000]) from None


def render(
    kind: str, channel: str, context: dict[str, Any], *, override_dir: str | None
) -> Rendered:
    env = environment(override_dir)
    if channel == EMAIL:
        subject = " ".join(_render_one(env, file_name(kind, "subject"), context).split())
        if not subject:
            raise TemplateFailure(f"template {file_name(kind, 'subject')}: the subject is empty")
        body = _render_one(env, file_name(kind, "email"), context).strip() + "\n"
        return Rendered(subject[:SUBJECT_MAX_CHARS], body)
    return Rendered(None, " ".join(_render_one(env, file_name(kind, "sms"), context).split()))


def overrides(override_dir: str | None) -> list[dict[str, Any]]:
    """Every template file and whether the operator's directory replaces it."""
    files = sorted(p.name for p in DEFAULT_DIR.glob("*.j2"))
    here = Path(override_dir) if override_dir else None
    return [
        {"template": name, "overridden": bool(here and (here / name).is_file())} for name in files
    ]


def preview(kind: str, *, override_dir: str | None) -> dict[str, str | None]:
    """The three texts of `kind` rendered with sample data (what an operator checks after
    editing a template). A broken template raises TEMPLATE_INVALID."""
    if kind not in KINDS:
        raise CloudbillError(
            ErrorCode.INVALID_ARGUMENT, f"unknown notice kind {kind!r}; one of {', '.join(KINDS)}"
        )
    context = sample_context(kind)
    try:
        email = render(kind, EMAIL, context, override_dir=override_dir)
        sms = render(kind, "sms", context, override_dir=override_dir)
    except TemplateFailure as exc:
        raise CloudbillError(ErrorCode.TEMPLATE_INVALID, str(exc)) from None
    return {"subject": email.subject, "email": email.body, "sms": sms.body}


SAMPLE_CUSTOMER = {
    "id": "c-sample",
    "name": "Example Ltd",
    "email": "billing@example.com",
    "mobile": "+15550100",
    "currency": "USD",
    "timezone": "Asia/Shanghai",
}
SAMPLE_RESOURCES = [
    {"id": "css-1", "name": "search-cluster", "service": "css"},
    {"id": "eip-1", "name": "search-eip", "service": "eip"},
]
SAMPLE_AT = "2026-03-17 09:00 Asia/Shanghai"
SAMPLES: dict[str, dict[str, Any]] = {
    "arrears_started": {
        "debt": "12.34 USD",
        "since": SAMPLE_AT,
        "reason": "the balance could not pay the charges",
    },
    "grace_reminder": {"resources": SAMPLE_RESOURCES, "deadline": SAMPLE_AT, "days_left": 3},
    "frozen": {"resources": SAMPLE_RESOURCES, "at": SAMPLE_AT},
    "release_reminder": {"resources": SAMPLE_RESOURCES, "deadline": SAMPLE_AT, "days_left": 1},
    "released": {"resources": SAMPLE_RESOURCES, "at": SAMPLE_AT},
    "arrears_cleared": {"at": SAMPLE_AT},
    "topup_received": {
        "amount": "100.00 USD",
        "reference": "bank-2026-0317",
        "debt_written_off": "12.34 USD",
        "unpaid_repaid": "0.00 USD",
        "wrote_off_debt": True,
        "repaid_unpaid": False,
        "at": SAMPLE_AT,
    },
    "balance_alert": {"expenditure_quota": "8.20 USD", "threshold": "10.00 USD", "at": SAMPLE_AT},
    "balance_alert_reminder": {
        "expenditure_quota": "7.95 USD",
        "threshold": "10.00 USD",
        "at": SAMPLE_AT,
    },
    "postpaid_bill_issued": {
        "bill_id": "17",
        "amount": "432.10 USD",
        "period": "2026-02-03 to 2026-03-02",
        "due_at": SAMPLE_AT,
    },
    "subscription_expiring": {
        "resource_id": "r-web-1",
        "resource_name": "web-1",
        "expire_at": SAMPLE_AT,
        "days": 7,
        "auto_renew": False,
    },
    "auto_renew_failed": {
        "resource_id": "r-web-1",
        "resource_name": "web-1",
        "expire_at": SAMPLE_AT,
        "reason": "the balance cannot pay the renewal (11.60 USD)",
        "at": SAMPLE_AT,
    },
    "bill_storage_disabled": {
        "reason": "the bucket failed 3 days in a row (access_denied: AccessDenied)",
        "at": SAMPLE_AT,
    },
    "subscription_expired": {"resources": SAMPLE_RESOURCES, "at": SAMPLE_AT},
    "enterprise_association": {
        "change": "invited",
        "role": "member",
        "mode": "unified",
        "master_id": "c-master",
        "member_id": "c-member",
        "association_id": "a-sample",
        "what": "customer c-master invited you to be its member account",
        "headline": "invited (member)",
        "at": SAMPLE_AT,
    },
    "member_budget_exceeded": {
        "role": "master",
        "member_id": "c-member",
        "member_name": "team-a",
        "month": "2026-03",
        "budget": "500.00 USD",
        "spent": "512.40 USD",
        "at": SAMPLE_AT,
    },
    "invoice_issued": {
        "document_kind": "invoice",
        "invoice_id": "i-sample",
        "number": "INV-00000017",
        "total": "106.00 USD",
        "tax": "6.00 USD",
        "issued_at": SAMPLE_AT,
    },
    "subscription_frozen": {"resources": SAMPLE_RESOURCES, "at": SAMPLE_AT},
    "subscription_released": {"resources": SAMPLE_RESOURCES, "at": SAMPLE_AT},
}


def sample_context(kind: str) -> dict[str, Any]:
    return {"kind": kind, "customer": SAMPLE_CUSTOMER, **SAMPLES[kind]}
