"""HMAC-SHA256 signatures of outgoing webhook bodies, and their verification.

The header is ``X-Watchkeeper-Signature: t=<unix seconds>,v1=<hex>`` where the
hex digest is HMAC-SHA256(secret, ``"<t>." + raw body``). Signing the timestamp
with the body lets a receiver refuse replays of an old, validly signed request.
This module is dependency-free so receivers can copy it (see docs/notifications.md).
"""

from __future__ import annotations

import hashlib
import hmac

SIGNATURE_HEADER = "X-Watchkeeper-Signature"
DEFAULT_TOLERANCE_SECONDS = 300


def signature_header(body: bytes, secret: str, timestamp: int) -> str:
    """The signature header value for ``body`` sent at ``timestamp``."""
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"t={timestamp},v1={digest.hexdigest()}"


def verify_signature(
    body: bytes,
    header: str,
    secret: str,
    *,
    now: int,
    tolerance: int = DEFAULT_TOLERANCE_SECONDS,
) -> bool:
    """True if ``header`` is a valid signature of ``body`` made within ``tolerance`` seconds."""
    fields: dict[str, list[str]] = {}
    for part in header.split(","):
        key, _, value = part.strip().partition("=")
        fields.setdefault(key, []).append(value)
    try:
        timestamp = int(fields["t"][0])
    except (KeyError, ValueError):
        return False
    if abs(now - timestamp) > tolerance:
        return False
    expected = signature_header(body, secret, timestamp).rsplit("v1=", 1)[1]
    # A sender rotating its secret may send one v1 per secret; any match is enough.
    return any(hmac.compare_digest(expected, v) for v in fields.get("v1", []))
