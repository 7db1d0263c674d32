"""Pure review logic: the prefilled timeline, responder credits, Markdown and JSON export."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from watchkeeper.incidents.review_schemas import ReviewDocument, ReviewTimelineItem
from watchkeeper.incidents.schemas import ParticipantOut, RoleOut, TimelineEntryOut

# What a timeline entry says about the person behind it, for the credits.
# Counted kinds read "wrote 3 notes"; the others are listed once.
_COUNTED = {
    "note": ("wrote", "note"),
    "decision": ("recorded", "decision"),
    "link": ("shared", "link"),
    "status_update": ("posted", "status update"),
}
_ONCE = {
    "declared": "declared the incident",
    "group_linked": "linked alert groups",
    "role_assigned": "assigned roles",
    "role_handover": "handed over roles",
    "severity_changed": "changed the severity",
    "status_changed": "moved the incident's status",
    "group_resolved": "resolved alert groups",
}

# Credits read in the order an incident unfolds.
_ORDER = (*_ONCE, *_COUNTED)


def prefill_timeline(entries: Sequence[TimelineEntryOut]) -> list[ReviewTimelineItem]:
    """The review timeline a draft starts with: the incident's key moments in order."""
    moments = sorted((e for e in entries if e.pinned), key=lambda e: (e.at, e.id))
    return [ReviewTimelineItem(at=e.at, text=e.text, entry_id=e.id) for e in moments]


def credit_responders(
    *,
    entries: Sequence[TimelineEntryOut],
    roles: Sequence[RoleOut],
    acknowledgers: Sequence[tuple[int, int | None, str]],
    names: Mapping[int, str],
) -> list[ParticipantOut]:
    """Everyone who helped and what they did, from the timeline, roles and acknowledgements.

    ``acknowledgers`` are (alert group id, user id or None, name) of linked groups:
    whoever acknowledged a page before the incident existed helped too.
    Automated actors (integrations, the escalation engine) are not credited.
    """
    keys: dict[tuple[int | None, str], str] = {}
    held: dict[tuple[int | None, str], list[str]] = defaultdict(list)
    counts: dict[tuple[int | None, str], Counter[str]] = defaultdict(Counter)
    acked: dict[tuple[int | None, str], set[int]] = defaultdict(set)

    def key(user_id: int | None, name: str) -> tuple[int | None, str]:
        k = (user_id, "") if user_id is not None else (None, name)
        keys.setdefault(k, names.get(user_id, name) if user_id is not None else name)
        return k

    for role in roles:
        held[key(role.user_id, role.user_name)].append(role.label)
    for entry in entries:
        if entry.actor_type != "user":
            continue
        k = key(entry.actor_id, entry.actor_name)
        if entry.kind == "group_acknowledged":
            acked[k].add(int(entry.details.get("group_id", 0)))
        else:
            counts[k][entry.kind] += 1
    for group_id, user_id, name in acknowledgers:
        acked[key(user_id, name)].add(group_id)

    out = []
    for k, display in keys.items():
        contributions = []
        if acked[k]:
            ids = ", ".join(f"#{g}" for g in sorted(acked[k]))
            contributions.append(f"acknowledged alert group {ids}")
        for kind in _ORDER:
            n = counts[k][kind]
            if not n:
                continue
            if kind in _COUNTED:
                verb, noun = _COUNTED[kind]
                contributions.append(f"{verb} {n} {noun}{'s' if n != 1 else ''}")
            else:
                contributions.append(_ONCE[kind])
        out.append(
            ParticipantOut(user_id=k[0], name=display, roles=held[k], contributions=contributions)
        )
    # People with roles first, then by how much they did, then by name.
    return sorted(out, key=lambda p: (not p.roles, -len(p.contributions), p.name.lower()))


def to_json(doc: ReviewDocument) -> dict[str, Any]:
    return doc.model_dump(mode="json")


def _when(at: datetime | None) -> str:
    return at.strftime("%Y-%m-%d %H:%M UTC") if at else "—"


