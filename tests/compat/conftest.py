"""The BSS listener on a free loopback port, spoken to by the real huaweicloudsdkbssintl client."""

from __future__ import annotations

import dataclasses
import json
import socket
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
from huaweicloudsdkbssintl.v2 import BssintlClient
from huaweicloudsdkcore.auth.credentials import GlobalCredentials
from huaweicloudsdkcore.sdk_request import SdkRequest
from huaweicloudsdkcore.signer.signer import Signer

from cloudbill.api.bss.app import create_bss_app
from cloudbill.api.bss.listener import ThreadedServer
from cloudbill.bootstrap import Container
from cloudbill.credentials import service as credentials
from cloudbill.credentials.model import IssuedKey
from cloudbill.credentials.sealing import SecretBox

Client = Callable[..., Any]


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_bss(container: Container, **settings: Any) -> ThreadedServer:
    """The app as `cloudbill serve` builds it, with settings changed (e.g. the rate limit)."""
    changed = dataclasses.replace(
        container, settings=container.settings.model_copy(update=settings)
    )
    app = create_bss_app(changed)
    return ThreadedServer(app, host="127.0.0.1", port=free_port(), log_level="warning").start()


@pytest.fixture
def bss(container: Container) -> Iterator[str]:
    server = start_bss(container, bss_rate_per_s=10_000, bss_burst=10_000)
    yield f"http://127.0.0.1:{server.port}"
    server.stop()


def issue_key(container: Container, customer_id: str) -> IssuedKey:
    box = SecretBox(container.secret_key())
    return container.write(
        lambda conn, now: credentials.create(conn, customer_id, box=box, now=now)
    )


def sdk_client(endpoint: str, ak: str, sk: str, domain_id: str | None) -> Any:
    return (
        BssintlClient.new_builder()
        .with_credentials(GlobalCredentials(ak, sk, domain_id))
        .with_endpoints([endpoint])
        .build()
    )


@dataclasses.dataclass(frozen=True)
class SignedRequest:
    """A request signed once by the SDK's own signer; `send` may send it again byte for byte."""

    method: str
    url: str
    headers: dict[str, str]
    body: bytes

    def send(self) -> httpx.Response:
        return httpx.request(self.method, self.url, headers=self.headers, content=self.body)


def sign(
    endpoint: str,
    ak: str,
    sk: str,
    method: str,
    path: str,
    query: dict[str, Any] | None = None,
    body: Any = None,
) -> SignedRequest:
    """Sign a request as huaweicloudsdkcore does, for routes used without a model class."""
    payload = b"" if body is None else json.dumps(body).encode()
    headers = {} if body is None else {"Content-Type": "application/json;charset=UTF-8"}
    request = SdkRequest(
        method=method,
        schema="http",
        host=endpoint.removeprefix("http://"),
        resource_path=path,
        query_params=sorted((query or {}).items()),
        header_params=headers,
        body=payload,
    )
    Signer(GlobalCredentials(ak, sk)).sign(request)
    return SignedRequest(method, endpoint + request.uri, dict(request.header_params), payload)


def sdk_signed(
    endpoint: str, ak: str, sk: str, method: str, path: str, call: Any
) -> httpx.Response:
    """`call` (query and body) signed and sent once."""
    return sign(endpoint, ak, sk, method, path, call.query, call.body).send()
