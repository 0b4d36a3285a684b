"""CLI output: Rich tables for people, `--json` for scripts, one readable line for errors."""

from __future__ import annotations

import json
import os
import re
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any, NoReturn

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from rich.text import Text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from ..kernel.errors import CloudbillError
from ..store.busy import busy_error


def _width(stream_is_tty: bool, piped: int) -> int | None:
    """The terminal's width; piped output has none to go by: COLUMNS if set, else a wide one
    (scripts should use --json anyway)."""
    if stream_is_tty:
        return None
    columns = os.environ.get("COLUMNS", "")
    return int(columns) if columns.isdigit() and int(columns) >= 40 else piped


console = Console(width=_width(sys.stdout.isatty(), 160))
err_console = Console(stderr=True, width=_width(sys.stderr.isatty(), 1000))
NARROW = 120  # below this many columns, tables shorten ids (full ids: `show` or --json)
ID_SHORT = 10
NUMBER = re.compile(r"-?\d+(\.\d+)?")

JsonOption = typer.Option(False, "--json", help="print JSON instead of a table")


def fail(message: str, code: int = 2) -> NoReturn:
    # Data from outside (names, messages) is never read as Rich markup.
    err_console.print(f"[red]error:[/red] {escape(message)}", highlight=False, soft_wrap=True)
    raise typer.Exit(code)


@contextmanager
def errors_as_lines(
    on_error: Callable[[CloudbillError], None] | None = None,
) -> Iterator[None]:
    """Expected failures become one line and exit status 2; `on_error` may first print the
    error's details (the items it names) on stderr."""
    try:
        yield
    except CloudbillError as exc:
        if on_error is not None:
            on_error(exc)
        fail(f"{exc.code}: {exc.message}")
    except (DBAPIError, PoolTimeout) as exc:
        refusal = busy_error(exc)  # a busy database is one line too; any other failure is a fault
        if refusal is None:
            raise
        fail(f"{refusal.code}: {refusal.message}")


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
    stderr: bool = False,
) -> None:
    if as_json:
        emit_json(payload() if payload else {"total": total, "items": list(rows)})
        return
    out = err_console if stderr else console
    table = Table(title=_text(title))
    narrow = out.width < NARROW
    paths = [column.split("=", 1)[0] for column in columns]
    for column, path in zip(columns, paths, strict=True):
        # `path=label`: a short header for a long field name
        name = column.split("=", 1)[1] if "=" in column else path.rsplit(".", 1)[-1]
        values = [_dig(row, path) for row in rows]
        is_id = name == "id" or name.endswith("_id")
        numeric = bool(values) and all(
            v is None or (isinstance(v, str) and NUMBER.fullmatch(v)) for v in values
        )
        table.add_column(
            name.replace("_", " ") if narrow else name,  # a narrow header wraps at words
            justify="right" if numeric else "left",
            # ids are copied and pasted: never wrapped; on a narrow terminal shortened
            overflow="ellipsis" if is_id else "fold",
            no_wrap=is_id,
            max_width=ID_SHORT + 1 if is_id and narrow else None,
            # an amount is never broken over lines (its header may be)
            min_width=max((len(v) for v in values if v), default=1) if numeric else None,
        )
    for row in rows:
        table.add_row(*(_cell(_dig(row, path)) for path in paths))
    out.print(table)
    if total is not None and total > len(rows):
        out.print(f"{len(rows)} of {total} shown; use --limit/--offset for more")


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


def progress_bar() -> Progress:
    """A progress bar on stderr, shown on a terminal only (pipes and logs stay clean)."""
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err_console,
        transient=True,
        disable=not err_console.is_terminal,
    )