def duration(seconds: int | None) -> str:
    if seconds is None:
        return "—"
    minutes = round(seconds / 60)
    hours, minutes = divmod(minutes, 60)
    days, hours = divmod(hours, 24)
    if not days and not hours:
        return f"{minutes} min"
    parts = [
        f"{days} d" if days else "",
        f"{hours} h" if hours else "",
        f"{minutes} min" if minutes else "",
    ]
    return " ".join(p for p in parts if p)


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\r", "").replace("\n", "<br>")


def _section(title: str, body: str) -> list[str]:
    return [f"## {title}", "", body.strip() or "_Not written yet._", ""]


def to_markdown(doc: ReviewDocument) -> str:
    """The review as one Markdown document, in the order it is read in a review meeting."""
    inc, rev = doc.incident, doc.review
    commander = next((r.user_name for r in inc.roles if r.role == "commander"), "—")
    lines = [
        f"# Post-incident review: INC-{inc.id} {inc.title}",
        "",
        f"- **Severity:** {inc.severity}",
        f"- **Status:** {inc.status} (review: {rev.status.replace('_', ' ')})",
        f"- **Declared:** {_when(inc.declared_at)} by {inc.declared_by}",
        f"- **Resolved:** {_when(inc.metrics.resolved_at)}",
        f"- **Team:** {inc.team_name or '—'}",
        f"- **Affected services:** {', '.join(inc.affected_services) or '—'}",
        f"- **Incident commander:** {commander}",
        f"- **Review due:** {_when(rev.due_at)}",
        "",
        "_This review is blameless: it asks how the system and our ways of working made "
        "the incident possible, not who is at fault._",
        "",
    ]
    lines += _section("Summary", rev.summary)
    span = ""
    if rev.impact_start or rev.impact_end:
        span = f"**Impact:** {_when(rev.impact_start)} to {_when(rev.impact_end)}"
        if rev.impact_start and rev.impact_end:
            span += f" ({duration(int((rev.impact_end - rev.impact_start).total_seconds()))})"
        span += "\n\n"
    lines += _section("Customer impact", span + rev.customer_impact)
    lines += ["## Timeline", ""]
    if rev.timeline:
        lines += ["| Time (UTC) | Event |", "|---|---|"]
        lines += [f"| {_when(t.at)[:-4]} | {_cell(t.text)} |" for t in rev.timeline]
    else:
        lines.append("_No key moments yet._")
    lines.append("")
    lines += ["## Contributing factors", ""]
    if rev.contributing_factors:
        for f in rev.contributing_factors:
            lines.append(f"- **{f.category.replace('_', ' ').capitalize()}:** {f.description}")
    else:
        lines.append("_Not written yet._")
    lines.append("")
    lines += _section("What went well", rev.what_went_well)
    lines += _section("Where we got lucky", rev.where_we_got_lucky)
    lines += _section("What could be improved", rev.what_could_be_improved)
    lines += ["## Action items", ""]
    if rev.action_items:
        lines += ["| Priority | Action | Owner | Due | Status |", "|---|---|---|---|---|"]
        for a in rev.action_items:
            title = f"[{_cell(a.title)}]({a.tracker_url})" if a.tracker_url else _cell(a.title)
            due = a.due_date.isoformat() if a.due_date else "—"
            status = a.status.replace("_", " ") + (" (overdue)" if a.overdue else "")
            lines.append(
                f"| {a.priority} | {title} | {a.owner_name or 'unassigned'} | {due} | {status} |"
            )
    else:
        lines.append("_None yet._")
    lines += ["", "## Responders", ""]
    for p in rev.responders:
        did = "; ".join([*(r.lower() for r in p.roles), *p.contributions]) or "took part"
        lines.append(f"- **{p.name}**: {did}")
    if not rev.responders:
        lines.append("_Nobody recorded._")
    m = inc.metrics
    lines += [
        "",
        "## Metrics",
        "",
        f"- Time to acknowledge: {duration(m.tta_seconds)}",
        f"- Time to mitigate: {duration(m.ttm_seconds)}",
        f"- Time to resolve: {duration(m.ttr_seconds)}",
        "",
    ]
    return "\n".join(lines)
