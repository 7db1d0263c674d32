"""Who is acting, and what their role lets them do."""

from __future__ import annotations

from dataclasses import dataclass, field

from watchkeeper.errors import Forbidden

_RANK = {"viewer": 0, "editor": 1, "admin": 2}


@dataclass(frozen=True)
class Principal:
    """The caller of a request or the origin of a change (user, integration, system)."""

    kind: str  # "user" | "integration" | "system"
    id: int | None
    name: str
    role: str = "viewer"
    team_ids: frozenset[int] = field(default_factory=frozenset)

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"

    def require(self, role: str) -> None:
        """Raise Forbidden unless the principal has at least ``role``."""
        if _RANK.get(self.role, -1) < _RANK[role]:
            raise Forbidden(f"this action needs the {role} role; you are {self.role}")

    def require_team_editor(self, team_id: int | None) -> None:
        """Editors may change what belongs to their teams; admins change anything."""
        if self.is_admin:
            return
        self.require("editor")
        if team_id is None:
            raise Forbidden("only admins may change objects that belong to no team")
        if team_id not in self.team_ids:
            raise Forbidden(f"you are not a member of team {team_id}")


SYSTEM = Principal(kind="system", id=None, name="system", role="admin")
