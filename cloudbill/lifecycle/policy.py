"""Grace and retention periods as data: per service and per customer level.

The seeds (CSS, GES, GeminiDB HBase arrears pages) state 15 days of grace and 15 of retention;
that is the default. An operator refines it with rows; the most specific matching row wins
(service and level > service > level > default).
"""

from __future__ import annotations

from dataclasses import dataclass

DEFAULT_GRACE_DAYS = 15
DEFAULT_RETENTION_DAYS = 15
MAX_DAYS = 365


@dataclass(frozen=True, slots=True)
class PolicyRow:
    grace_days: int
    retention_days: int
    service: str | None = None
    customer_level: int | None = None

    def __post_init__(self) -> None:
        for days in (self.grace_days, self.retention_days):
            if isinstance(days, bool) or not isinstance(days, int) or not 0 <= days <= MAX_DAYS:
                raise ValueError(f"grace and retention are whole days 0-{MAX_DAYS}")

    @property
    def specificity(self) -> int:
        return (2 if self.service is not None else 0) + (
            1 if self.customer_level is not None else 0
        )

    def matches(self, service: str, customer_level: int) -> bool:
        return self.service in (None, service) and self.customer_level in (None, customer_level)


DEFAULT_POLICY = PolicyRow(DEFAULT_GRACE_DAYS, DEFAULT_RETENTION_DAYS)


def periods_for(rows: tuple[PolicyRow, ...], service: str, customer_level: int) -> PolicyRow:
    """The most specific row for a resource's service and its customer's level."""
    best = DEFAULT_POLICY
    for row in rows:
        if row.matches(service, customer_level) and row.specificity >= best.specificity:
            best = row
    return best
