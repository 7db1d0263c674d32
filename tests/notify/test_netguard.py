import pytest

from watchkeeper.notify.netguard import AllowList, UnsafeUrl, check_url, safe_client

from .conftest import RecordingServer

DEFAULT = AllowList()


@pytest.mark.parametrize(
    "url",
    [
        "http://169.254.169.254/latest/meta-data/",
        "http://169.254.1.1/",
        "http://[fe80::1]/",
        "http://[fd00:ec2::254]/",
        "http://100.100.100.200/latest/meta-data/",
        "http://metadata.google.internal/computeMetadata/v1/",
        "http://METADATA.google.internal./",
        "http://[::ffff:169.254.169.254]/",
        "http://[64:ff9b::a9fe:a9fe]/",
        "http://0.0.0.0/",
        "ftp://example.com/",
        "file:///etc/passwd",
    ],
)
def test_refuses_metadata_link_local_and_other_schemes(url: str) -> None:
    with pytest.raises(UnsafeUrl):
        check_url(url, DEFAULT)


@pytest.mark.parametrize("host", ["2852039166", "0xa9fea9fe", "169.254.43518"])
def test_refuses_legacy_ipv4_spellings_without_dns(host: str) -> None:
    with pytest.raises(UnsafeUrl, match="metadata"):
        check_url(f"http://{host}/", DEFAULT, resolve=False)


@pytest.mark.parametrize(
    "url",
    ["http://127.0.0.1:8080/hook", "http://10.1.2.3/", "http://[::1]/", "https://192.168.1.5/"],
)
def test_allows_loopback_and_private_by_default(url: str) -> None:
    check_url(url, DEFAULT)


def test_allow_list_overrides_the_defaults() -> None:
    allow = AllowList.parse(["169.254.10.0/24", "metadata.google.internal"])
    check_url("http://169.254.10.7/", allow)
    check_url("http://metadata.google.internal/", allow)
    with pytest.raises(UnsafeUrl):
        check_url("http://169.254.169.254/", allow)


def test_deny_private_refuses_unlisted_private_addresses() -> None:
    allow = AllowList.parse(["10.9.0.0/16"], deny_private=True)
    check_url("http://10.9.1.1/", allow)
    for url in ("http://10.1.1.1/", "http://127.0.0.1/", "http://100.64.0.1/"):
        with pytest.raises(UnsafeUrl):
            check_url(url, allow)


def test_checks_the_addresses_a_name_resolves_to() -> None:
    def resolver(host: str, port: int) -> list[str]:
        return {"evil.test": ["93.184.215.14", "169.254.169.254"]}[host]

    with pytest.raises(UnsafeUrl, match=r"evil\.test resolves to 169\.254\.169\.254"):
        check_url("https://evil.test/", DEFAULT, resolver=resolver)
    check_url("https://evil.test/", DEFAULT, resolve=False)


def test_client_refuses_a_metadata_url() -> None:
    with safe_client(DEFAULT, 2.0) as client, pytest.raises(UnsafeUrl):
        client.get("http://169.254.169.254/latest/meta-data/")


def test_client_refuses_a_redirect_to_metadata(http_server: RecordingServer) -> None:
    http_server.respond(302, headers={"Location": "http://169.254.169.254/latest/meta-data/"})
    with safe_client(DEFAULT, 2.0) as client, pytest.raises(UnsafeUrl):
        client.post(f"{http_server.url}/hook", json={})
    assert len(http_server.requests) == 1


def test_client_follows_a_safe_redirect(http_server: RecordingServer) -> None:
    http_server.respond(307, headers={"Location": "/final"}, path="/hook")
    http_server.respond(200, "done", path="/final")
    with safe_client(DEFAULT, 2.0) as client:
        response = client.post(f"{http_server.url}/hook", json={})
    assert response.text == "done"
    assert [r.path for r in http_server.requests] == ["/hook", "/final"]


def test_connect_time_check_uses_the_checked_address(http_server: RecordingServer) -> None:
    answers = {"hooks.test": ["127.0.0.1"], "rebound.test": ["169.254.169.254"]}

    def resolver(host: str, port: int) -> list[str]:
        return answers[host]

    with safe_client(DEFAULT, 2.0, resolver=resolver) as client:
        response = client.get(f"http://hooks.test:{http_server.port}/x")
        assert response.status_code == 200
        assert http_server.last.header("host") == f"hooks.test:{http_server.port}"
        with pytest.raises(UnsafeUrl):
            client.get(f"http://rebound.test:{http_server.port}/x")


def test_allow_listed_host_is_reachable_when_private_is_denied(
    http_server: RecordingServer,
) -> None:
    denied = AllowList(deny_private=True)
    with safe_client(denied, 2.0) as client, pytest.raises(UnsafeUrl):
        client.get(f"http://localhost:{http_server.port}/")
    allowed = AllowList.parse(["localhost"], deny_private=True)
    with safe_client(allowed, 2.0) as client:
        assert client.get(f"http://localhost:{http_server.port}/").status_code == 200


def test_response_size_is_bounded(http_server: RecordingServer) -> None:
    http_server.respond(200, b"x" * 1_000_000)
    with safe_client(DEFAULT, 5.0, max_response_bytes=1000) as client:
        response = client.get(http_server.url)
    assert len(response.content) == 1000


def test_environment_proxies_are_ignored(
    http_server: RecordingServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HTTP_PROXY", "http://169.254.169.254:3128")
    with safe_client(DEFAULT, 2.0) as client:
        assert client.get(http_server.url).status_code == 200
