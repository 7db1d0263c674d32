"""Hooks to domains that are still being built (incidents, notification rules).

Pages show these sections only when the domain's module exists; until then
they show nothing (Home) or a clearly marked placeholder (profile).
"""

from __future__ import annotations

import importlib.util
from typing import Any

from sqlalchemy.orm import Session

from watchkeeper.ui.web import Me


def module_exists(name: str) -> bool:
    try:
        return importlib.util.find_spec(name) is not None
    except ModuleNotFoundError:
        return False


def incidents_available() -> bool:
    return module_exists("watchkeeper.incidents.service")


def notify_tables_available() -> bool:
    return module_exists("watchkeeper.notify.models")


def active_incidents(session: Session, me: Me) -> list[Any] | None:
    """Open incidents for Home, or None while the incidents domain does not exist."""
    if not incidents_available():
        return None
    from watchkeeper.incidents import service

    rows = service.list_incidents(session, active=True, limit=20)
    teams = me.principal.team_ids
    return [i for i in rows if not teams or i.team_id is None or i.team_id in teams]
