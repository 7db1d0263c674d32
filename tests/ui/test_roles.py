"""Role enforcement: viewers see no edit buttons and get 403; editors act only for their teams."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from tests.ui.conftest import Browser


@pytest.fixture
def seeded(
    team_id: int,
    make_integration: Callable[..., int],
    fire_test_alert: Callable[[int], int],
    sign_in: Callable[..., Browser],
) -> dict[str, int]:
    admin = sign_in("admin", email="root@example.com")
    integration = make_integration(team_id=team_id)
    response = admin.post(
        "/schedules",
        {
            "name": "Team rota",
            "time_zone": "UTC",
            "team": team_id,
            "start": "2026-03-01T09:00",
            "user_ids": [admin.account.id],
        },
    )
    schedule = int(response.headers["location"].rsplit("/", 1)[1])
    return {
        "team": team_id,
        "integration": integration,
        "group": fire_test_alert(integration),
        "schedule": schedule,
    }


def _posts(ids: dict[str, int]) -> list[tuple[str, dict[str, object]]]:
    return [
        (f"/alert-groups/{ids['group']}/acknowledge", {}),
        (f"/alert-groups/{ids['group']}/resolve", {}),
        (f"/alert-groups/{ids['group']}/silence", {"minutes": 30}),
        ("/integrations", {"name": "x", "kind": "webhook", "team": ids["team"]}),
        (f"/integrations/{ids['integration']}/test", {}),
        (f"/integrations/{ids['integration']}/maintenance", {"on": "1"}),
        (f"/integrations/{ids['integration']}/templates", {"title": "{{ labels.x }}"}),
        ("/schedules", {"name": "y", "time_zone": "UTC", "team": ids["team"],
                        "start": "2026-03-01T09:00"}),
        (f"/schedules/{ids['schedule']}/overrides",
         {"start": "2026-03-03T09:00", "end": "2026-03-03T10:00"}),
        (f"/schedules/{ids['schedule']}/swaps",
         {"start": "2026-03-03T09:00", "end": "2026-03-03T10:00"}),
        ("/admin/teams", {"name": "Z"}),
        ("/admin/users", {"email": "z@example.com", "name": "Z", "role": "admin"}),
        (f"/admin/teams/{ids['team']}/members", {"user_id": 1}),
    ]  # fmt: skip


EDIT_MARKERS = (
    "Acknowledge",
    "Send test alert",
    "Save templates",
    "New integration",
    "New schedule",
    "Add an override",
    "Start maintenance",
)


def test_viewer_sees_no_edit_buttons_and_gets_403(
    seeded: dict[str, int], sign_in: Callable[..., Browser]
) -> None:
    viewer = sign_in("viewer", teams=(seeded["team"],))
    pages = [
        "/",
        "/alert-groups",
        f"/alert-groups/{seeded['group']}",
        "/integrations",
        f"/integrations/{seeded['integration']}",
        "/schedules",
        f"/schedules/{seeded['schedule']}",
    ]
    for url in pages:
        html = viewer.get(url)
        for marker in EDIT_MARKERS:
            assert marker not in html, (url, marker)
    for url, data in _posts(seeded):
        assert viewer.post(url, data).status_code == 403, url
    assert viewer.client.get("/admin/teams").status_code == 403
    assert viewer.client.get("/admin/users").status_code == 403


def test_editor_acts_only_for_own_teams(
    seeded: dict[str, int],
    sign_in: Callable[..., Browser],
    make_integration: Callable[..., int],
    fire_test_alert: Callable[[int], int],
) -> None:
    other_group = fire_test_alert(make_integration("No team"))
    outsider = sign_in("editor")
    assert "Acknowledge" not in outsider.get(f"/alert-groups/{seeded['group']}")
    assert outsider.post(f"/alert-groups/{seeded['group']}/acknowledge").status_code == 403
    assert outsider.post(f"/integrations/{seeded['integration']}/test").status_code == 403
    member = sign_in("editor", teams=(seeded["team"],))
    assert "Acknowledge" in member.get(f"/alert-groups/{seeded['group']}")
    assert member.post(f"/alert-groups/{seeded['group']}/acknowledge").status_code == 303
    assert "Add an override" in member.get(f"/schedules/{seeded['schedule']}")
    # Groups of no team belong to admins only, as in the API.
    assert member.post(f"/alert-groups/{other_group}/acknowledge").status_code == 403


def test_posts_without_csrf_are_refused(
    seeded: dict[str, int], sign_in: Callable[..., Browser]
) -> None:
    admin = sign_in("admin")
    for url, data in [*_posts(seeded), ("/profile", {"name": "A", "time_zone": "UTC"}),
                      ("/profile/feed", {}), ("/logout", {})]:  # fmt: skip
        missing = admin.client.post(url, data=data, follow_redirects=False)
        assert missing.status_code == 403, url
        forged = admin.client.post(url, data={**data, "csrf_token": "forged"})
        assert forged.status_code == 403, url
    assert "form expired" in missing.text
