"""Small, defensive readers shared by the adapters.

Payloads are untrusted JSON: every reader accepts any value and either
returns something usable or raises PayloadError, never anything else.
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

from watchkeeper.alerts.normalized import Link, PayloadError

MAX_KEY_CHARS = 255
MAX_TITLE_CHARS = 1024
MAX_MESSAGE_CHARS = 65536

# Senders use many words for the same four severities. Anything unknown falls
# back to the kind's default instead of being rejected.
_SEVERITY_WORDS: dict[str, str] = {}
for _severity, _words in {
    "critical": "critical crit fatal emergency emerg alert page disaster high p1 sev1 sev-1 s1",
    "error": "error err major average p2 sev2 sev-2 s2",
    "warning": "warning warn minor medium p3 sev3 sev-3 s3",
    "info": "info information informational notice low debug none ok p4 p5 sev4 sev5 s4 s5",
}.items():
    for _word in _words.split():
        _SEVERITY_WORDS[_word] = _severity

# Alertmanager's own PagerDuty receiver pages as "critical" when an alert has
# no severity label; matching it means a migrated route behaves the same.
DEFAULT_SEVERITY = "critical"


def map_severity(value: object) -> str | None:
    """One of critical|error|warning|info for a sender's severity word, else None."""
    if not isinstance(value, str):
        return None
    return _SEVERITY_WORDS.get(value.strip().lower())


def text(value: object) -> str:
    """Any JSON value as text: strings as-is, containers as compact JSON."""
    if isinstance(value, str):
        return value
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    try:
        if isinstance(value, int | float):
            return str(value)
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=str)
    except (ValueError, RecursionError):  # >4300-digit ints, absurd nesting
        return "<unprintable value>"


def nonblank(value: object) -> str | None:
    """The string if it is a non-blank string, else None."""
    if isinstance(value, str) and value.strip():
        return value
    return None


def string_map(value: object, where: str, *, required: bool = False) -> dict[str, str]:
    """A JSON object of strings (labels, annotations); other values become text."""
    if value is None and not required:
        return {}
    if not isinstance(value, dict):
        raise PayloadError(f"{where} must be an object of strings")
    return {k: v if isinstance(v, str) else text(v) for k, v in value.items()}


def strict_string_map(value: object, where: str) -> dict[str, str]:
    """A JSON object whose values must all be strings (Alertmanager API v2 label sets)."""
    if not isinstance(value, dict):
        raise PayloadError(f"{where} must be an object of strings")
    for key, item in value.items():
        if not isinstance(item, str):
            raise PayloadError(f"{where}.{key} must be a string, got {type(item).__name__}")
    return dict(value)


@lru_cache(maxsize=4096)
def _parse_time(value: str) -> datetime | None:
    try:
        parsed = datetime.fromisoformat(value)
        if parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=UTC)
        parsed = parsed.astimezone(UTC)
    except (ValueError, OverflowError):
        raise PayloadError(f"{value[:64]!r} is not an RFC 3339 timestamp") from None
    # Go's zero time (0001-01-01T00:00:00Z) means "not set" in Alertmanager.
    return None if parsed.year <= 1 else parsed


def parse_time(value: object, where: str, *, strict: bool = False) -> datetime | None:
    """Aware UTC time from an RFC 3339 string; None when absent or zero.

    With strict=False an unreadable time is ignored rather than rejected:
    a webhook with an odd timestamp is still worth paging for.
    """
    if value is None or value == "":
        return None
    try:
        if not isinstance(value, str):
            raise PayloadError(f"{where} must be an RFC 3339 timestamp string")
        return _parse_time(value)
    except PayloadError as exc:
        if strict:
            raise PayloadError(f"{where}: {exc}") from None
        return None


def http_url(value: object) -> str | None:
    """The value if it is an absolute http(s) URL; anything else could be a script link."""
    if isinstance(value, str) and value[:8].lower().startswith(("https://", "http://")):
        return value
    return None


def link(title: str, url: object) -> Link | None:
    safe = http_url(url)
    return Link(title=title, url=safe) if safe else None


def encode(value: str) -> bytes:
    # JSON may carry lone surrogates ("\ud800"); they must hash, not crash.
    return value.encode("utf-8", "surrogatepass")


def labels_fingerprint(labels: dict[str, str]) -> str:
    """Stable identity of a label set (order-independent).

    0xFF never occurs in UTF-8, so using it as separator makes the encoding
    unambiguous, like Prometheus' own label-set fingerprint.
    """
    data = b"\xff".join(
        [part.encode("utf-8", "surrogatepass") for item in sorted(labels.items()) for part in item]
    )
    return hashlib.sha256(data).hexdigest()[:32]


def json_fingerprint(value: Any) -> str:
    """Stable hash of any JSON value (object keys sorted)."""
    try:
        data = json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    except (ValueError, RecursionError):
        raise PayloadError("payload is nested too deeply") from None
    return hashlib.sha256(encode(data)).hexdigest()[:32]


def bounded_key(value: str) -> str:
    """Keys longer than MAX_KEY_CHARS are replaced by their hash (same identity, fits a column)."""
    if len(value) <= MAX_KEY_CHARS:
        return value
    return "sha256:" + hashlib.sha256(encode(value)).hexdigest()


def first_text(mapping: dict[str, Any], *keys: str) -> str | None:
    """The first non-blank string among `keys` of `mapping`."""
    for key in keys:
        found = nonblank(mapping.get(key))
        if found is not None:
            return found
    return None
