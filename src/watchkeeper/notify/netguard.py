"""Outgoing-URL safety: keep notification webhooks away from link-local and cloud metadata.

Anyone who may add a contact method chooses the URL Watchkeeper posts to. A
URL that reaches the cloud metadata service (169.254.169.254 and friends)
hands out instance credentials, so those addresses are refused by default.

Loopback and private ranges are *allowed* by default on purpose: Watchkeeper
is self-hosted, and posting to a chat bridge on localhost or a ticket system
on 10.x is the common case, not an attack. Installations that serve several
untrusted tenants set ``deny_private`` and allow-list what they need.

The check runs twice: statically on the URL (scheme, host name, literal IP),
and again at connect time on every IP the name resolves to, for every request
and every redirect hop. Connecting to the very IP that was checked closes the
DNS-rebinding gap between "resolve to check" and "resolve to connect".
"""

from __future__ import annotations

import functools
import ipaddress
import re
import socket
import ssl
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

import httpcore
import httpx

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
Resolver = Callable[[str, int], list[str]]

METADATA_HOSTS = frozenset({"metadata.google.internal", "metadata.goog", "metadata"})
METADATA_IPS = frozenset(
    ipaddress.ip_address(a) for a in ("169.254.169.254", "fd00:ec2::254", "100.100.100.200")
)
LINK_LOCAL = (ipaddress.ip_network("169.254.0.0/16"), ipaddress.ip_network("fe80::/10"))
_NAT64 = ipaddress.ip_network("64:ff9b::/96")
_LEGACY_IPV4 = re.compile(r"[0-9a-fx.]+")

DEFAULT_MAX_RESPONSE_BYTES = 64 * 1024
DEFAULT_MAX_REDIRECTS = 3


class UnsafeUrl(Exception):
    """The URL (or an address it resolves to) is refused by the outgoing-URL policy."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class UnresolvableHost(UnsafeUrl):
    """The host name did not resolve; unlike other refusals this may pass later."""


@dataclass(frozen=True, slots=True)
class AllowList:
    """Exceptions to the policy, from settings: host names and networks always allowed.

    ``deny_private`` additionally refuses loopback, private, shared (CGNAT) and
    unique-local addresses that are not allow-listed.
    """

    hosts: frozenset[str] = frozenset()
    networks: tuple[IPNetwork, ...] = ()
    deny_private: bool = False

    @classmethod
    def parse(cls, entries: Iterable[str], *, deny_private: bool = False) -> AllowList:
        """Build from strings such as ``hooks.internal``, ``10.1.0.0/16`` or ``169.254.10.1``."""
        hosts: set[str] = set()
        networks: list[IPNetwork] = []
        for raw in entries:
            entry = raw.strip().lower()
            if not entry:
                continue
            try:
                networks.append(ipaddress.ip_network(entry, strict=False))
            except ValueError:
                hosts.add(entry.rstrip("."))
        return cls(frozenset(hosts), tuple(networks), deny_private)

    def allows_host(self, host: str) -> bool:
        return _normal_host(host) in self.hosts

    def allows_ip(self, ip: IPAddress) -> bool:
        return any(ip.version == n.version and ip in n for n in self.networks)


def _normal_host(host: str) -> str:
    return host.strip("[]").rstrip(".").lower()


def _embedded_ipv4(ip: IPAddress) -> IPAddress:
    """The IPv4 address inside ::ffff:a.b.c.d or 64:ff9b::a.b.c.d, else ``ip`` itself."""
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return ip.ipv4_mapped
        if ip in _NAT64:
            return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return ip


def check_ip(address: str | IPAddress, allow: AllowList, *, host: str = "") -> None:
    """Raise ``UnsafeUrl`` if connecting to this address is refused."""
    ip = ipaddress.ip_address(address) if isinstance(address, str) else address
    if allow.allows_ip(ip):
        return
    plain = _embedded_ipv4(ipaddress.ip_address(str(ip).split("%")[0]))
    where = f"{host} resolves to {plain}" if host and host != str(ip) else str(plain)
    if plain in METADATA_IPS:
        raise UnsafeUrl(f"{where}, a cloud metadata address; refused")
    if any(plain.version == n.version and plain in n for n in LINK_LOCAL):
        raise UnsafeUrl(f"{where}, a link-local address; refused")
    if plain.is_multicast or plain.is_unspecified:
        raise UnsafeUrl(f"{where}, which is not a unicast address; refused")
    if allow.deny_private and (plain.is_private or plain.is_loopback or _is_shared(plain)):
        raise UnsafeUrl(f"{where}, a private address, and private addresses are denied")


def _is_shared(ip: IPAddress) -> bool:
    return isinstance(ip, ipaddress.IPv4Address) and ip in ipaddress.ip_network("100.64.0.0/10")


def system_resolver(host: str, port: int) -> list[str]:
    """Every IP address ``host`` resolves to, via the system resolver."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


