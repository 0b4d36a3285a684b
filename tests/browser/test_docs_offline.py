"""The API docs work on a machine without internet: Swagger UI and ReDoc come from cloudbill
itself, for the operator and the customer API, and list their operations."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from cloudbill.api.app import create_app
from cloudbill.api.bss.listener import ThreadedServer
from cloudbill.bootstrap import Container

from ..compat.conftest import free_port


@pytest.fixture
def server(sqlite_container: Container) -> Iterator[str]:
    running = ThreadedServer(
        create_app(sqlite_container), host="127.0.0.1", port=free_port(), log_level="warning"
    ).start()
    yield f"http://127.0.0.1:{running.port}"
    running.stop()


@pytest.mark.parametrize(
    ("path", "operation"),
    [("/docs", "/operator/v1/customers"), ("/customer/v1/docs", "/fee-records")],
)
def test_swagger_ui_lists_the_operations_offline(
    server: str, offline_page: tuple[Any, list[str]], path: str, operation: str, tmp_path: Path
) -> None:
    page, outside = offline_page
    page.goto(server + path)
    page.wait_for_selector(".opblock", timeout=20_000)
    paths = page.locator(".opblock-summary-path").all_inner_texts()
    assert len(paths) > 10
    assert any(p.replace("\u200b", "") == operation for p in paths), paths[:20]
    page.screenshot(path=str(tmp_path / "docs.png"), full_page=False)
    assert outside == []


def test_redoc_renders_offline(server: str, offline_page: tuple[Any, list[str]]) -> None:
    page, outside = offline_page
    page.goto(server + "/redoc")
    page.wait_for_selector('[data-section-id^="operation/"]', timeout=20_000)
    assert page.locator('[data-section-id^="operation/"]').count() > 10
    assert outside == []
