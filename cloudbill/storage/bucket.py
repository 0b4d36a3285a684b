"""The bucket, through boto3 (the field's standard S3 client; any S3-compatible server).

Every failure becomes a `BucketError` naming the problem exactly (unknown bucket, access
denied, endpoint unreachable), so a verification or a push can say what is wrong."""

from __future__ import annotations

import hashlib
import secrets
from typing import IO, Any

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError, EndpointConnectionError

from .model import BucketError, Problem, Target, VerifyReport

CONNECT_TIMEOUT_S = 5
READ_TIMEOUT_S = 60
ACCESS_CODES = {
    "AccessDenied", "InvalidAccessKeyId", "SignatureDoesNotMatch", "AllAccessDisabled",
    "InvalidSecurity", "ExpiredToken", "InvalidToken", "AccountProblem", "Forbidden",
}  # fmt: skip
BUCKET_CODES = {"NoSuchBucket", "InvalidBucketName"}


def client(target: Target) -> Any:
    """Path-style addressing: what S3-compatible servers (MinIO, Ceph, OBS, moto) all accept."""
    config = Config(
        connect_timeout=CONNECT_TIMEOUT_S,
        read_timeout=READ_TIMEOUT_S,
        retries={"max_attempts": 2, "mode": "standard"},
        s3={"addressing_style": "path"},
        signature_version="s3v4",
    )
    return boto3.session.Session().client(
        "s3",
        endpoint_url=target.endpoint_url,
        region_name=target.region,
        aws_access_key_id=target.access_key_id,
        aws_secret_access_key=target.secret_access_key,
        config=config,
    )


def classify(exc: Exception) -> BucketError:
    if isinstance(exc, BucketError):
        return exc
    if isinstance(exc, ClientError):
        error = exc.response.get("Error", {})
        code = str(error.get("Code", ""))
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        text = f"{code}: {error.get('Message') or 'no message'}"[:500]
        if code in BUCKET_CODES or (status == 404 and not code.startswith("NoSuchKey")):
            return BucketError(Problem.BUCKET_NOT_FOUND, text)
        if code in ACCESS_CODES or status == 403:
            return BucketError(Problem.ACCESS_DENIED, text)
        return BucketError(Problem.OTHER, text)
    if isinstance(exc, EndpointConnectionError):
        return BucketError(Problem.ENDPOINT_UNREACHABLE, str(exc)[:500])
    if isinstance(exc, BotoCoreError | OSError):
        # Timeouts, refused connections and TLS failures: the endpoint cannot be talked to.
        return BucketError(Problem.ENDPOINT_UNREACHABLE, f"{type(exc).__name__}: {exc}"[:500])
    raise exc


def put(s3: Any, bucket: str, key: str, body: bytes | IO[bytes], *, content_type: str) -> None:
    try:
        s3.put_object(Bucket=bucket, Key=key, Body=body, ContentType=content_type)
    except Exception as exc:
        raise classify(exc) from None


def verify(target: Target) -> VerifyReport:
    """Write, read back and delete a test object under the prefix; the first step that fails
    is reported with its problem."""
    try:
        s3 = client(target)
    except ValueError as exc:  # an endpoint the client refuses (e.g. a host with "_")
        return VerifyReport(False, "write", Problem.ENDPOINT_UNREACHABLE, str(exc)[:200])
    base = f"{target.prefix}/" if target.prefix else ""
    key = f"{base}cloudbill-verify-{secrets.token_hex(8)}.txt"
    body = f"cloudbill bill storage check {secrets.token_hex(16)}\n".encode()
    steps = (
        ("write", lambda: s3.put_object(Bucket=target.bucket, Key=key, Body=body)),
        ("read", lambda: _read_back(s3, target.bucket, key, body)),
        ("delete", lambda: s3.delete_object(Bucket=target.bucket, Key=key)),
    )
    for step, action in steps:
        try:
            action()
        except Exception as exc:
            error = classify(exc)
            return VerifyReport(False, step, error.problem, error.message)
    return VerifyReport(True)


def _read_back(s3: Any, bucket: str, key: str, expected: bytes) -> None:
    got = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
    if hashlib.sha256(got).digest() != hashlib.sha256(expected).digest():
        raise BucketError(Problem.READ_BACK_MISMATCH, "the object read back differs from it")
