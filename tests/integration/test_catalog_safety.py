"""A catalog version that drops or unprices what is in use is refused (issue 13, item 2)."""

from __future__ import annotations

import pytest

from cloudbill.catalog import loader, repo
from cloudbill.catalog import service as catalog_service
from cloudbill.kernel.errors import CloudbillError, ErrorCode

from ..helpers import new_customer, snapshot
from ..scenarios.test_settlement import VM, register


def _edited(version: str, *, drop_spec: str | None = None, unprice: str | None = None):  # type: ignore[no-untyped-def]
    data = loader.read_file(loader.DEFAULT_CATALOG_PATH).model_dump(mode="json")
    data["version"] = version
    for service in data["services"]:
        for rtype in service["resource_types"]:
            rtype["specs"] = [s for s in rtype["specs"] if s["code"] != drop_spec]
            for spec in rtype["specs"]:
                if spec["code"] == unprice:
                    spec["prices"]["USD"]["pay_per_use"] = {}
    return loader.parse_data(data)


def _load(container, document, **kwargs):  # type: ignore[no-untyped-def]
    return container.write(
        lambda conn, now: catalog_service.load(conn, document, source="t", now=now, **kwargs)
    )


def _active_version(container) -> str:  # type: ignore[no-untyped-def]
    return container.read(lambda conn, _now: catalog_service.active(conn).document.version)


def test_a_version_that_unprices_or_drops_a_live_spec_is_refused(container) -> None:  # type: ignore[no-untyped-def]
    customer = new_customer(container)
    register(container, customer.id, "vm-1", VM)  # s6.large.2, pay-per-use, USD
    before, active = snapshot(container), _active_version(container)
    for document in (_edited("v-unpriced", unprice="s6.large.2"),
                     _edited("v-dropped", drop_spec="s6.large.2")):  # fmt: skip
        with pytest.raises(CloudbillError) as info:
            _load(container, document)
        assert info.value.code is ErrorCode.CATALOG_IN_USE
        breaks = info.value.details["breaks"]
        assert breaks and all("s6.large.2" in item for item in breaks), breaks
        assert snapshot(container) == before and _active_version(container) == active
    # What nobody uses may go; a version kept inactive is not checked until it is activated.
    assert _load(container, _edited("v-small-gone", unprice="s6.small.1")).created
    assert _load(container, _edited("v-later", unprice="s6.large.2"), activate=False).created
    with pytest.raises(CloudbillError) as info:
        container.write(
            lambda conn, now: catalog_service.activate_version(conn, "v-later", now=now)
        )
    assert info.value.code is ErrorCode.CATALOG_IN_USE
    assert _active_version(container) == "v-small-gone"
    # The operator may insist: settlement then holds the customers it breaks.
    container.write(
        lambda conn, now: catalog_service.activate_version(
            conn, "v-later", now=now, allow_breaking=True
        )
    )
    assert _active_version(container) == "v-later"


def test_a_released_resource_no_longer_pins_its_spec(container) -> None:  # type: ignore[no-untyped-def]
    from cloudbill.resources import service as resources

    customer = new_customer(container)
    register(container, customer.id, "vm-1", VM)
    container.write(lambda conn, now: resources.release(conn, "vm-1", reason="done", now=now))
    assert _load(container, _edited("v-after", drop_spec="s6.large.2")).created
    versions = container.read(lambda conn, _now: [r.version for r in repo.list_versions(conn)])
    assert "v-after" in versions
