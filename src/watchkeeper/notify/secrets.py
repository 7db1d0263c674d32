"""Encryption at rest for channel secrets (bot tokens, auth tokens, webhook signing keys).

The key is derived from the instance secret key with HKDF-SHA256, so there is
no second key to back up; a distinct HKDF ``info`` keeps this key unrelated to
the session-cookie and acknowledge-link keys derived from the same secret.
Old instance keys can be passed as ``previous_keys`` while rotating.
"""

from __future__ import annotations

import base64
from collections.abc import Sequence

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

# Stored values carry a prefix so a reader can tell ciphertext from a
# plaintext value written before encryption was turned on, and so a future
# scheme can be told apart from this one.
PREFIX = "wkenc1:"
_SALT = b"watchkeeper"
_INFO = b"watchkeeper/notify/secrets/v1"


class SecretDecryptError(Exception):
    """The value was not encrypted with this instance's key, or was altered."""


def derive_key(instance_key: str) -> bytes:
    """The Fernet key (urlsafe base64 of 32 bytes) for notification secrets."""
    if not instance_key:
        raise ValueError("the instance secret key is empty")
    raw = HKDF(algorithm=hashes.SHA256(), length=32, salt=_SALT, info=_INFO).derive(
        instance_key.encode()
    )
    return base64.urlsafe_b64encode(raw)


def is_encrypted(value: str) -> bool:
    """True if ``value`` looks like the output of ``SecretBox.encrypt``."""
    return value.startswith(PREFIX)


class SecretBox:
    """Encrypts and decrypts secrets with keys derived from the instance secret key."""

    def __init__(self, instance_key: str, *, previous_keys: Sequence[str] = ()) -> None:
        keys = [Fernet(derive_key(k)) for k in (instance_key, *previous_keys)]
        self._fernet = MultiFernet(keys)

    def encrypt(self, plaintext: str) -> str:
        """Ciphertext safe to store in a text column."""
        return PREFIX + self._fernet.encrypt(plaintext.encode()).decode("ascii")

    def decrypt(self, stored: str) -> str:
        """The plaintext of a value made by ``encrypt`` with this or a previous key."""
        if not is_encrypted(stored):
            raise SecretDecryptError("the value is not an encrypted Watchkeeper secret")
        try:
            return self._fernet.decrypt(stored[len(PREFIX) :].encode("ascii")).decode()
        except (InvalidToken, UnicodeError):
            raise SecretDecryptError(
                "cannot decrypt: wrong instance secret key or altered value"
            ) from None

    def rotate(self, stored: str) -> str:
        """Re-encrypt a value under the current key (after changing the instance key)."""
        return PREFIX + self._fernet.rotate(stored[len(PREFIX) :].encode("ascii")).decode("ascii")
