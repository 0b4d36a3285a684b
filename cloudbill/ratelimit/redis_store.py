"""Budgets in Redis (CLOUDBILL_RATE_LIMIT_REDIS_URL): the same rule as the database, run as
one Lua script so a take is atomic, timed by the Redis server's own clock (processes on several
hosts need not agree on the time). Each key expires when its bucket is full again."""

from __future__ import annotations

from typing import Any

import redis

from ..kernel.errors import CloudbillError, ErrorCode
from .rules import Budget

# KEYS[1]: the budget; ARGV: interval_us, limit_us, charge (1 take, 0 peek). Returns 1 allowed.
_GCRA = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local tat = tonumber(redis.call('GET', KEYS[1]) or now)
if tat < now then tat = now end
local new = tat + tonumber(ARGV[1])
if new - now > tonumber(ARGV[2]) then return 0 end
if ARGV[3] == '1' then
  redis.call('SET', KEYS[1], string.format('%d', new), 'PX', math.ceil((new - now) / 1000) + 1)
end
return 1
"""
PREFIX = "cloudbill:budget:"


class RedisBudgets:
    def __init__(self, url: str) -> None:
        try:
            self._client: Any = redis.Redis.from_url(
                url, socket_timeout=2, socket_connect_timeout=2
            )
        except ValueError as exc:
            raise CloudbillError(
                ErrorCode.INVALID_ARGUMENT, f"CLOUDBILL_RATE_LIMIT_REDIS_URL: {exc}"
            ) from None
        self._script = self._client.register_script(_GCRA)

    def take(self, key: str, budget: Budget) -> bool:
        return self._run(key, budget, charge=True)

    def peek(self, key: str, budget: Budget) -> bool:
        return self._run(key, budget, charge=False)

    def _run(self, key: str, budget: Budget, *, charge: bool) -> bool:
        args = [budget.interval_us, budget.limit_us, 1 if charge else 0]
        return int(self._script(keys=[PREFIX + key], args=args)) == 1