def _literal_ip(host: str) -> IPAddress | None:
    try:
        return ipaddress.ip_address(host.split("%")[0])
    except ValueError:
        pass
    # Legacy IPv4 spellings (2852039166, 0xa9fea9fe, 169.254.43518) that the
    # system resolver turns into addresses; judge them without a DNS query.
    if _LEGACY_IPV4.fullmatch(host) and any(c.isdigit() for c in host):
        try:
            return ipaddress.IPv4Address(socket.inet_aton(host))
        except OSError:
            return None
    return None


def check_url(
    url: str | httpx.URL,
    allow: AllowList,
    *,
    resolve: bool = True,
    resolver: Resolver = system_resolver,
) -> None:
    """Raise ``UnsafeUrl`` unless ``url`` is an http(s) URL the policy allows.

    With ``resolve=False`` only the URL itself is judged (no DNS): use that when
    saving settings, so a DNS hiccup does not block a save; the connect-time
    check in ``safe_client`` still resolves.
    """
    try:
        parsed = httpx.URL(url) if isinstance(url, str) else url
    except (httpx.InvalidURL, ValueError) as exc:
        raise UnsafeUrl(f"not a valid URL: {exc}") from None
    if parsed.scheme not in ("http", "https"):
        raise UnsafeUrl(f"only http and https URLs are allowed, not {parsed.scheme or 'none'!r}")
    check_host(parsed.host, allow, port=parsed.port or 0, resolve=resolve, resolver=resolver)


def check_host(
    host: str,
    allow: AllowList,
    *,
    port: int = 0,
    resolve: bool = True,
    resolver: Resolver = system_resolver,
) -> None:
    """Raise ``UnsafeUrl`` unless connecting to ``host`` is allowed; also for non-HTTP peers."""
    name = _normal_host(host)
    if not name:
        raise UnsafeUrl("the URL has no host")
    if allow.allows_host(name):
        return
    if name in METADATA_HOSTS:
        raise UnsafeUrl(f"{name} is a cloud metadata host; refused")
    literal = _literal_ip(name)
    if literal is not None:
        check_ip(literal, allow)
        return
    if resolve:
        try:
            addresses = resolver(name, port)
        except OSError as exc:
            raise UnresolvableHost(f"cannot resolve {name}: {exc}") from None
        for address in addresses:
            check_ip(address, allow, host=name)


class GuardedBackend(httpcore.NetworkBackend):
    """A network backend that resolves, checks, then connects to the checked IP."""

    def __init__(self, allow: AllowList, resolver: Resolver = system_resolver) -> None:
        self._allow = allow
        self._resolver = resolver
        self._inner = httpcore.SyncBackend()

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.NetworkStream:
        if self._allow.allows_host(host):
            return self._inner.connect_tcp(host, port, timeout, local_address, socket_options)
        literal = _literal_ip(host)
        if literal is not None:
            addresses = [str(literal)]
        else:
            try:
                addresses = self._resolver(host, port)
            except OSError as exc:
                # A DNS failure is a connection problem (worth a retry), not a refusal.
                raise httpcore.ConnectError(f"cannot resolve {host}: {exc}") from exc
        for address in addresses:
            check_ip(address, self._allow, host=host)
        last: Exception = httpcore.ConnectError(f"{host} resolves to no address")
        for address in addresses:
            try:
                return self._inner.connect_tcp(
                    address, port, timeout, local_address, socket_options
                )
            except httpcore.ConnectError as exc:
                last = exc
        raise last

    def sleep(self, seconds: float) -> None:
        self._inner.sleep(seconds)


