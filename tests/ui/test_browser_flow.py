"""A newcomer's first session, in Chromium against a live server."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.conftest import Account
from tests.live import serve_in_thread
from tests.ui.browser import browser, log_in, requires_browser
from tests.ui.conftest import PASSWORD
from watchkeeper.clock import SystemClock
from watchkeeper.ui import extras
from watchkeeper.ui.pages import home

pytestmark = requires_browser
__all__ = ["browser"]


@pytest.fixture
def live(app: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    app.state.ctx.clock = SystemClock()
    monkeypatch.setattr(home, "POLL_SECONDS", 1)
    with serve_in_thread(app) as base:
        yield base


def _local(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M")


def test_newcomer_flow(live: str, browser: Any, make_account: Callable[..., Account]) -> None:
    admin = make_account("admin", email="ada@example.com", password=PASSWORD)
    make_account("editor", email="bob@example.com", password=PASSWORD)
    context = browser.new_context(viewport={"width": 390, "height": 844})
    now_page = context.new_page()
    log_in(now_page, live, admin.email, PASSWORD)
    assert now_page.get_by_text("Start here").is_visible()

    # In a second tab: create an integration and send a test alert.
    work = context.new_page()
    work.goto(f"{live}/integrations")
    work.get_by_label("Name").fill("Production Alertmanager")
    work.get_by_role("button", name="Create integration").click()
    work.wait_for_url(f"{live}/integrations/*")
    assert "webhook_configs" in work.content()
    work.get_by_role("button", name="Send test alert").click()
    work.wait_for_url(f"{live}/alert-groups/*")

    # The first tab shows it without a reload, and it can be acknowledged there.
    title = "Test alert from Production Alertmanager"
    now_page.get_by_role("link", name=title).wait_for(timeout=10_000)
    now_page.get_by_role("button", name="Acknowledge").first.click()
    now_page.get_by_text("acknowledged by ada@example.com").wait_for()

    if extras.incidents_available():
        work.get_by_role("button", name="Declare incident").click()
        work.wait_for_url(f"{live}/incidents/*")
        work.get_by_label("Status update").fill("Rolled back the deploy; watching error rates.")
        work.get_by_role("button", name="Post update").click()
        work.get_by_text("Rolled back the deploy").wait_for()
        now_page.get_by_role("link", name=title).nth(1).wait_for(timeout=10_000)
        # Fill in the blameless review and an action item.
        work.get_by_role("link", name="Write the review").click()
        work.wait_for_url(f"{live}/incidents/*/review")
        work.get_by_label("Summary").fill("A test alert became a practice incident.")
        work.get_by_label("Contributing factors").fill("process: nobody had tried the flow yet")
        work.get_by_label("What went well").fill("The page arrived at once.")
        work.get_by_role("button", name="Save review").click()
        work.get_by_text("Review saved.").wait_for()
        assert "nobody had tried the flow yet" in work.content()
        work.get_by_label("Action item").fill("Run a game day every quarter")
        work.get_by_role("button", name="Add action item").click()
        work.get_by_text("Action item added.").wait_for()
        assert "Run a game day every quarter" in work.content()

    # A schedule with two people, then an override that leaves nobody on call.
    work.goto(f"{live}/schedules")
    work.get_by_label("Name").fill("Platform primary")
    work.get_by_label("ada").check()
    work.get_by_label("bob").check()
    work.locator("select[name=shift_unit]").select_option("days")
    work.get_by_label("First handoff").fill(_local(datetime.now(UTC) - timedelta(hours=1)))
    work.get_by_role("button", name="Create schedule").click()
    work.wait_for_url(f"{live}/schedules/*")
    assert "ada" in work.locator("#now-h + p").inner_text()

    work.get_by_text("Add an override").click()
    now = datetime.now(UTC)
    form = work.locator("form[action$='/overrides']")
    form.get_by_label("From").fill(_local(now + timedelta(hours=3)))
    form.get_by_label("Until").fill(_local(now + timedelta(hours=5)))
    form.get_by_role("button", name="Add override").click()
    work.get_by_text("Override added: nobody is on call then.").wait_for()
    gap = work.locator(".tl-bar.gap").first
    assert gap.is_visible()
    red = gap.evaluate("el => getComputedStyle(el).backgroundColor")
    r, g, b = (int(x) for x in red[red.index("(") + 1 : red.index(")")].split(",")[:3])
    assert r > 150 and g < 120 and b < 120, red
    assert "nobody is on call (gap)" in work.locator(".shift-list").inner_text()
    context.close()
