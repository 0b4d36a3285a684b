"""The two ways out: email over SMTP (smtplib) and SMS through an HTTP gateway. Each returns
None when the server accepted the message, else the error as one line."""

from __future__ import annotations

import smtplib
import ssl
from collections.abc import Sequence
from email.message import EmailMessage
from email.utils import formatdate

import httpx

from ...config import Settings
from .attachments import Attachment

ERROR_MAX_CHARS = 1000


def _line(exc: BaseException) -> str:
    return " ".join(f"{type(exc).__name__}: {exc}".split())[:ERROR_MAX_CHARS]


def message_id(notice_id: int, sender: str) -> str:
    """Stable per notice: a mail system that sees a resend can tell it is the same message."""
    domain = sender.rpartition("@")[2].strip("> ") or "cloudbill.invalid"
    return f"<notice-{notice_id}@{domain}>"


def send_email(
    settings: Settings,
    *,
    notice_id: int,
    to: str,
    subject: str,
    body: str,
    attachments: Sequence[Attachment] = (),
) -> str | None:
    assert settings.smtp_host and settings.smtp_from, "checked when the notice was made"
    msg = EmailMessage()
    msg["From"] = settings.smtp_from
    msg["To"] = to
    msg["Subject"] = subject
    msg["Date"] = formatdate(localtime=False)
    msg["Message-ID"] = message_id(notice_id, settings.smtp_from)
    msg.set_content(body)
    for a in attachments:
        maintype, _, subtype = a.mime_type.partition("/")
        msg.add_attachment(a.content, maintype=maintype, subtype=subtype, filename=a.filename)
    context = ssl.create_default_context()
    try:
        if settings.smtp_ssl:
            server: smtplib.SMTP = smtplib.SMTP_SSL(
                settings.smtp_host,
                settings.smtp_port,
                timeout=settings.smtp_timeout_s,
                context=context,
            )
        else:
            server = smtplib.SMTP(
                settings.smtp_host, settings.smtp_port, timeout=settings.smtp_timeout_s
            )
        with server:
            if settings.smtp_starttls and not settings.smtp_ssl:
                server.starttls(context=context)
            if settings.smtp_username:
                server.login(settings.smtp_username, settings.smtp_password or "")
            refused = server.send_message(msg)
        if refused:
            return f"recipient refused: {refused}"[:ERROR_MAX_CHARS]
    except (smtplib.SMTPException, OSError, ValueError) as exc:
        return _line(exc)
    return None


def send_sms(
    settings: Settings, client: httpx.Client, *, notice_id: int, to: str, message: str
) -> str | None:
    assert settings.sms_gateway_url, "checked when the notice was made"
    headers = {}
    if settings.sms_gateway_token:
        headers["Authorization"] = f"Bearer {settings.sms_gateway_token}"
    try:
        answer = client.post(
            settings.sms_gateway_url,
            json={"to": to, "message": message, "id": f"notice-{notice_id}"},
            headers=headers,
        )
    except httpx.HTTPError as exc:
        return _line(exc)
    if 200 <= answer.status_code < 300:
        return None
    said = " ".join(answer.text.split())
    return (
        f"HTTP {answer.status_code}: {said}"[:ERROR_MAX_CHARS]
        if said
        else f"HTTP {answer.status_code}"
    )
