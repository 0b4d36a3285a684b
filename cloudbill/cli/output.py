"""CLI output: Rich tables for people, `--json` for scripts, one readable line for errors."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any, NoReturn

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from ..kernel.errors import CloudbillError

# Piped output has no terminal width to go by: use a wide one rather than Rich's 80 columns,
# so tables of 32-character ids stay readable (scripts should use --json anyway).
console = Console(width=None if sys.stdout.isatty() else 160)
err_console = Console(stderr=True, width=None if sys.stderr.isatty() else 1000)

JsonOption = typer.Option(False, "--json", help="print JSON instead of a table")


def fail(message: str, code: int = 2) -> NoReturn:
    # Data from outside (names, messages) is never read as Rich markup.
    err_console.print(f"[red]error:[/red] {escape(message)}", highlight=False, soft_wrap=True)
    raise typer.Exit(code)


@contextmanager
def errors_as_lines() -> Iterator[None]:
    """Expected failures become one line and exit status 2; nothing else is printed."""
    try:
        yield
    except CloudbillError as exc:
        fail(f"{exc.code}: {exc.message}")


def emit_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, indent=2, default=str) + "\n")


def show_record(data: dict[str, Any], *, as_json: bool, title: str | None = None) -> None:
    if as_json:
        emit_json(data)
        return
    table = Table(show_header=False, title=_text(title), box=None, pad_edge=False)
    table.add_column(style="bold cyan")
    table.add_column()
    for key, value in data.items():
        if isinstance(value, dict):
            for sub_key, sub_value in value.items():
                table.add_row(Text(f"{key}.{sub_key}"), _cell(sub_value))
        elif isinstance(value, list):
            table.add_row(Text(key), Text(f"{len(value)} item(s)"))
        else:
            table.add_row(Text(key), _cell(value))
    console.print(table)


def show_rows(
    rows: Sequence[dict[str, Any]],
    columns: Sequence[str],
    *,
    as_json: bool,
    total: int | None = None,
    title: str | None = None,
    payload: Callable[[], Any] | None = None,
) -> None:
    if as_json:
        emit_json(payload() if payload else {"total": total, "items": list(rows)})
        return
    table = Table(title=_text(title))
    for column in columns:
        name = column.rsplit(".", 1)[-1]
        # ids are copied and pasted: never wrap them.
        table.add_column(name, overflow="fold", no_wrap=name == "id" or name.endswith("_id"))
    for row in rows:
        table.add_row(*(_cell(_dig(row, column)) for column in columns))
    console.print(table)
    if total is not None and total > len(rows):
        console.print(f"{len(rows)} of {total} shown; use --limit/--offset for more")


def _dig(row: dict[str, Any], path: str) -> Any:
    value: Any = row
    for part in path.split("."):
        value = value.get(part) if isinstance(value, dict) else None
    return value


def _text(value: str | None) -> Text | None:
    return None if value is None else Text(value)


def _cell(value: Any) -> Text:
    """Plain text, never markup: a customer named "[bold]x" is shown as typed."""
    if value is None:
        return Text("-")
    if isinstance(value, bool):
        return Text("yes" if value else "no")
    return Text(str(value))
