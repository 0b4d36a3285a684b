"""Volume tiers settled hour by hour across a tier boundary, on both databases.

EIP traffic at the default catalog's USD tiers (0.12/GB to 10240 GB, 0.10 to 51200, then 0.08)
set to `tier_mode: volume`: the month's whole quantity at the price of the tier it reached,
capped by what reaching a later tier would cost (catalog.pricing.volume_cost). No Huawei page
gives a volume example (docs/research/huawei-billing-rules.md §2); the figures are by hand.
"""

from __future__ import annotations

from cloudbill.catalog import loader
from cloudbill.catalog import service as catalog_service
from cloudbill.worker.jobs import settle_due

from ..helpers import assert_books_balance, new_customer
from .test_settlement import TRAFFIC, advance, fees, figures, hour, meter, register, topup, units


def _volume_traffic_catalog(container) -> None:  # type: ignore[no-untyped-def]
    data = loader.read_file(loader.DEFAULT_CATALOG_PATH).model_dump(mode="json")
    data["version"] = "volume-traffic"
    for service in data["services"]:
        for rtype in service["resource_types"]:
            for spec in rtype["specs"]:
                if spec["code"] == TRAFFIC[1]:
                    spec["prices"]["USD"]["pay_per_use"]["upflow"]["tier_mode"] = "volume"
    container.write(
        lambda conn, now: catalog_service.load(conn, loader.parse_data(data), source="t", now=now)
    )


def test_hours_across_a_cheaper_tier_add_up_to_the_month_volume_price(container) -> None:  # type: ignore[no-untyped-def]
    _volume_traffic_catalog(container)
    customer = new_customer(container)
    topup(container, customer.id, "5000.00", "seed")
    register(container, customer.id, "eip-1", TRAFFIC)
    meter(container, ("t1", "eip-1", "upflow", "5000", hour(5), hour(6), "GB"),
          ("t2", "eip-1", "upflow", "5000", hour(6), hour(7), "GB"),
          ("t3", "eip-1", "upflow", "1000", hour(7), hour(8), "GB"))  # fmt: skip
    advance(container, hours=1)
    settle_due(container)
    rows = fees(container)
    assert [r.hour_start.hour for r in rows] == [5, 6, 7]
    assert [r.official_units for r in rows] == [
        units("600.00"),  # 5000 GB x 0.12
        # 10000 GB x 0.12 = 1200 would cost more than 10240 GB at 0.10 (1024): capped at 1024
        units("424.00"),
        # 11000 GB, all at the second tier: 1100; less the 1024 billed. Uncapped, this hour
        # would be 1100 - 1200 = -100, a refund of what coupons, cash or credit already paid.
        units("76.00"),
    ]
    assert sum(r.amount_units for r in rows) == units("1100.00")  # 11000 GB x 0.10, exactly
    assert all(r.unit_price is None for r in rows)
    assert figures(container, customer.id).cash_balance_units == units("3900.00")
    assert_books_balance(container)
