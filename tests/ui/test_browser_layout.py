"""Screenshots at phone and desktop width; nothing may overflow horizontally."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from tests.conftest import Account
from tests.live import serve_in_thread
from tests.ui.browser import browser, log_in, requires_browser
from tests.ui.conftest import PASSWORD
from watchkeeper.clock import SystemClock
from watchkeeper.db.engine import Database
from watchkeeper.identity.principal import SYSTEM
from watchkeeper.schedules import service as schedule_svc
from watchkeeper.schedules.schemas import LayerCreate, OverrideCreate, RotationIn, ScheduleCreate
from watchkeeper.ui import extras

pytestmark = requires_browser
__all__ = ["browser"]
WIDTHS = (390, 1280)


def _schedule(db: Database, user_ids: list[int]) -> int:
    now = datetime.now(UTC)
    with db.write() as session:
        schedule = schedule_svc.create_schedule(
            session,
            actor=SYSTEM,
            data=ScheduleCreate(name="Platform primary with a rather long name", time_zone="UTC"),
            now=now,
        )
        rotation = RotationIn(user_ids=user_ids, start=now - timedelta(hours=30), shift_unit="days")
        schedule_svc.add_layer(
            session,
            actor=SYSTEM,
            schedule_id=schedule.id,
            data=LayerCreate(name="Primary", rotations=[rotation]),
            now=now,
        )
        gap = OverrideCreate(
            start=now + timedelta(days=1), end=now + timedelta(days=2), user_ids=[]
        )
        schedule_svc.add_override(session, actor=SYSTEM, schedule_id=schedule.id, data=gap, now=now)
        return schedule.id


def _incident(db: Database, group_id: int) -> int:
    from watchkeeper.incidents import service
    from watchkeeper.incidents.schemas import IncidentCreate

    with db.write() as session:
        data = IncidentCreate(title="Checkout fails for every customer", group_ids=[group_id])
        return service.declare(session, actor=SYSTEM, data=data, now=datetime.now(UTC)).id


def test_pages_fit_phone_and_desktop(
    app: Any,
    db: Database,
    browser: Any,
    tmp_path: Path,
    make_account: Callable[..., Account],
    make_integration: Callable[..., int],
    fire_test_alert: Callable[[int], int],
) -> None:
    app.state.ctx.clock = SystemClock()
    admin = make_account("admin", email="ada.lovelace@example.com", password=PASSWORD)
    other = make_account("editor", email="grace.hopper@example.com")
    group_id = fire_test_alert(make_integration("Production Alertmanager (eu-west-1)"))
    schedule_id = _schedule(db, [admin.id, other.id])
    pages = {
        "home": "/",
        "alert-group": f"/alert-groups/{group_id}",
        "schedule": f"/schedules/{schedule_id}",
    }
    if extras.incidents_available():
        pages["incident"] = f"/incidents/{_incident(db, group_id)}"
    with serve_in_thread(app) as base:
        for width in WIDTHS:
            context = browser.new_context(viewport={"width": width, "height": 900})
            page = context.new_page()
            log_in(page, base, admin.email, PASSWORD)
            for name, url in pages.items():
                page.goto(base + url)
                page.screenshot(path=str(tmp_path / f"{name}-{width}.png"), full_page=True)
                fits = page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
                assert fits, f"{url} overflows horizontally at {width} px"
            context.close()
    assert len(list(tmp_path.glob("*.png"))) == len(pages) * len(WIDTHS)
