"""Which Prometheus an SLO is evaluated against, and a guarded client for it."""

from __future__ import annotations

from dataclasses import dataclass, field

from watchkeeper.notify.netguard import AllowList, GuardedTransport, UnsafeUrl, check_url
from watchkeeper.settings import Settings
from watchkeeper.slo.prometheus import PrometheusClient

# Range queries for the learner return up to 10,000 points per series.
MAX_RESPONSE_BYTES = 32 * 1024 * 1024
TIMEOUT_SECONDS = 10.0


class NoPrometheus(ValueError):
    """No Prometheus URL is configured for an SLO, nor in the settings."""


@dataclass(frozen=True)
class PrometheusTarget:
    """A Prometheus base URL and the credentials that go with it."""

    url: str
    bearer_token: str | None = field(default=None, repr=False)
    basic_auth: tuple[str, str] | None = field(default=None, repr=False)


def parse_basic_auth(text: str) -> tuple[str, str]:
    """`USER:PASSWORD` → (user, password)."""
    user, sep, password = text.partition(":")
    if not sep or not user:
        raise ValueError("basic auth must look like USER:PASSWORD")
    return user, password


def check_prometheus_url(url: str, settings: Settings) -> None:
    """Refuse URLs that are not http(s) or point at link-local / cloud metadata addresses."""
    check_url(url, allow_list(settings), resolve=False)


def allow_list(settings: Settings) -> AllowList:
    return AllowList.parse(settings.notify_url_allow, deny_private=settings.notify_deny_private)


def resolve_target(
    *,
    settings: Settings,
    url: str | None = None,
    bearer_token: str | None = None,
    basic_auth: str | None = None,
) -> PrometheusTarget:
    """The SLO's own URL and credentials, else the settings' ones.

    Credentials stay with the URL they were configured for: an SLO that names
    its own Prometheus never receives the installation-wide token.
    """
    if url:
        token, basic = bearer_token, basic_auth
    elif settings.prometheus_url:
        url = settings.prometheus_url
        token = bearer_token or settings.prometheus_token
        basic = basic_auth or (None if bearer_token else settings.prometheus_basic_auth)
    else:
        raise NoPrometheus(
            "no Prometheus URL: set evaluation.prometheus_url on the SLO or "
            "WATCHKEEPER_PROMETHEUS_URL"
        )
    return PrometheusTarget(
        url=url,
        bearer_token=token or None,
        basic_auth=parse_basic_auth(basic) if basic else None,
    )


def open_client(target: PrometheusTarget, settings: Settings) -> PrometheusClient:
    """A client whose connections pass the outgoing-URL policy (no metadata endpoints)."""
    try:
        check_prometheus_url(target.url, settings)
    except UnsafeUrl as exc:
        raise NoPrometheus(f"Prometheus URL {target.url} refused: {exc}") from exc
    transport = GuardedTransport(
        allow_list(settings),
        total_timeout=TIMEOUT_SECONDS,
        max_response_bytes=MAX_RESPONSE_BYTES,
    )
    return PrometheusClient(
        target.url,
        bearer_token=target.bearer_token,
        basic_auth=target.basic_auth,
        timeout=TIMEOUT_SECONDS,
        transport=transport,
    )
