"""The doc pages carry their Content-Security-Policy; other answers do not."""

from __future__ import annotations

from fastapi.testclient import TestClient

from cloudbill.api.app import create_app
from cloudbill.api.customer.app import PREFIX as CUSTOMER_PREFIX
from cloudbill.api.docs import POLICY
from cloudbill.bootstrap import Container


def test_doc_pages_carry_the_policy_and_nothing_else_does(sqlite_container: Container) -> None:
    client = TestClient(create_app(sqlite_container))
    for path in ("/docs", "/redoc", f"{CUSTOMER_PREFIX}/docs", f"{CUSTOMER_PREFIX}/redoc"):
        response = client.get(path)
        assert response.status_code == 200, path
        assert response.headers["content-security-policy"] == POLICY, path
    for path in ("/health", "/openapi.json", f"{CUSTOMER_PREFIX}/openapi.json"):
        response = client.get(path)
        assert response.status_code == 200, path
        assert "content-security-policy" not in response.headers, path