class _BoundedStream(httpx.SyncByteStream):
    """A response body cut off after ``max_bytes`` and failing after ``deadline``.

    Cutting off (rather than failing) is deliberate: the provider already
    accepted the request, and senders keep only the first 2 KiB anyway.
    """

    def __init__(self, inner: httpx.SyncByteStream, max_bytes: int, deadline: float) -> None:
        self._inner = inner
        self._max_bytes = max_bytes
        self._deadline = deadline

    def __iter__(self) -> Iterator[bytes]:
        seen = 0
        for chunk in self._inner:
            if time.monotonic() > self._deadline:
                raise httpx.ReadTimeout("the response took longer than the total time limit")
            chunk = chunk[: self._max_bytes - seen]
            seen += len(chunk)
            if chunk:
                yield chunk
            if seen >= self._max_bytes:
                break

    def close(self) -> None:
        self._inner.close()


@functools.lru_cache(maxsize=1)
def shared_ssl_context() -> ssl.SSLContext:
    """One verifying SSL context for every outgoing client.

    Building a context loads the CA bundle, which costs tens of milliseconds;
    doing it per notification would put that on every page's critical path.
    SSLContext objects are safe to share between threads once configured.
    """
    return httpx.create_ssl_context()


class GuardedTransport(httpx.BaseTransport):
    """An httpx transport enforcing the policy on every request, redirect hop and connection."""

    def __init__(
        self,
        allow: AllowList,
        *,
        total_timeout: float,
        max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES,
        resolver: Resolver = system_resolver,
    ) -> None:
        self._allow = allow
        self._resolver = resolver
        self._total_timeout = total_timeout
        self._max_response_bytes = max_response_bytes
        context = shared_ssl_context()
        self._inner = httpx.HTTPTransport(retries=0, verify=context)
        # httpx offers no public hook for the network backend; swap the pool for
        # one that connects through GuardedBackend (same settings httpx uses).
        self._inner._pool = httpcore.ConnectionPool(
            ssl_context=context,
            max_connections=10,
            max_keepalive_connections=5,
            keepalive_expiry=5.0,
            network_backend=GuardedBackend(allow, resolver),
        )

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        check_url(request.url, self._allow, resolve=False)
        deadline = time.monotonic() + self._total_timeout
        response = self._inner.handle_request(request)
        assert isinstance(response.stream, httpx.SyncByteStream)
        response.stream = _BoundedStream(response.stream, self._max_response_bytes, deadline)
        return response

    def close(self) -> None:
        self._inner.close()


class _Client(httpx.Client):
    """An ``httpx.Client`` whose responses, once read, are freed without the cyclic collector.

    httpx wraps each response's stream in one that points back at the
    response, a reference cycle that kept every sent page's response, request,
    connection pool and socket (about 70 objects) alive until Python's cyclic
    collector ran (tests/alerts/test_cyclic_garbage.py says why that matters).
    A response read in full (every send but ``stream=True``) has its body and
    a closed stream, so the stream is dropped.
    """

    def send(self, request: httpx.Request, *, stream: bool = False, **kw: Any) -> httpx.Response:
        response = super().send(request, stream=stream, **kw)
        if not stream:
            for read in (*response.history, response):
                read.stream = httpx.ByteStream(b"")
        return response


def safe_client(
    allow: AllowList,
    timeout: float,
    *,
    max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES,
    max_redirects: int = DEFAULT_MAX_REDIRECTS,
    resolver: Resolver = system_resolver,
    headers: dict[str, str] | None = None,
) -> httpx.Client:
    """An ``httpx.Client`` whose every request and redirect passes the outgoing-URL policy.

    ``timeout`` bounds each connect/read/write and, as a whole, the reading
    of each response. Environment proxies are ignored (``trust_env=False``):
    through a proxy the checked IP would be the proxy's, not the target's.
    """
    transport = GuardedTransport(
        allow, total_timeout=timeout, max_response_bytes=max_response_bytes, resolver=resolver
    )
    return _Client(
        transport=transport,
        timeout=httpx.Timeout(timeout),
        follow_redirects=True,
        max_redirects=max_redirects,
        trust_env=False,
        headers={"User-Agent": "Watchkeeper", **(headers or {})},
    )
