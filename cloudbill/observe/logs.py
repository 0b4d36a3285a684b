"""Structured logs: one event per line, readable `key=value` text by default, JSON lines with
CLOUDBILL_LOG_FORMAT=json. The standard library's loggers (uvicorn, alembic) go through the
same renderer, so a line looks the same whoever wrote it. A request id bound with
`bind_request(...)` is on every line logged while that request is served (contextvars)."""

from __future__ import annotations

import logging
import sys
from typing import Any

import structlog

FORMATS = ("text", "json")
LEVELS = ("debug", "info", "warning", "error")

_shared: list[Any] = [
    structlog.contextvars.merge_contextvars,
    structlog.stdlib.add_log_level,
    structlog.stdlib.add_logger_name,
    structlog.processors.TimeStamper(fmt="iso", utc=True),
]


def _drop_color(_logger: Any, _name: str, event: dict[str, Any]) -> dict[str, Any]:
    """uvicorn adds a terminal-coloured copy of its message: noise in a log line."""
    event.pop("color_message", None)
    return event


def configure(level: str = "info", fmt: str = "text", stream: Any = None) -> None:
    """Set up structlog and the standard library's root logger (idempotent: the last call
    wins, so the CLI and `serve` can configure from the settings they read)."""
    renderer: Any = (
        structlog.processors.JSONRenderer(sort_keys=False)
        if fmt == "json"
        # plain tracebacks: a rich one prints every frame's local variables (secrets among them)
        else structlog.dev.ConsoleRenderer(
            colors=False, pad_event_to=0, exception_formatter=structlog.dev.plain_traceback
        )
    )
    structlog.configure(
        processors=[
            *_shared,
            structlog.processors.StackInfoRenderer(),
            structlog.processors.format_exc_info,
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=False,
    )
    handler = logging.StreamHandler(stream) if stream is not None else _Stderr()
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            processors=[
                structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                structlog.processors.format_exc_info,
                renderer,
            ],
            foreign_pre_chain=[*_shared, structlog.stdlib.ExtraAdder(), _drop_color],
        )
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logging.getLogger(name).handlers[:] = []  # to the root handler: one format
        logging.getLogger(name).propagate = True
    logging.getLogger("uvicorn.access").disabled = True  # cloudbill logs each request itself
    for name in ("httpx", "httpcore"):  # one line per webhook or SMS, with its URL: too much
        logging.getLogger(name).setLevel(max(logging.WARNING, root.level))


class _Stderr(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to whatever `sys.stderr` is when a line is logged (a test runner swaps it)."""

    def __init__(self) -> None:
        super().__init__()

    @property  # type: ignore[override]
    def stream(self) -> Any:
        return sys.stderr

    @stream.setter
    def stream(self, _value: Any) -> None:
        pass


def get(name: str) -> Any:
    return structlog.stdlib.get_logger(name)


def bind_request(request_id: str) -> None:
    structlog.contextvars.clear_contextvars()
    structlog.contextvars.bind_contextvars(request_id=request_id)


def request_id() -> str | None:
    """The id of the request being served (bound by bind_request), if any."""
    value = structlog.contextvars.get_contextvars().get("request_id")
    return value if isinstance(value, str) else None


def unbind_request() -> None:
    structlog.contextvars.clear_contextvars()
