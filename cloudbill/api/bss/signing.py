"""SDK-HMAC-SHA256, verified exactly as huaweicloudsdkcore's `Signer.sign` computes it.

CanonicalRequest = METHOD \\n URI \\n QUERY \\n HEADERS \\n SIGNED-HEADERS \\n hex(sha256(body)),
where URI is the raw path unquoted once, each segment quoted again with `~` safe and a trailing `/`;
QUERY is the sorted (key, value) pairs quoted the same way; HEADERS is `name:value\\n` for each
signed header (names lowercased, values stripped). StringToSign = "SDK-HMAC-SHA256\\n" + X-Sdk-Date
+ "\\n" + hex(sha256(CanonicalRequest)); the signature is hex(HMAC-SHA256(SK, StringToSign)).
Pure functions: the caller supplies the request's parts, the secret and the current time.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from urllib.parse import quote, unquote, unquote_plus

ALGORITHM = "SDK-HMAC-SHA256"
DATE_FORMAT = "%Y%m%dT%H%M%SZ"
# Huawei's API gateway accepts a signing time this far from its own clock, either way.
MAX_SKEW = timedelta(minutes=15)
EMPTY_BODY_HASH = hashlib.sha256(b"").hexdigest()

_AUTH_RE = re.compile(
    r"^SDK-HMAC-SHA256\s+Access=([^,\s]+),\s*SignedHeaders=([^,\s]+),\s*Signature=([0-9a-fA-F]+)$"
)


class SignatureError(Exception):
    """Why a request's signature is refused (said to the client in general terms only)."""


@dataclass(frozen=True, slots=True)
class Authorization:
    access_key: str
    signed_headers: tuple[str, ...]
    signature: str


def parse_authorization(value: str | None) -> Authorization:
    match = _AUTH_RE.match((value or "").strip())
    if match is None:
        raise SignatureError("the Authorization header is not SDK-HMAC-SHA256 Access=…")
    headers = tuple(match.group(2).split(";"))
    if list(headers) != sorted(headers) or any(h != h.lower() or not h for h in headers):
        raise SignatureError("SignedHeaders must be lowercase names in order")
    return Authorization(match.group(1), headers, match.group(3).lower())


def parse_sdk_date(value: str | None, *, now: datetime) -> datetime:
    try:
        signed_at = datetime.strptime(value or "", DATE_FORMAT).replace(tzinfo=UTC)
    except ValueError:
        raise SignatureError(
            f"X-Sdk-Date must look like 20260101T000000Z ({DATE_FORMAT})"
        ) from None
    if abs(now - signed_at) > MAX_SKEW:
        raise SignatureError("X-Sdk-Date is more than 15 minutes from the server's clock")
    return signed_at


def _encode(text: str) -> str:
    return quote(text, safe="~")


def canonical_uri(raw_path: str) -> str:
    path = "/".join(_encode(segment) for segment in unquote(raw_path).split("/"))
    return path if path.endswith("/") else path + "/"


def canonical_query(raw_query: str) -> str:
    """The query as signed: decoded as the server reads it (`+` is a space, `%2B` a plus: a
    signature over one never covers the other), sorted by key. A key given twice with other
    values is refused: sorting would sign `a=1&a=2` and `a=2&a=1` alike, while the route reads
    only one of them."""
    pairs = []
    for part in raw_query.split("&") if raw_query else ():
        key, _, value = part.partition("=")
        pairs.append((unquote_plus(key), unquote_plus(value)))
    values: dict[str, str] = {}
    for key, value in pairs:
        if values.setdefault(key, value) != value:
            raise SignatureError(f"query parameter {key!r} is given more than once")
    return "&".join(f"{_encode(k)}={_encode(v)}" for k, v in sorted(pairs))


def canonical_request(
    *,
    method: str,
    raw_path: str,
    raw_query: str,
    headers: Mapping[str, str],
    signed_headers: tuple[str, ...],
    body: bytes,
) -> str:
    """`headers` keyed by lowercase name; a signed header the request lacks fails the check."""
    lines = []
    for name in signed_headers:
        if name not in headers:
            raise SignatureError(f"signed header {name!r} is missing")
        lines.append(f"{name}:{headers[name].strip()}")
    body_hash = hashlib.sha256(body).hexdigest() if body else EMPTY_BODY_HASH
    return "\n".join(
        (
            method.upper(),
            canonical_uri(raw_path),
            canonical_query(raw_query),
            "\n".join(lines) + "\n",
            ";".join(signed_headers),
            body_hash,
        )
    )


def signature(secret: str, sdk_date: str, canonical: str) -> str:
    digest = hashlib.sha256(canonical.encode()).hexdigest()
    to_sign = f"{ALGORITHM}\n{sdk_date}\n{digest}"
    return hmac.new(secret.encode(), to_sign.encode(), hashlib.sha256).hexdigest()


def check_signature(auth: Authorization, secret: str, sdk_date: str, canonical: str) -> None:
    if not hmac.compare_digest(signature(secret, sdk_date, canonical), auth.signature):
        raise SignatureError("the signature does not match (check the SK and the signed request)")
