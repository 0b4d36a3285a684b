"""A loaded catalog, cross-checked and indexed for lookups."""

from __future__ import annotations

from dataclasses import dataclass

from ..kernel.errors import CloudbillError, ErrorCode
from .model import (
    BillingMode,
    CatalogDocument,
    MeasureUnit,
    ResourceType,
    Service,
    Spec,
    UsageType,
)


@dataclass(frozen=True, slots=True)
class SpecRef:
    service: Service
    resource_type: ResourceType
    spec: Spec


def _invalid(message: str) -> CloudbillError:
    return CloudbillError(ErrorCode.CATALOG_INVALID, message)


def _unique(codes: list[str], what: str) -> None:
    seen: set[str] = set()
    for code in codes:
        if code in seen:
            raise _invalid(f"{what} {code!r} is defined twice")
        seen.add(code)


class CatalogIndex:
    def __init__(self, document: CatalogDocument) -> None:
        self.document = document
        _unique([u.code for u in document.measure_units], "measure unit")
        _unique([u.code for u in document.usage_types], "usage type")
        _unique([s.code for s in document.services], "service")
        _unique([d.id for d in document.discounts], "discount")
        self.units: dict[str, MeasureUnit] = {u.code: u for u in document.measure_units}
        self.usage_types: dict[str, UsageType] = {u.code: u for u in document.usage_types}
        self.services: dict[str, Service] = {s.code: s for s in document.services}
        self.resource_types: dict[str, tuple[Service, ResourceType]] = {}
        self.specs: dict[tuple[str, str], SpecRef] = {}
        for service in document.services:
            for rtype in service.resource_types:
                if rtype.code in self.resource_types:
                    raise _invalid(f"resource type {rtype.code!r} is defined twice")
                self.resource_types[rtype.code] = (service, rtype)
                self._check_resource_type(service, rtype)
        self.currencies = sorted({cur for ref in self.specs.values() for cur in ref.spec.prices})

    def _check_resource_type(self, service: Service, rtype: ResourceType) -> None:
        for usage in rtype.usage_types:
            if usage not in self.usage_types:
                raise _invalid(f"{rtype.code}: unknown usage type {usage!r}")
        _unique([s.code for s in rtype.specs], f"spec of {rtype.code}")
        for spec in rtype.specs:
            where = f"{service.code}/{rtype.code}/{spec.code}"
            for currency, prices in spec.prices.items():
                for usage_code, usage_price in prices.pay_per_use.items():
                    if usage_code not in rtype.usage_types:
                        raise _invalid(f"{where}: {usage_code!r} is not a usage type of the type")
                    unit = self.units.get(usage_price.unit)
                    if unit is None:
                        raise _invalid(f"{where}: unknown unit {usage_price.unit!r}")
                    if unit.dimension != self.usage_types[usage_code].dimension:
                        raise _invalid(f"{where}: unit {unit.code} does not measure {usage_code}")
                if prices.pay_per_use and BillingMode.PAY_PER_USE not in rtype.billing_modes:
                    raise _invalid(f"{where}: pay-per-use prices for a type not sold that way")
                if prices.monthly is not None and (
                    BillingMode.YEARLY_MONTHLY not in rtype.billing_modes
                ):
                    raise _invalid(f"{where}: monthly price for a type not sold yearly/monthly")
                if len(currency) != 3 or not currency.isupper():
                    raise _invalid(f"{where}: {currency!r} is not an ISO 4217 currency code")
            self.specs[(rtype.code, spec.code)] = SpecRef(service, rtype, spec)

    # -- lookups ------------------------------------------------------------------------------
    def service(self, code: str) -> Service:
        try:
            return self.services[code]
        except KeyError:
            raise CloudbillError(
                ErrorCode.CATALOG_ITEM_NOT_FOUND, f"unknown service {code!r}"
            ) from None

    def resource_type(self, code: str) -> tuple[Service, ResourceType]:
        try:
            return self.resource_types[code]
        except KeyError:
            raise CloudbillError(
                ErrorCode.CATALOG_ITEM_NOT_FOUND, f"unknown resource type {code!r}"
            ) from None

    def spec(self, resource_type: str, spec: str) -> SpecRef:
        self.resource_type(resource_type)
        try:
            return self.specs[(resource_type, spec)]
        except KeyError:
            raise CloudbillError(
                ErrorCode.CATALOG_ITEM_NOT_FOUND,
                f"unknown spec {spec!r} of resource type {resource_type!r}",
            ) from None

    def unit(self, code: str) -> MeasureUnit:
        try:
            return self.units[code]
        except KeyError:
            raise CloudbillError(
                ErrorCode.CATALOG_ITEM_NOT_FOUND, f"unknown measure unit {code!r}"
            ) from None

    def usage_type(self, code: str) -> UsageType:
        try:
            return self.usage_types[code]
        except KeyError:
            raise CloudbillError(
                ErrorCode.CATALOG_ITEM_NOT_FOUND, f"unknown usage type {code!r}"
            ) from None
