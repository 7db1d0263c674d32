"""My profile: add a contact method, verify it with the code it received, set rules, test."""

from __future__ import annotations

from collections.abc import Callable

from fastapi import FastAPI
from sqlalchemy import select

from tests.escalation.conftest import Receiver, receiver  # noqa: F401 - shared fixture
from tests.ui.conftest import Browser
from watchkeeper.clock import FixedClock
from watchkeeper.db.engine import Database
from watchkeeper.notify.models import ContactMethod, NotificationRule


def test_contact_method_flow(
    app: FastAPI,
    sign_in: Callable[..., Browser],
    receiver: Receiver,  # noqa: F811
    db: Database,
    clock: FixedClock,
) -> None:
    engine = app.state.ctx.services["engine"]
    browser = sign_in("viewer")
    page = browser.get("/profile")
    assert "nobody can page you" in page
    added = browser.post(
        "/profile/contact-methods",
        {"type": "webhook", "value": receiver.url, "name": "pager", "secret": "s" * 20},
    )
    assert added.status_code in (200, 303)
    engine.drain(clock.now())
    code = receiver.bodies()[-1]["message"]["title"].rsplit(" ", 1)[1]
    with db.read() as session:
        method = session.scalars(select(ContactMethod)).one()
    assert "not verified yet" in browser.get("/profile")
    wrong = browser.post(f"/profile/contact-methods/{method.id}/verify", {"code": "000000"})
    assert wrong.status_code == 422 or "not the code" in wrong.text
    browser.post(f"/profile/contact-methods/{method.id}/verify", {"code": code})
    with db.read() as session:
        assert session.get(ContactMethod, method.id).verified  # type: ignore[union-attr]
    browser.post("/profile/rules/important", {"method_id": method.id, "wait_minutes": 3})
    with db.read() as session:
        kinds = session.scalars(
            select(NotificationRule.kind).order_by(NotificationRule.position)
        ).all()
    assert kinds == ["notify", "wait", "notify"]
    assert "Wait 3 minutes" in browser.get("/profile")
    receiver.requests.clear()
    browser.post(f"/profile/contact-methods/{method.id}/test")
    engine.drain(clock.now())
    assert receiver.bodies()[-1]["message"]["title"] == "Watchkeeper test notification"
