"""Files sent with an email notice, made when it is sent (never stored with the notice): a
later stage registers, per notice kind, how to make them from the notice's data (invoices: the
issued document's PDF). Registered once by bootstrap."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection


@dataclass(frozen=True, slots=True)
class Attachment:
    filename: str
    content: bytes
    mime_type: str  # e.g. application/pdf


Provider = Callable[[Connection, dict[str, Any]], list[Attachment]]
_providers: dict[str, Provider] = {}


def register(kind: str, provider: Provider) -> None:
    _providers[kind] = provider


def for_notice(conn: Connection, kind: str, data: dict[str, Any]) -> list[Attachment]:
    provider = _providers.get(kind)
    return provider(conn, data) if provider is not None else []
