"""Secret keys at rest: sealed with Fernet (AES-128-CBC + HMAC-SHA256), because verifying an
AK/SK signature needs the SK in plain text, so it cannot be stored as a one-way hash."""

from __future__ import annotations

import base64

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from ..kernel.errors import CloudbillError, ErrorCode

# CLOUDBILL_SECRET_KEY is any high-entropy text; HKDF turns it into Fernet's 32-byte key, and the
# label keeps this key apart from anything else that setting may ever be used for.
_INFO = b"cloudbill access-key secrets v1"


class SecretBox:
    def __init__(self, master_key: str) -> None:
        if len(master_key) < 32:
            raise CloudbillError(
                ErrorCode.INVALID_ARGUMENT, "CLOUDBILL_SECRET_KEY must be at least 32 characters"
            )
        derived = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_INFO).derive(
            master_key.encode()
        )
        self._fernet = Fernet(base64.urlsafe_b64encode(derived))

    def seal(self, secret: str) -> str:
        return self._fernet.encrypt(secret.encode()).decode("ascii")

    def open(self, sealed: str) -> str:
        try:
            return self._fernet.decrypt(sealed.encode("ascii")).decode()
        except InvalidToken:
            # The key changed since the secret was sealed: the access key cannot be used again.
            raise CloudbillError(
                ErrorCode.INVALID_STATE,
                "an access key was sealed with another CLOUDBILL_SECRET_KEY; issue a new one",
            ) from None
