"""Fixtures of the customer API tests, loaded with `pytest_plugins` (so pytest rewrites their
asserts): `world` (Alice and Bob, each owning one of everything) and `client`."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from cloudbill.bootstrap import Container
from tests.integration.customer_world import Owned, seed, unthrottled_client


@pytest.fixture
def world(container: Container) -> dict[str, Owned]:
    """Alice and Bob, each owning one of everything."""
    return seed(container, "alice", "bob")


@pytest.fixture
def client(container: Container, world: dict[str, Owned]) -> TestClient:
    return unthrottled_client(container)
