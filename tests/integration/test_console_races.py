"""The console under parallel requests and hostile input, on both databases: parallel wrong
passwords lock the user as the policy says (none is lost); a form submitted twice at once is
applied once and both answers agree; data shown on a page is never markup; and no link or
bad query parameter of any page is a server error."""

from __future__ import annotations

import re
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urljoin, urlparse

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from cloudbill.api.app import create_app
from cloudbill.console.web import CUSTOMER, Outcome, SignedIn, apply_form
from cloudbill.credentials import service as credentials
from cloudbill.credentials.sealing import SecretBox
from cloudbill.demo import DEMO_PASSWORD, OPERATOR_EMAIL, seed
from cloudbill.resources import service as resources
from cloudbill.resources.model import ResourceInput
from cloudbill.store.schema import access_key, console_user
from cloudbill.users import passwords, sessions
from cloudbill.users.model import SessionPolicy, UserKind

from ..helpers import new_customer
from .test_console_security import PASSWORD, _sign_in, _user

POLICY = SessionPolicy(lifetime_s=3600, idle_s=3600, lockout_failures=5, lockout_s=900)


def _attempt(c, email: str, password: str):  # type: ignore[no-untyped-def]
    found = c.read(lambda conn, _now: sessions.credentials(conn, UserKind.CUSTOMER, email))
    user, encoded = found if found else (None, None)
    good = passwords.verify(encoded, password)
    wall = c.wall.now()
    return c.write(
        lambda conn, _now: sessions.record(
            conn, user.id if user else None, good, rehash=None, policy=POLICY, now=wall
        )
    )


def test_parallel_wrong_passwords_lock_the_user(container) -> None:  # type: ignore[no-untyped-def]
    customer = new_customer(container)
    _user(container, customer.id, "ann@acme.example")
    with ThreadPoolExecutor(max_workers=8) as pool:
        answers = list(
            pool.map(lambda _i: _attempt(container, "ann@acme.example", "guess!guess"), range(24))
        )
    assert all(a.token is None for a in answers)
    with container.db.read() as conn:
        locked_until = conn.execute(select(console_user.c.locked_until)).scalar_one()
    assert locked_until is not None and locked_until > container.wall.now()
    assert _attempt(container, "ann@acme.example", PASSWORD).token is None


def test_a_form_submitted_twice_at_once_is_applied_once(container) -> None:  # type: ignore[no-untyped-def]
    customer = new_customer(container)
    _user(container, customer.id, "ann@acme.example")
    signed = _attempt(container, "ann@acme.example", PASSWORD)
    who = SignedIn(signed.session, CUSTOMER, fingerprint="the same form")
    box = SecretBox(container.secret_key())

    def create(conn, now):  # type: ignore[no-untyped-def]
        made = credentials.create(conn, customer.id, box=box, now=now)
        return Outcome(f"created {made.key.id}", once={"secret": made.secret})

    with ThreadPoolExecutor(max_workers=2) as pool:
        first, second = pool.map(lambda _i: apply_form(container, who, "k-1", create), range(2))
    with container.db.read() as conn:
        keys = conn.execute(select(access_key.c.id)).scalars().all()
    assert len(keys) == 1
    assert first.message == second.message == f"created {keys[0]}"
    assert [bool(o.once) for o in (first, second)].count(True) == 1  # the secret, shown once


def test_data_on_a_page_is_never_markup(container) -> None:  # type: ignore[no-untyped-def]
    customer = new_customer(container, "alpha")
    _user(container, customer.id, "admin@alpha.example")
    name = "</title><h1 id=pwn>injected</h1> 50% off"
    data = ResourceInput(
        customer_id=customer.id,
        resource_type="hws.resource.type.vm",
        spec="s6.large.2",
        billing_mode="pay_per_use",
        region="ap-southeast-1",
        name=name,
        id="vm-x",
    )
    container.write(lambda conn, now: resources.register(conn, data, now=now))
    with TestClient(create_app(container), base_url="http://127.0.0.1") as http:
        _sign_in(http, "admin@alpha.example")
        for path in ("/console/resources/vm-x", "/console/resources"):
            page = http.get(path)
            assert page.status_code == 200, page.text[:300]
            assert "<h1 id=pwn>" not in page.text and "&lt;h1 id=pwn&gt;" in page.text


HOSTILE = (
    "offset=-1",
    "offset=99999999999999999999",
    "days=abc",
    "view=xyz",
    "status=zzz",
    "month=13-2026",
    "mode=nope",
    "granularity=week",
    "filter=nope",
    "q=%25",
    "include_released=maybe",
)


def _links(html: str, base: str, root: str) -> set[str]:
    found = set()
    for href in re.findall(r'href="([^"#]+)"', html):
        url = urljoin(base, href.replace("&amp;", "&"))
        path = urlparse(url).path
        if path.startswith(root) and "/static/" not in path and "sign-out" not in path:
            found.add(url)
    return found


def _crawl(http: TestClient, start: str, root: str, limit: int = 120) -> dict[str, int]:
    seen: dict[str, int] = {}
    todo = deque([start])
    while todo and len(seen) < limit:
        url = todo.popleft()
        if url in seen:
            continue
        answer = http.get(url)
        seen[url] = answer.status_code
        if answer.status_code == 200 and "text/html" in answer.headers.get("content-type", ""):
            todo.extend(_links(answer.text, url, root) - set(seen))
    return seen


@pytest.mark.parametrize(
    ("email", "root"),
    [
        ("billing@acme.example", "/console"),
        ("ap@delta.example", "/console"),
        ("it@epsilon.example", "/console"),
        (OPERATOR_EMAIL, "/operator/console"),
    ],
)
def test_no_link_and_no_bad_parameter_is_a_server_error(sqlite_container, email, root) -> None:  # type: ignore[no-untyped-def]
    c = sqlite_container
    c.write(lambda conn, now: seed(conn, now=now))
    with TestClient(create_app(c), base_url="http://127.0.0.1") as http:
        assert _sign_in(http, email, root=root, password=DEMO_PASSWORD).status_code == 303
        seen = _crawl(http, f"http://127.0.0.1{root}/", root)
        assert len(seen) >= 10
        failed = {url: status for url, status in seen.items() if status >= 400}
        assert failed == {}, failed
        for url in list(seen)[:40]:
            for bad in HOSTILE:
                joined = f"{url}{'&' if '?' in url else '?'}{bad}"
                status = http.get(joined).status_code
                assert status < 500, (joined, status)


def test_a_session_cookie_of_one_console_opens_nothing_in_the_other(container) -> None:  # type: ignore[no-untyped-def]
    customer = new_customer(container, "beta")
    _user(container, customer.id, "admin@beta.example")
    with TestClient(create_app(container), base_url="http://127.0.0.1") as http:
        _sign_in(http, "admin@beta.example")
        cookie = http.cookies.get("cloudbill_session")
        http.cookies.set("cloudbill_operator_session", cookie, path="/operator/console")
        assert http.get("/operator/console/status", follow_redirects=False).status_code == 303
    with container.db.read() as conn:
        assert conn.execute(select(func.count()).select_from(console_user)).scalar_one() == 1
