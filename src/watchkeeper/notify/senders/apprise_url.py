"""Any service Apprise knows (Discord, Matrix, Pushover, Mattermost...) from one Apprise URL.

Apprise reports success as a boolean per service; why a service failed is
only in its log lines, so the HTTP status is read from them ("error=503") to
tell a retryable failure from a final one. Apprise's plugins use ``requests``
internally: the outgoing-URL guard checks the URL's host when the target is
saved and resolved before each send, but cannot follow Apprise's own redirects.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

import apprise

from watchkeeper.notify.message import Message, render_text, subject_line
from watchkeeper.notify.netguard import AllowList, UnsafeUrl, check_host
from watchkeeper.notify.senders.base import (
    DEFAULT_TIMEOUT,
    InvalidTarget,
    Outcome,
    exception_outcome,
    is_retryable_status,
    redact,
    required,
)

_STATUS = re.compile(r"error=(\d{3})")
_NOTIFY_TYPES = {
    "critical": apprise.NotifyType.FAILURE,
    "error": apprise.NotifyType.FAILURE,
    "warning": apprise.NotifyType.WARNING,
}


def _plugin_host(url: str) -> str | None:
    plugin = apprise.Apprise.instantiate(url)
    if plugin is None:
        raise InvalidTarget(
            "Apprise does not recognize this URL (unknown scheme or missing parts); "
            "see https://github.com/caronc/apprise/wiki for the URL of each service"
        )
    host = getattr(plugin, "host", None)
    return host if isinstance(host, str) and host else None


def validate_target(
    settings: Mapping[str, str], *, allow: AllowList, resolve: bool = False
) -> dict[str, str]:
    """Settings: ``url``, an Apprise URL such as ``discord://id/token`` or ``json://host/path``."""
    url = required(settings, "url", "The Apprise URL")
    host = _plugin_host(url)
    if host is not None:
        try:
            check_host(host, allow, resolve=resolve)
        except UnsafeUrl as exc:
            raise InvalidTarget(f"The Apprise URL is refused: {exc.message}") from None
    return {"url": url}


class AppriseSender:
    """Delivers through the Apprise library."""

    method = "apprise"

    def __init__(self, *, allow: AllowList | None = None, timeout: float = DEFAULT_TIMEOUT) -> None:
        self.allow = allow or AllowList()
        self.timeout = timeout

    def validate_target(self, settings: Mapping[str, str]) -> dict[str, str]:
        return validate_target(settings, allow=self.allow)

    def send(self, target: Mapping[str, str], message: Message) -> Outcome:
        url = target.get("url")
        try:
            settings = validate_target(target, allow=self.allow, resolve=True)
            asset = apprise.AppriseAsset(app_id="Watchkeeper", app_desc="Watchkeeper on-call")
            notifier = apprise.Apprise(asset=asset)
            if not notifier.add(settings["url"]):
                return Outcome.failed("Apprise refused the URL", retryable=False)
            result = notifier.notify(
                body=render_text(message, with_subject=False),
                title=subject_line(message),
                notify_type=_NOTIFY_TYPES.get(message.severity.lower(), apprise.NotifyType.INFO),
                timeout=self.timeout,
            )
            lines = redact("\n".join(e.message for e in result.logs()), [url])
            if result:
                return Outcome.sent(lines or "sent")
            statuses = [int(s) for s in _STATUS.findall(lines)]
            if result.status == apprise.AppriseResultStatus.TIMEOUT or not statuses:
                # Timeouts and connection errors carry no status: the service
                # may simply be unreachable for now.
                retryable = True
            else:
                retryable = any(is_retryable_status(s) for s in statuses)
            return Outcome.failed(lines or "Apprise reported a failure", retryable=retryable)
        except Exception as exc:
            return exception_outcome(exc, [url])
