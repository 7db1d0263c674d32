"""Forms do what they say: alert lifecycle, integrations, schedules, admin, profile."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from tests.ui.conftest import Browser
from watchkeeper.alerts import groups as group_svc
from watchkeeper.db.engine import Database
from watchkeeper.ui import extras


def _status(db: Database, group_id: int) -> str:
    with db.read() as session:
        return group_svc.get_group(session, group_id=group_id).status


def test_alert_group_lifecycle_buttons(
    db: Database,
    sign_in: Callable[..., Browser],
    make_integration: Callable[..., int],
    fire_test_alert: Callable[[int], int],
) -> None:
    admin = sign_in("admin")
    group = fire_test_alert(make_integration())
    url = f"/alert-groups/{group}"
    response = admin.post(f"{url}/acknowledge", {"next": "/"})
    assert response.headers["location"] == "/"
    assert _status(db, group) == "acknowledged"
    assert "Acknowledged: escalation stops" in admin.get("/")
    admin.post(f"{url}/unacknowledge")
    assert _status(db, group) == "firing"
    assert admin.post(f"{url}/silence", {"minutes": 240}).status_code == 303
    assert _status(db, group) == "silenced"
    assert "until" in admin.get(url) and "End silence" in admin.get(url)
    assert admin.post(f"{url}/silence", {"minutes": 7}).status_code == 422
    admin.post(f"{url}/resolve", {"next": "https://evil.example/"})
    assert _status(db, group) == "resolved"
    assert admin.post(f"{url}/resolve").headers["location"] == url
    assert admin.post(f"{url}/explode").status_code == 404
    assert admin.post(f"{url}/unacknowledge").status_code == 409
    timeline = admin.get(url)
    for kind in ("acknowledged", "unacknowledged", "silenced", "resolved"):
        assert f"<strong>{kind}</strong>" in timeline


def test_create_integration_send_test_alert_and_maintenance(
    sign_in: Callable[..., Browser], team_id: int
) -> None:
    editor = sign_in("editor", teams=(team_id,))
    created = editor.post("/integrations", {"name": "Grafana", "kind": "grafana", "team": team_id})
    assert created.status_code == 303
    page = created.headers["location"]
    assert "Point your sender" in editor.get(page)
    sent = editor.post(f"{page}/test")
    assert sent.headers["location"].startswith("/alert-groups/")
    assert "Test alert from Grafana" in editor.get(sent.headers["location"])
    editor.post(f"{page}/maintenance", {"on": "1"})
    assert "maintenance: alerts are stored" in editor.get(page)
    editor.post(f"{page}/maintenance", {"on": "0"})
    assert "Start maintenance" in editor.get(page)
    bad = editor.post("/integrations", {"name": "", "kind": "nonsense", "team": team_id})
    assert bad.status_code == 422


def test_template_preview_and_save(
    sign_in: Callable[..., Browser],
    make_integration: Callable[..., int],
    ingest: Callable[..., None],
) -> None:
    admin = sign_in("admin")
    integration = make_integration()
    page = f"/integrations/{integration}"
    empty = admin.post(f"{page}/preview", {"title": "x"})
    assert "No payload has arrived yet" in empty.text
    ingest(integration, "db-1")
    preview = admin.post(
        f"{page}/preview",
        {"title": "{{ labels.alertname }} on {{ labels.instance }}", "severity": "{{ 'info' }}"},
        headers={"HX-Request": "true"},
    )
    assert preview.status_code == 200
    assert "HighLatency on db-1" in preview.text and "<html" not in preview.text
    broken = admin.post(f"{page}/preview", {"severity": "{{ 'purple' }}"})
    assert "expected critical, error, warning or info" in broken.text
    saved = admin.post(f"{page}/templates", {"title": "[{{ labels.instance }}] down"})
    assert saved.status_code == 303
    assert "[{{ labels.instance }}] down" in admin.get(page)
    assert admin.post(f"{page}/templates", {"title": "{% if %}"}).status_code == 422


def test_schedule_forms_create_override_and_swap(
    sign_in: Callable[..., Browser], team_id: int
) -> None:
    other = sign_in("editor", teams=(team_id,), email="bob@example.com")
    admin = sign_in("admin", teams=(team_id,), email="ada@example.com")
    created = admin.post(
        "/schedules",
        {"name": "Rota", "time_zone": "UTC", "team": team_id, "start": "2026-03-02T09:00",
         "shift_count": 1, "shift_unit": "days",
         "user_ids": [admin.account.id, other.account.id]},
    )  # fmt: skip
    page = created.headers["location"]
    html = admin.get(page)
    assert "<strong>ada</strong>" in html  # on call now (10:00, first shift began 09:00)
    gap = admin.post(f"{page}/overrides", {"start": "2026-03-02T12:00", "end": "2026-03-02T13:00"})
    assert gap.status_code == 303
    html = admin.get(f"{page}?view=day&start=2026-03-02")
    assert "tl-bar gap" in html and "nobody is on call (gap)" in html
    swap = admin.post(
        f"{page}/swaps",
        {"start": "2026-03-02T14:00", "end": "2026-03-02T16:00", "reason": "dentist"},
    )
    assert swap.status_code == 303
    assert "dentist" in admin.get(page)
    bob = sign_in("editor", teams=(team_id,), email="carol@example.com")
    swaps_page = bob.get(page)
    assert "Take it" in swaps_page
    swap_url = swaps_page.split("/swaps/", 1)[1].split("/take", 1)[0]
    assert bob.post(f"{page}/swaps/{swap_url}/take").status_code == 303
    assert "carol" in bob.get(f"{page}?view=day&start=2026-03-02")
    override_id = bob.get(page).split("/overrides/", 1)[1].split("/delete", 1)[0]
    assert bob.post(f"{page}/overrides/{override_id}/delete").status_code == 303


def test_admin_creates_team_user_and_membership(sign_in: Callable[..., Browser]) -> None:
    admin = sign_in("admin")
    assert admin.post("/admin/teams", {"name": "Payments"}).status_code == 303
    made = admin.post(
        "/admin/users",
        {"email": "new@example.com", "name": "New Person", "role": "editor",
         "password": "long enough pw", "time_zone": "Europe/Berlin"},
    )  # fmt: skip
    assert made.status_code == 303
    users = admin.get("/admin/users")
    assert "new@example.com" in users
    teams = admin.get("/admin/teams")
    team_id = teams.split('action="/admin/teams/', 1)[1].split("/", 1)[0]
    user_id = teams.split(">New Person", 1)[0].rsplit('value="', 1)[1].split('"', 1)[0]
    assert admin.post(f"/admin/teams/{team_id}/members", {"user_id": user_id}).status_code == 303
    assert "Payments" in admin.get("/admin/users").split("new@example.com", 1)[1]
    duplicate = admin.post("/admin/teams", {"name": "Payments"})
    assert duplicate.status_code == 409 and "already exists" in duplicate.text


def test_profile_name_zone_and_feed(sign_in: Callable[..., Browser]) -> None:
    me = sign_in("viewer")
    assert me.post("/profile", {"name": "Night Owl", "time_zone": "Asia/Tokyo"}).status_code == 303
    page = me.get("/profile")
    assert 'value="Night Owl"' in page and 'value="Asia/Tokyo"' in page
    assert "notify-placeholder" in page or "Contact methods" in page
    assert me.post("/profile/feed").status_code == 303
    assert "/ical/users/" in me.get("/profile")
    assert me.post("/profile", {"name": "x", "time_zone": "Mars/Olympus"}).status_code == 422


@pytest.mark.skipif(not extras.incidents_available(), reason="incidents domain not installed")
def test_declare_incident_from_alert_group_and_post_update(
    sign_in: Callable[..., Browser],
    make_integration: Callable[..., int],
    fire_test_alert: Callable[[int], int],
) -> None:
    admin = sign_in("admin")
    group = fire_test_alert(make_integration())
    assert "Declare incident" in admin.get(f"/alert-groups/{group}")
    declared = admin.post("/incidents", {"title": "Checkout is down", "group_id": group})
    assert declared.status_code == 303
    page = declared.headers["location"]
    assert "Checkout is down" in admin.get("/") and "Checkout is down" in admin.get("/incidents")
    assert (
        admin.post(f"{page}/updates", {"text": "Rolled back", "status": "monitoring"}).status_code
        == 303
    )
    detail = admin.get(page)
    assert "Rolled back" in detail and "monitoring" in detail
    viewer = sign_in("viewer")
    assert "Post update" not in viewer.get(page)
    assert viewer.post(f"{page}/updates", {"text": "x"}).status_code == 403
