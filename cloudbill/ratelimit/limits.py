"""The budgets the API listeners keep, on whichever store is configured.

- Requests per customer: `CLOUDBILL_BSS_RATE_PER_S` with bursts of `CLOUDBILL_BSS_BURST`, per
  customer (not per access key: a customer cannot escape it by rotating keys), one budget for
  each listener (BSS, customer API), shared by every API process.
- Failed authentications: at most `CLOUDBILL_AUTH_FAILURES_MAX` in a burst, then one every
  `CLOUDBILL_AUTH_FAILURES_WINDOW_S / MAX` seconds, per source address and per key presented;
  while spent, requests from that source or for that key are refused before any check.

A store that cannot answer (a locked database, Redis down) lets the request through and logs
it: the budgets guard against abuse, they must not take the billing center down with them."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import Protocol

from ..config import Settings
from ..observe import logs
from ..store.engine import Database
from .redis_store import RedisBudgets
from .rules import Budget
from .sql_store import SqlBudgets

log = logs.get("cloudbill.ratelimit")
KEY_PART_MAX = 96  # longer parts of a budget key (an attacker's "access key") are hashed


class Budgets(Protocol):
    def take(self, key: str, budget: Budget) -> bool: ...
    def peek(self, key: str, budget: Budget) -> bool: ...


def _part(text: str) -> str:
    if len(text) <= KEY_PART_MAX:
        return text
    return "sha256:" + hashlib.sha256(text.encode()).hexdigest()


class RequestLimits:
    def __init__(self, store: Budgets, settings: Settings) -> None:
        self._store = store
        self.requests = Budget(settings.bss_rate_per_s, settings.bss_burst)
        self.failures = Budget(
            settings.auth_failures_max / settings.auth_failures_window_s,
            settings.auth_failures_max,
        )

    def _ask(self, step: Callable[[str, Budget], bool], key: str, budget: Budget) -> bool:
        try:
            return step(key, budget)
        except Exception as exc:  # the store's own failure: never the caller's
            log.warning("rate limit store failed; request let through", key=key, error=str(exc))
            return True

    def customer_request(self, listener: str, customer_id: str) -> bool:
        """Take one request from the customer's budget on `listener`."""
        return self._ask(self._store.take, f"{listener}:customer:{customer_id}", self.requests)

    def auth_blocked(self, listener: str, source: str, key: str | None) -> bool:
        """Whether failed authentications from `source`, or for `key`, used their budget."""
        keys = [f"{listener}:authfail:source:{_part(source)}"]
        if key:
            keys.append(f"{listener}:authfail:key:{_part(key)}")
        return not all(self._ask(self._store.peek, k, self.failures) for k in keys)

    def auth_failed(self, listener: str, source: str, key: str | None) -> None:
        self._ask(self._store.take, f"{listener}:authfail:source:{_part(source)}", self.failures)
        if key:
            self._ask(self._store.take, f"{listener}:authfail:key:{_part(key)}", self.failures)


def build(settings: Settings, db: Database) -> RequestLimits:
    url = settings.rate_limit_redis_url
    store: Budgets = RedisBudgets(url) if url else SqlBudgets(db)
    return RequestLimits(store, settings)
