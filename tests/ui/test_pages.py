"""Every page renders, empty states teach, and the Now fragment polls cheaply."""

from __future__ import annotations

from collections.abc import Callable

from tests.ui.conftest import Browser


def test_fresh_install_teaches_first_steps(sign_in: Callable[..., Browser]) -> None:
    admin = sign_in("admin")
    home = admin.get("/")
    assert "Start here" in home
    assert 'href="/integrations#new"' in home and 'href="/schedules#new"' in home
    assert "No integration yet" in admin.get("/integrations")
    assert "No schedule yet" in admin.get("/schedules")
    assert "No alerts yet" in admin.get("/alert-groups")
    assert "No team yet" in admin.get("/admin/teams")


def test_every_page_renders(
    sign_in: Callable[..., Browser],
    team_id: int,
    make_integration: Callable[..., int],
    ingest: Callable[..., None],
) -> None:
    admin = sign_in("admin", teams=(team_id,))
    integration = make_integration("Prod AM", team_id=team_id)
    ingest(integration, "db-1")
    created = admin.post(
        "/schedules",
        {
            "name": "Platform primary",
            "time_zone": "Europe/Berlin",
            "team": team_id,
            "user_ids": [admin.account.id],
            "start": "2026-03-01T09:00",
            "shift_count": 1,
            "shift_unit": "weeks",
        },
    )
    assert created.status_code == 303
    schedule = created.headers["location"]
    home = admin.get("/")
    assert "HighLatency" in home and "Acknowledge" in home
    assert "Platform primary" in home and "until" in home
    listing = admin.get("/alert-groups")
    group = listing.split('href="/alert-groups/', 1)[1].split('"', 1)[0]
    detail = admin.get(f"/alert-groups/{group}")
    assert "instance=db-1" in detail and "Silence" in detail and "Timeline" in detail
    page = admin.get(f"/integrations/{integration}")
    assert "webhook_configs" in page and "/ingest/" in page and "Send test alert" in page
    assert "groupKey" in page  # the recent raw payload
    for view in ("day", "week", "month"):
        assert "tl-bar" in admin.get(f"{schedule}?view={view}")
    assert "Score" in admin.get(f"{schedule}/health")
    assert "Contact methods" in admin.get("/profile")
    assert "Platform" in admin.get("/admin/teams")
    assert admin.account.email in admin.get("/admin/users")


def test_sender_configs_per_kind(
    sign_in: Callable[..., Browser], make_integration: Callable[..., int]
) -> None:
    admin = sign_in("admin")
    expected = {
        "prometheus": "path_prefix: /ingest/",
        "grafana": "Contact point",
        "pagerduty": "routing_key",
        "webhook": "curl -sS -X POST",
        "heartbeat": "*/5 * * * *",
    }
    for kind, text in expected.items():
        assert text in admin.get(f"/integrations/{make_integration(kind, kind=kind)}"), kind


def test_now_fragment_answers_204_when_nothing_changed(
    sign_in: Callable[..., Browser],
    make_integration: Callable[..., int],
    fire_test_alert: Callable[[int], int],
) -> None:
    admin = sign_in("admin")
    first = admin.get("/fragments/now")
    version = first.split("/fragments/now?v=", 1)[1].split('"', 1)[0]
    unchanged = admin.client.get(f"/fragments/now?v={version}")
    assert unchanged.status_code == 204
    fire_test_alert(make_integration())
    changed = admin.client.get(f"/fragments/now?v={version}")
    assert changed.status_code == 200 and "Test alert from Prod AM" in changed.text


def test_logged_out_pages_redirect_to_login(client) -> None:  # type: ignore[no-untyped-def]
    response = client.get("/schedules", follow_redirects=False)
    assert response.headers["location"] == "/login?next=/schedules"
    polled = client.get("/fragments/now", headers={"HX-Request": "true"})
    assert polled.headers["HX-Redirect"].startswith("/login")


def test_alert_list_filters_and_pages(
    sign_in: Callable[..., Browser],
    team_id: int,
    make_integration: Callable[..., int],
    ingest: Callable[..., None],
) -> None:
    admin = sign_in("admin")
    integration = make_integration(team_id=team_id)
    ingest(integration, *[f"host-{n}" for n in range(55)])
    first = admin.get("/alert-groups?status=firing")
    assert first.count('class="row s-firing"') == 50
    older = first.split('rel="next"', 1)[0].rsplit('href="', 1)[1].split('"', 1)[0]
    second = admin.get(older.replace("&amp;", "&"))
    assert second.count('class="row s-firing"') == 5 and "Newest" in second
    assert "No alert group matches" in admin.get("/alert-groups?status=resolved")
    by_label = admin.get("/alert-groups?label=instance%3Dhost-7")
    assert by_label.count('class="row s-firing"') == 1
    assert admin.get(f"/alert-groups?team={team_id}&since=1h").count('class="row s-firing"') == 50
    assert admin.client.get("/alert-groups?label=nonsense").status_code == 400
