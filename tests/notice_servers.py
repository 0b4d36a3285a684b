"""Real servers on loopback for customer notices: an SMTP server (aiosmtpd) that keeps the
messages it is given, and an HTTP SMS gateway that keeps the JSON it is posted."""

from __future__ import annotations

import json
import socket
import threading
from email import message_from_bytes, policy
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from aiosmtpd.controller import Controller


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class SmtpSink:
    """Accepts every message (or answers a scripted SMTP error to the next ones)."""

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []
        self.script: list[str] = []  # e.g. "451 try again later"
        owner = self

        class Handler:
            async def handle_DATA(self, server, session, envelope):  # type: ignore[no-untyped-def]
                if owner.script:
                    return owner.script.pop(0)
                raw = envelope.original_content or envelope.content
                owner.messages.append(message_from_bytes(raw, policy=policy.default))
                return "250 Message accepted for delivery"

        self.port = free_port()
        self.controller = Controller(Handler(), hostname="127.0.0.1", port=self.port)
        self.controller.start()

    def close(self) -> None:
        self.controller.stop()

    def subjects(self) -> list[str]:
        return [str(m["Subject"]) for m in self.messages]

    def body(self, index: int) -> str:
        return self.messages[index].get_content()


class SmsGateway:
    """Answers from a script of status codes (204 when it runs out); records what it got."""

    def __init__(self) -> None:
        self.received: list[dict[str, Any]] = []
        self.headers: list[dict[str, str]] = []
        self.script: list[int] = []
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["content-length"]))
                code = owner.script.pop(0) if owner.script else 202
                if 200 <= code < 300:
                    owner.received.append(json.loads(body))
                    owner.headers.append(dict(self.headers))
                self.send_response(code)
                self.end_headers()

            def log_message(self, *_args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/sms"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def texts(self) -> list[str]:
        return [r["message"] for r in self.received]


def configure(container, smtp: SmtpSink | None, sms: SmsGateway | None, **extra: object):  # type: ignore[no-untyped-def]
    """Point the container's settings at the servers (None: that channel unconfigured)."""
    update: dict[str, object] = {
        "smtp_host": "127.0.0.1" if smtp else None,
        "smtp_port": smtp.port if smtp else 587,
        "smtp_from": "billing@cloud.example" if smtp else None,
        "smtp_starttls": False,
        "smtp_timeout_s": 5,
        "sms_gateway_url": sms.url if sms else None,
        "sms_gateway_token": "gw-token" if sms else None,
        "notice_max_attempts": 3,
        "notice_backoff_s": 60,
    }
    container.settings = container.settings.model_copy(update=update | extra)
    return container


@pytest.fixture
def smtp():  # type: ignore[no-untyped-def]
    sink = SmtpSink()
    yield sink
    sink.close()


@pytest.fixture
def sms():  # type: ignore[no-untyped-def]
    gateway = SmsGateway()
    yield gateway
    gateway.close()
