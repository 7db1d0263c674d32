"""Domain errors; services raise these and one place maps them to HTTP."""

from __future__ import annotations


class DomainError(Exception):
    """Base of errors a service raises on purpose."""

    status_code = 400
    code = "bad_request"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class Invalid(DomainError):
    """The request is well-formed but asks for something impossible."""

    status_code = 422
    code = "invalid"


class BadRequest(DomainError):
    """The request could not be understood (malformed body or parameters)."""

    status_code = 400
    code = "bad_request"


class NotFound(DomainError):
    """The object does not exist or is not visible to the caller."""

    status_code = 404
    code = "not_found"


class Conflict(DomainError):
    """The change clashes with existing state (duplicate, stale version)."""

    status_code = 409
    code = "conflict"


class Unauthorized(DomainError):
    """No valid credentials."""

    status_code = 401
    code = "unauthorized"


class Forbidden(DomainError):
    """Valid credentials, but the role does not allow this."""

    status_code = 403
    code = "forbidden"


class PayloadTooLarge(DomainError):
    """The request body is over the configured limit."""

    status_code = 413
    code = "payload_too_large"


class RateLimited(DomainError):
    """Too many requests; retry after the given number of seconds."""

    status_code = 429
    code = "rate_limited"

    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class Unavailable(DomainError):
    """A dependency (usually the database) is down; the client should retry."""

    status_code = 503
    code = "unavailable"
