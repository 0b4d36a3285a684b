"""The columnar check (ingest/columns.py, service.check_batch) gives every record of a batch the
answer the per-row rules give: on random batches of good and bad records, against resources in
every state, the same records stored (field by field), the same duplicates, the same rejections
in the same order. The oracle is the per-row check as it was before the columns: rules.validate
for each record, duplicates and conflicts in order, running time admitted record by record."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cloudbill.catalog import service as catalog_service
from cloudbill.ingest import repo, running_time
from cloudbill.ingest import service as ingest
from cloudbill.ingest.model import IngestResult, UsageInput, ValidRecord
from cloudbill.ingest.rules import MAX_INTERVAL, PricingUnits, Reject, validate
from cloudbill.kernel.errors import ErrorCode
from cloudbill.resources import service as resources
from cloudbill.resources.model import ResourceInput, ResourceStatus

from ..conftest import T0
from ..helpers import new_customer

VM = ("hws.resource.type.vm", "s6.large.2")
OBS = ("hws.resource.type.obs", "standard")
CREATED = T0 - timedelta(days=7)
HOURS_BACK = 6  # records fall in the hours before T0 (and a little past it)


def _register(container, customer_id, rid, kind=VM, **extra):  # type: ignore[no-untyped-def]
    rtype, spec = kind
    extra.setdefault("billing_mode", "pay_per_use")
    if extra["billing_mode"] == "pay_per_use":
        extra.setdefault("created_at", CREATED)
    data = ResourceInput(customer_id=customer_id, resource_type=rtype, spec=spec,
                         region="ap-southeast-1", name=rid, id=rid, **extra)  # fmt: skip
    container.write(lambda conn, now: resources.register(conn, data, now=now))


@pytest.fixture
def world(container):  # type: ignore[no-untyped-def]
    """Resources in every state validation tells apart, and a few records stored already."""
    customer = new_customer(container)
    other = new_customer(container, "other")
    for rid in ("vm-1", "vm-2", "vm-frozen", "vm-released"):
        _register(container, customer.id, rid)
    _register(container, customer.id, "bucket-1", OBS)
    _register(container, other.id, "vm-other")
    _register(container, customer.id, "vm-young", created_at=T0 - timedelta(hours=2))
    _register(container, customer.id, "vm-yearly", billing_mode="yearly_monthly",
              expire_at=T0.replace(year=2027))  # fmt: skip
    container.write(lambda conn, now: resources.change_status(
        conn, "vm-frozen", ResourceStatus.FROZEN, reason="test",
        now=now - timedelta(hours=2)))  # fmt: skip
    container.write(lambda conn, now: resources.release(conn, "vm-released", reason="t", now=now))
    stored = [
        UsageInput("s-1", "vm-1", "duration", "1800", "2026-03-16T03:00:00Z",
                   "2026-03-16T03:30:00Z", "s"),
        UsageInput("s-2", "bucket-1", "upflow", "1.5", "2026-03-16T04:00:00Z",
                   "2026-03-16T05:00:00Z", "GB"),
        UsageInput("s-3", "vm-2", "duration", "0.25", "2026-03-16T07:00:00Z",
                   "2026-03-16T08:30:00Z", "h"),
    ]  # fmt: skip
    container.write(lambda conn, now: ingest.ingest_batch(conn, stored, now=now))
    return customer


RESOURCES = ["vm-1", "vm-2", "vm-frozen", "vm-released", "bucket-1", "vm-other", "vm-young",
             "vm-yearly", "nope", ""]  # fmt: skip
QUANTITIES = st.one_of(
    st.sampled_from(["3600", "1800", "0", "0.000", "1", "0.5", "00012.50", "3600.0000000001",
                     "-1", "+5", " 7", "1e3", "12345678901234567890", "1.123456789012",
                     "99999999999999999.9", "0.0000000001", ".5", "5.", "", "x"]),
    st.decimals(min_value=0, max_value=10**6, places=4, allow_nan=False).map(str),
    st.integers(min_value=-5, max_value=10**7),
    st.just(1.5), st.just(True), st.none(),
)  # fmt: skip


@st.composite
def instants(draw):  # type: ignore[no-untyped-def]
    base = T0 - timedelta(hours=HOURS_BACK)
    moment = base + timedelta(seconds=draw(st.integers(0, (HOURS_BACK + 1) * 3600)) // 60 * 60)
    moment += timedelta(microseconds=draw(st.sampled_from([0, 0, 0, 500_000, 123])))
    style = draw(st.sampled_from(["z", "z", "offset", "naive", "space", "datetime", "bad", "odd"]))
    if style == "z":
        return (
            moment.strftime("%Y-%m-%dT%H:%M:%S")
            + (f".{moment.microsecond:06d}" if moment.microsecond else "")
            + "Z"
        )
    if style == "offset":
        return moment.astimezone(timezone(timedelta(hours=5, minutes=30))).isoformat()
    if style == "naive":
        return moment.replace(tzinfo=None).isoformat()
    if style == "space":
        return moment.isoformat(sep=" ")
    if style == "datetime":
        return moment
    if style == "bad":
        return draw(
            st.sampled_from(["2026-02-30T00:00:00Z", "yesterday", "", " 2026-03-16T05:00:00Z"])
        )
    return draw(st.sampled_from(["2026-03-16T05:00:00.1234567Z", "2026-03-16T05:00:00+00:00:00",
                                 12]))  # fmt: skip


def _spelled(moment: datetime, style: str) -> object:
    if style == "z":
        text = moment.strftime("%Y-%m-%dT%H:%M:%S")
        return text + (f".{moment.microsecond:06d}" if moment.microsecond else "") + "Z"
    if style == "offset":
        return moment.astimezone(timezone(timedelta(hours=-3, minutes=-30))).isoformat()
    if style == "naive":
        return moment.replace(tzinfo=None).isoformat()
    if style == "space":
        return moment.isoformat(sep=" ")
    return moment


KINDS = {  # resource -> (usage type, units it may be sent in, base units one unit holds)
    "duration": (["s", None, "", "min", "h"], {"s": 1, None: 3600, "": 3600, "min": 60, "h": 3600}),
    "upflow": (["GB", "MB", None, "B"], {"GB": 2**30, "MB": 2**20, None: 2**30, "B": 1}),
}


@st.composite
def good_records(draw, n: int):  # type: ignore[no-untyped-def]
    """A record the rules would mostly accept, spelled in any of the accepted ways."""
    resource = draw(st.sampled_from([
        "vm-1", "vm-2", "vm-1", "bucket-1", "bucket-1", "vm-frozen", "vm-released", "vm-other",
        "vm-young", "vm-yearly",
    ]))  # fmt: skip
    usage = "upflow" if resource.startswith("bucket") else "duration"
    units, _ = KINDS[usage]
    unit = draw(st.sampled_from(units))
    start = (
        T0
        - timedelta(hours=HOURS_BACK)
        + timedelta(
            minutes=draw(st.integers(0, HOURS_BACK * 60 + 20)),
            microseconds=draw(st.sampled_from([0, 0, 0, 250_000])),
        )
    )
    length = timedelta(seconds=draw(st.sampled_from([60, 900, 1800, 3600, 3600, 5400])))
    style = draw(st.sampled_from(["z", "z", "offset", "naive", "space", "datetime"]))
    seconds = Decimal(int(length.total_seconds()))
    if usage == "duration":
        per_unit = KINDS[usage][1][unit]
        whole = seconds / per_unit  # the interval, in the unit sent
        share = draw(
            st.sampled_from([Decimal(1), Decimal("0.5"), Decimal("0.25"), Decimal("1.0001")])
        )
        quantity: object = format((whole * share).quantize(Decimal("0.0001")), "f")
    else:
        quantity = format(draw(st.decimals(min_value=0, max_value=10**5, places=3)), "f")
    quantity = draw(
        st.sampled_from([quantity, quantity, "000" + str(quantity), str(quantity) + "00"])
    )
    if draw(st.integers(0, 9)) == 0:
        quantity = int(Decimal(str(quantity)))
    record_id = draw(st.sampled_from([f"g-{n}", f"g-{n}", f"g-{max(n - 1, 0)}", "s-1", "s-3"]))
    return UsageInput(record_id, resource, usage, quantity, _spelled(start, style),
                      _spelled(start + length, style), unit)  # fmt: skip


@st.composite
def records(draw, n: int):  # type: ignore[no-untyped-def]
    if draw(st.integers(0, 3)):
        return draw(good_records(n))
    start = draw(instants())
    if isinstance(start, datetime):
        length = timedelta(seconds=draw(st.sampled_from([60, 1800, 3600, 5400, 7200])))
        end: object = start + length if draw(st.booleans()) else start
    else:
        end = draw(instants())
    resource = draw(st.sampled_from(RESOURCES))
    usage, unit = draw(st.sampled_from([
        ("duration", "s"), ("duration", None), ("duration", "h"), ("duration", "min"),
        ("duration", ""), ("duration", "GB"), ("upflow", "GB"), ("upflow", "MB"),
        ("upflow", None), ("upflow", "B"), ("capacity", "GBh"), ("duration", "parsec"),
        ("nothing", None),
    ]))  # fmt: skip
    record_id = draw(st.sampled_from([f"r-{n}", f"r-{n}", "s-1", "s-2", "s-3", "r-0", "bad id!",
                                      "", None]))  # fmt: skip
    return UsageInput(record_id, resource, usage, draw(QUANTITIES), start, end, unit)


def per_row(conn, batch, units, result, *, now, customer_id):  # type: ignore[no-untyped-def]
    """The per-row check as it was before the columns (the oracle)."""
    facts = ingest._with_history(conn, repo.resource_facts(conn, (r.resource_id for r in batch)))
    stored = repo.existing_hashes(
        conn, sorted({r.record_id for r in batch if isinstance(r.record_id, str) and r.record_id})
    )
    horizon = timedelta(days=90)
    checked: list[tuple[int, ValidRecord | Reject]] = []
    for index, record in enumerate(batch):
        try:
            checked.append((index, validate(record, facts.get(record.resource_id), units,
                                            now=now, customer_id=customer_id, horizon=horizon,
                                            replay=record.record_id in stored)))  # fmt: skip
        except Reject as exc:
            checked.append((index, exc))
    seen: dict[str, str] = {}
    fresh: list[tuple[int, ValidRecord]] = []
    for index, item in checked:
        if isinstance(item, Reject):
            ingest.reject(result, index, batch[index].record_id, item.code, item.reason)
            continue
        first = stored.get(item.record_id) or seen.get(item.record_id)
        if first is None:
            seen[item.record_id] = item.payload_hash
            fresh.append((index, item))
        elif first == item.payload_hash:
            result.duplicates += 1
        else:
            ingest.reject(result, index, item.record_id, ErrorCode.IDEMPOTENCY_CONFLICT,
                          "this record_id was already sent with other content")  # fmt: skip
    factors = units.seconds_per_duration_unit()
    timed = [r for _, r in fresh if r.pricing_unit in factors]
    if not timed:
        result.accepted += len(fresh)
        return [(i, r) for i, r in fresh]
    wanted = {key for r in timed for key in running_time.keys_of(r)}
    sums, spanning = repo.stored_running(
        conn, {r.resource_id for r in timed}, {r.usage_type for r in timed},
        min(r.first_hour for r in timed), max(r.last_hour for r in timed), MAX_INTERVAL,
    )  # fmt: skip
    load = running_time.stored_load(sums, spanning, factors, wanted)
    admitted, refused, _ = running_time.admit(fresh, factors, load)
    by_index = dict(fresh)
    for refusal in refused:
        ingest.reject(result, refusal.index, by_index[refusal.index].record_id, refusal.code,
                      refusal.reason)  # fmt: skip
    result.accepted += len(admitted)
    return [(i, by_index[i]) for i in admitted]


def _as_dicts(table):  # type: ignore[no-untyped-def]
    return [{**row, "quantity_e10": int(row["quantity_e10"])} for row in table.to_pylist()]


@settings(
    max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(batch=st.integers(1, 30).flatmap(lambda n: st.tuples(*[records(i) for i in range(n)])),
       scoped=st.booleans())  # fmt: skip
def test_columns_answer_every_record_as_the_per_row_rules_do(
    container, world, batch, scoped
) -> None:  # type: ignore[no-untyped-def]
    now = T0 + timedelta(minutes=20)
    customer_id = world.id if scoped else None
    with container.db.read() as conn:
        units = PricingUnits(catalog_service.active(conn))
        expected_result = IngestResult()
        expected = per_row(conn, list(batch), units, expected_result, now=now,
                           customer_id=customer_id)  # fmt: skip
        got_result = IngestResult()
        got = ingest.check_batch(conn, list(batch), 0, units, got_result, now=now,
                                 customer_id=customer_id, horizon=timedelta(days=90))  # fmt: skip
    assert got_result.as_dict() == expected_result.as_dict()
    want = [
        {"row": i, **{k: getattr(r, k) for k in got.schema.names if k != "row"}}
        for i, r in expected
    ]
    assert _as_dicts(got) == want


def test_a_common_batch_is_checked_in_columns(container, world, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """The common records never reach the per-row rules (else the columns would prove little)."""
    calls: list[object] = []
    from cloudbill.ingest import columns

    real = columns.validate
    monkeypatch.setattr(columns, "validate", lambda *a, **k: calls.append(a) or real(*a, **k))
    batch = [
        UsageInput("c-0", "vm-2", "duration", "1800", "2026-03-16T05:00:00Z",
                   "2026-03-16T05:30:00Z", "s"),
        UsageInput("c-1", "vm-1", "duration", "0.5", "2026-03-16T05:30:00",
                   "2026-03-16 06:00:00", None),
        UsageInput("c-obs", "bucket-1", "upflow", "2.5", "2026-03-16T05:00:00+00:00",
                   "2026-03-16T06:00:00+00:00", None),
    ]  # fmt: skip
    result = container.write(lambda conn, now: ingest.ingest_batch(conn, batch, now=now))
    assert result.accepted == 3 and calls == []


def test_odd_values_take_the_exact_path(container, world) -> None:  # type: ignore[no-untyped-def]
    start = datetime(2026, 3, 16, 5, tzinfo=UTC)
    result = container.write(lambda conn, now: ingest.ingest_batch(conn, [
        UsageInput("d-1", "vm-1", "duration", 1800, start, start + timedelta(minutes=30), "s"),
        UsageInput("d-2", "bucket-1", "upflow", Decimal("0.5"), start,
                   start + timedelta(hours=1), "GB"),
    ], now=now))  # fmt: skip
    assert result.accepted == 2


def test_the_random_batches_reach_the_columns(container, world) -> None:  # type: ignore[no-untyped-def]
    """Most good records of the strategy are proven valid in columns (a property that held
    only because every row went the exact way would prove nothing)."""
    from hypothesis import find

    from cloudbill.ingest import columns

    batch = find(
        st.tuples(*[good_records(i) for i in range(40)]),
        lambda b: sum(isinstance(r.quantity, str) for r in b) >= 30,
    )
    with container.db.read() as conn:
        units = PricingUnits(catalog_service.active(conn))
        table = columns.Batch(list(batch))
        facts = repo.resource_facts_table(conn, [r.resource_id for r in batch])
        fast, _ = columns.fast_rows(table.table, table.odd, facts, {}, units,
                                    now=T0 + timedelta(minutes=20), customer_id=None,
                                    horizon=timedelta(days=90))  # fmt: skip
    assert fast.num_rows >= 10
