"""Records are stored with their text as checked, on both databases: PostgreSQL's COPY is fed
CSV written by Arrow, where a quote, a comma, a line break, a backslash or an empty text must
come back unchanged and only a missing value is NULL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pyarrow as pa
import pytest
from sqlalchemy import select

from cloudbill.bootstrap import Container
from cloudbill.ingest import columns, repo
from cloudbill.kernel.errors import CloudbillError, ErrorCode
from cloudbill.resources import service as resources
from cloudbill.resources.model import ResourceInput
from cloudbill.store.schema import usage_record
from tests.helpers import created_before, new_customer

TEXTS = ["plain", 'quo"te', "com,ma", "new\nline", "é ü 漢", "back\\slash", " lead", "trail "]
SPECS = ["", None, "s,1", 'q"', "\\N", "NULL", "z", "w"]


def _records(customer_id: str, n: int) -> pa.Table:
    t0 = datetime(2026, 3, 16, 10, 0, 0, 123456, tzinfo=UTC)
    hour = t0.replace(minute=0, second=0, microsecond=0)
    return pa.table(
        {
            "row": list(range(n)), "record_id": [f"texts-{i}" for i in range(n)],
            "payload_hash": TEXTS[:n], "customer_id": [customer_id] * n,
            "resource_id": ["vm-texts"] * n, "usage_type": TEXTS[:n], "quantity": ["1.5"] * n,
            "unit": TEXTS[:n], "pricing_unit": ["h"] * n,
            "quantity_e10": [2**62, 0, 1, 5, 7, 9, 11, 13][:n],
            "start_at": pa.array([t0 + timedelta(seconds=i) for i in range(n)], columns.INSTANT),
            "end_at": pa.array([t0 + timedelta(hours=1, seconds=i) for i in range(n)],
                               columns.INSTANT),
            "first_hour": pa.array([hour] * n, columns.INSTANT),
            "last_hour": pa.array([hour] * n, columns.INSTANT),
            "spec": SPECS[:n],
        },
        schema=columns.VALID_SCHEMA,
    )  # fmt: skip


def test_a_record_id_stored_meanwhile_fails_the_insert_as_sqlalchemys_error(
    container: Container,
) -> None:
    """A record id another writer stored between the check and the insert breaks the unique
    key: on PostgreSQL the COPY's error reaches Container.write as SQLAlchemy's IntegrityError
    (a lost race, retried, then ALREADY_EXISTS), as an INSERT's does on SQLite: never a 500."""
    customer = new_customer(container, "texts")
    now = datetime(2026, 3, 16, 12, 0, 0, 1, tzinfo=UTC)
    container.write(lambda conn, _now: repo.insert_records(conn, _records(customer.id, 2), now))
    with pytest.raises(CloudbillError) as refused:
        container.write(lambda conn, _now: repo.insert_records(conn, _records(customer.id, 3), now))
    assert refused.value.code == ErrorCode.ALREADY_EXISTS
    with container.db.read() as conn:
        stored = conn.execute(select(usage_record.c.record_id)).scalars().all()
    assert sorted(stored) == ["texts-0", "texts-1"]  # the failed chunk stored nothing


def test_text_and_instants_come_back_as_inserted(container: Container) -> None:
    customer = new_customer(container, "texts")

    def register(conn, now):  # type: ignore[no-untyped-def]
        data = ResourceInput(customer_id=customer.id, resource_type="hws.resource.type.vm",
                             spec="s6.large.2", billing_mode="pay_per_use",
                             region="ap-southeast-1", name="vm", id="vm-texts")  # fmt: skip
        resources.register(conn, created_before(data, now), now=now)

    container.write(register)
    t0 = datetime(2026, 3, 16, 10, 0, 0, 123456, tzinfo=UTC)
    hour = t0.replace(minute=0, second=0, microsecond=0)
    n = len(TEXTS)
    table = pa.table(
        {
            "row": list(range(n)), "record_id": [f"texts-{i}" for i in range(n)],
            "payload_hash": TEXTS, "customer_id": [customer.id] * n,
            "resource_id": ["vm-texts"] * n, "usage_type": TEXTS, "quantity": ["1.5"] * n,
            "unit": TEXTS, "pricing_unit": ["h"] * n,
            "quantity_e10": [2**62, 0, 1, 5, 7, 9, 11, 13],
            "start_at": pa.array([t0 + timedelta(seconds=i) for i in range(n)], columns.INSTANT),
            "end_at": pa.array([t0 + timedelta(hours=1, seconds=i) for i in range(n)],
                               columns.INSTANT),
            "first_hour": pa.array([hour] * n, columns.INSTANT),
            "last_hour": pa.array([hour] * n, columns.INSTANT),
            "spec": SPECS,
        },
        schema=columns.VALID_SCHEMA,
    )  # fmt: skip
    now = datetime(2026, 3, 16, 12, 0, 0, 1, tzinfo=UTC)
    container.write(lambda conn, _now: repo.insert_records(conn, table, now))
    u = usage_record.c
    with container.db.read() as conn:
        rows = conn.execute(
            select(u.record_id, u.payload_hash, u.usage_type, u.unit, u.spec, u.quantity_e10,
                   u.start_at, u.end_at, u.first_hour, u.received_at)
            .where(u.record_id.like("texts-%"))
            .order_by(u.record_id)
        ).all()  # fmt: skip
    assert [tuple(r) for r in rows] == [
        (f"texts-{i}", TEXTS[i], TEXTS[i], TEXTS[i], SPECS[i], table["quantity_e10"][i].as_py(),
         t0 + timedelta(seconds=i), t0 + timedelta(hours=1, seconds=i), hour, now)
        for i in range(n)
    ]  # fmt: skip
