"""The catalog file: the shipped default is valid; mistakes are refused with a clear message."""

from __future__ import annotations

from decimal import Decimal

import pytest
import yaml

from cloudbill.catalog.index import CatalogIndex
from cloudbill.catalog.loader import DEFAULT_CATALOG_PATH, checksum, parse_text, read_file
from cloudbill.kernel.errors import CloudbillError, ErrorCode

REQUIRED_SERVICES = {"ecs", "evs", "eip", "obs", "css", "ges", "geminidb-hbase"}


def test_default_catalog_is_valid_and_complete() -> None:
    index = CatalogIndex(read_file(DEFAULT_CATALOG_PATH))
    assert set(index.services) >= REQUIRED_SERVICES
    assert {"USD", "CNY"} <= set(index.currencies)
    eip_types = {rt.code for rt in index.service("eip").resource_types}
    assert len(eip_types) >= 2  # by bandwidth and by traffic
    tiered = [
        p for ref in index.specs.values() for prices in ref.spec.prices.values()
        for p in prices.pay_per_use.values() if p.tiers
    ]  # fmt: skip
    assert tiered, "the default catalog shows tiered pricing somewhere"
    assert any(d.period_unit == "year" for d in index.document.discounts)


def test_yaml_numbers_are_exact_decimals() -> None:
    index = CatalogIndex(read_file(DEFAULT_CATALOG_PATH))
    price = index.spec("hws.resource.type.vm", "s6.large.2").spec.prices["USD"]
    assert isinstance(price.pay_per_use["duration"].price, Decimal)
    assert price.pay_per_use["duration"].price == Decimal("0.0781")


MINIMAL = """
version: t1
measure_units:
  - {code: h, name: hour, dimension: time, factor: 3600}
  - {code: GB, name: GB, dimension: data, factor: 1073741824}
usage_types:
  - {code: duration, name: Duration, dimension: time}
services:
  - code: ecs
    name: ECS
    resource_types:
      - code: vm
        name: VM
        usage_types: [duration]
        specs:
          - code: s1
            name: small
            prices: {USD: {pay_per_use: {duration: {unit: h, price: 0.1}}, monthly: 50}}
"""


def _mutate(path: str, value: object) -> str:
    doc = yaml.safe_load(MINIMAL)
    target = doc
    keys = path.split(".")
    for key in keys[:-1]:
        target = target[int(key)] if key.isdigit() else target[key]
    target[keys[-1]] = value
    return yaml.safe_dump(doc)


def test_minimal_catalog_loads() -> None:
    assert parse_text(MINIMAL).version == "t1"


@pytest.mark.parametrize(
    ("path", "value", "fragment"),
    [
        ("services.0.resource_types.0.usage_types", ["traffic"], "unknown usage type"),
        ("services.0.resource_types.0.specs.0.prices",
         {"USD": {"pay_per_use": {"duration": {"unit": "GB", "price": "1"}}}}, "does not measure"),
        ("services.0.resource_types.0.specs.0.prices",
         {"USD": {"pay_per_use": {"duration": {"unit": "parsec", "price": "1"}}}}, "unknown unit"),
        ("services.0.resource_types.0.specs.0.prices",
         {"USD": {"pay_per_use": {"duration": {"unit": "h", "price": "-1"}}}}, "price"),
        ("services.0.resource_types.0.specs.0.prices",
         {"USD": {"pay_per_use": {"duration": {"unit": "h", "price": "0.12345678901"}}}},
         "10 decimals"),
        ("services.0.resource_types.0.specs.0.prices",
         {"USD": {"pay_per_use": {"duration": {"unit": "h", "tiers": [
             {"up_to": 10, "price": "1"}, {"up_to": 5, "price": "1"}, {"price": "1"}]}}}},
         "tier"),
        ("services.0.resource_types.0.specs.0.prices", {"usd": {"monthly": "1"}}, "ISO 4217"),
        ("services.0.resource_types.0.billing_modes", ["pay_per_use"], "monthly price"),
        ("services.0.resource_types.0.specs.0.surprise", 1, "Extra inputs"),
        ("measure_units.1.code", "h", "defined twice"),
        ("version", "", "version"),
    ],
)  # fmt: skip
def test_mistakes_are_refused(path: str, value: object, fragment: str) -> None:
    with pytest.raises(CloudbillError) as info:
        parse_text(_mutate(path, value))
    assert info.value.code == ErrorCode.CATALOG_INVALID
    assert fragment in info.value.message


def test_not_yaml_and_not_a_mapping() -> None:
    for text in ("version: [unclosed", "- a list"):
        with pytest.raises(CloudbillError) as info:
            parse_text(text)
        assert info.value.code == ErrorCode.CATALOG_INVALID


def test_checksum_ignores_formatting_but_not_content() -> None:
    a = parse_text(MINIMAL)
    b = parse_text(MINIMAL.replace("price: 0.1}", "price: 0.10}"))
    c = parse_text(MINIMAL.replace("price: 0.1}", "price: 0.2}"))
    assert checksum(a) == checksum(parse_text(MINIMAL + "\n# comment\n"))
    assert checksum(a) != checksum(c)
    assert b.services[0].resource_types[0].specs[0].prices["USD"].pay_per_use[
        "duration"
    ].price == Decimal("0.10")
