"""incidents: severities, incidents, roles, timeline, reviews, action items

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-25 14:26:28.435138
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import watchkeeper.db.types

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SEVERITIES = (
    ("SEV1", 1, "Critical: the service is down or data is at risk for many customers.", 15, 3),
    ("SEV2", 2, "Major: a core feature is broken or badly degraded for many customers.", 30, 5),
    ("SEV3", 3, "Minor: partial degradation with a workaround, or few customers hit.", 60, 10),
    ("SEV4", 4, "Low: no customer impact yet; a risk worth coordinating on.", None, None),
)


def upgrade() -> None:
    op.create_table(
        "incident_severities",
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("rank", sa.Integer(), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("update_reminder_minutes", sa.Integer(), nullable=True),
        sa.Column("review_due_days", sa.Integer(), nullable=True),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_incident_severities")),
    )
    # Default levels, frozen here; watchkeeper.incidents.severities.DEFAULTS
    # writes the same rows lazily if the table is ever emptied.
    op.bulk_insert(
        sa.table(
            "incident_severities",
            sa.column("name", sa.String),
            sa.column("rank", sa.Integer),
            sa.column("description", sa.Text),
            sa.column("update_reminder_minutes", sa.Integer),
            sa.column("review_due_days", sa.Integer),
        ),
        [
            {
                "name": name,
                "rank": rank,
                "description": text,
                "update_reminder_minutes": minutes,
                "review_due_days": days,
            }
            for name, rank, text, minutes, days in SEVERITIES
        ],
    )
    op.create_table(
        "incidents",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=300), nullable=False),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.Column("severity", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("team_id", sa.Integer(), nullable=True),
        sa.Column("affected_services", watchkeeper.db.types.JSONType, nullable=False),
        sa.Column("affected_team_ids", watchkeeper.db.types.JSONType, nullable=False),
        sa.Column("labels", watchkeeper.db.types.JSONType, nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("declared_by", sa.String(length=320), nullable=False),
        sa.Column("declared_at", watchkeeper.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", watchkeeper.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("started_at", watchkeeper.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column(
            "acknowledged_at", watchkeeper.db.types.UTCDateTime(timezone=True), nullable=True
        ),
        sa.Column("mitigated_at", watchkeeper.db.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("resolved_at", watchkeeper.db.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("tta_seconds", sa.Integer(), nullable=True),
        sa.Column("ttm_seconds", sa.Integer(), nullable=True),
        sa.Column("ttr_seconds", sa.Integer(), nullable=True),
        sa.Column("last_update_at", watchkeeper.db.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column(
            "update_reminder_at", watchkeeper.db.types.UTCDateTime(timezone=True), nullable=True
        ),
        sa.ForeignKeyConstraint(
            ["team_id"], ["teams.id"], name=op.f("fk_incidents_team_id_teams"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_incidents")),
    )
    with op.batch_alter_table("incidents", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_incidents_declared_at"), ["declared_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_incidents_resolved_at"), ["resolved_at"], unique=False)
        batch_op.create_index("ix_incidents_status_id", ["status", "id"], unique=False)
        batch_op.create_index(batch_op.f("ix_incidents_team_id"), ["team_id"], unique=False)

    op.create_table(
        "incident_action_items",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("incident_id", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=300), nullable=False),
        sa.Column("owner_id", sa.Integer(), nullable=True),
        sa.Column("priority", sa.String(length=2), nullable=False),
        sa.Column("due_date", sa.Date(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("tracker_url", sa.String(length=2000), nullable=True),
        sa.Column("created_at", watchkeeper.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", watchkeeper.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("done_at", watchkeeper.db.types.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["incident_id"],
            ["incidents.id"],
            name=op.f("fk_incident_action_items_incident_id_incidents"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["owner_id"],
            ["users.id"],
            name=op.f("fk_incident_action_items_owner_id_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_incident_action_items")),
    )
    with op.batch_alter_table("incident_action_items", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_incident_action_items_incident_id"), ["incident_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_incident_action_items_owner_id"), ["owner_id"], unique=False
        )
        batch_op.create_index(
            "ix_incident_action_items_status_due", ["status", "due_date"], unique=False
        )

    op.create_table(
        "incident_reviews",
        sa.Column("incident_id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.Column("customer_impact", sa.Text(), nullable=False),
        sa.Column("impact_start", watchkeeper.db.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("impact_end", watchkeeper.db.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("timeline", watchkeeper.db.types.JSONType, nullable=True),
        sa.Column("contributing_factors", watchkeeper.db.types.JSONType, nullable=False),
        sa.Column("what_went_well", sa.Text(), nullable=False),
        sa.Column("where_we_got_lucky", sa.Text(), nullable=False),
        sa.Column("what_could_be_improved", sa.Text(), nullable=False),
        sa.Column("due_at", watchkeeper.db.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column(
            "reminder_sent_at", watchkeeper.db.types.UTCDateTime(timezone=True), nullable=True
        ),
        sa.Column("updated_at", watchkeeper.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_by", sa.String(length=320), nullable=False),
        sa.ForeignKeyConstraint(
            ["incident_id"],
            ["incidents.id"],
            name=op.f("fk_incident_reviews_incident_id_incidents"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("incident_id", name=op.f("pk_incident_reviews")),
    )
    with op.batch_alter_table("incident_reviews", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_incident_reviews_due_at"), ["due_at"], unique=False)

    op.create_table(
        "incident_roles",
        sa.Column("incident_id", sa.Integer(), nullable=False),
        sa.Column("role", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("assigned_at", watchkeeper.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["incident_id"],
            ["incidents.id"],
            name=op.f("fk_incident_roles_incident_id_incidents"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_incident_roles_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("incident_id", "role", name=op.f("pk_incident_roles")),
    )
    with op.batch_alter_table("incident_roles", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_incident_roles_user_id"), ["user_id"], unique=False)

    op.create_table(
        "incident_subscribers",
        sa.Column("incident_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["incident_id"],
            ["incidents.id"],
            name=op.f("fk_incident_subscribers_incident_id_incidents"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_incident_subscribers_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("incident_id", "user_id", name=op.f("pk_incident_subscribers")),
    )
    with op.batch_alter_table("incident_subscribers", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_incident_subscribers_user_id"), ["user_id"], unique=False
        )

    op.create_table(
        "incident_timeline",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("incident_id", sa.Integer(), nullable=False),
        sa.Column("at", watchkeeper.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("actor_type", sa.String(length=16), nullable=False),
        sa.Column("actor_id", sa.Integer(), nullable=True),
        sa.Column("actor_name", sa.String(length=320), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("details", watchkeeper.db.types.JSONType, nullable=False),
        sa.Column("pinned", sa.Boolean(), nullable=False),
        sa.Column("history", watchkeeper.db.types.JSONType, nullable=False),
        sa.Column("source_event_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["incident_id"],
            ["incidents.id"],
            name=op.f("fk_incident_timeline_incident_id_incidents"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_incident_timeline")),
        sa.UniqueConstraint("incident_id", "source_event_id", name="uq_incident_timeline_source"),
    )
    with op.batch_alter_table("incident_timeline", schema=None) as batch_op:
        batch_op.create_index(
            "ix_incident_timeline_incident_at", ["incident_id", "at"], unique=False
        )

    op.create_table(
        "incident_alert_groups",
        sa.Column("incident_id", sa.Integer(), nullable=False),
        sa.Column("group_id", sa.Integer(), nullable=False),
        sa.Column("linked_at", watchkeeper.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("linked_by", sa.String(length=320), nullable=False),
        sa.ForeignKeyConstraint(
            ["group_id"],
            ["alert_groups.id"],
            name=op.f("fk_incident_alert_groups_group_id_alert_groups"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["incident_id"],
            ["incidents.id"],
            name=op.f("fk_incident_alert_groups_incident_id_incidents"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("incident_id", "group_id", name=op.f("pk_incident_alert_groups")),
    )
    with op.batch_alter_table("incident_alert_groups", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_incident_alert_groups_group_id"), ["group_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("incident_alert_groups", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_incident_alert_groups_group_id"))

    op.drop_table("incident_alert_groups")
    with op.batch_alter_table("incident_timeline", schema=None) as batch_op:
        batch_op.drop_index("ix_incident_timeline_incident_at")

    op.drop_table("incident_timeline")
    with op.batch_alter_table("incident_subscribers", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_incident_subscribers_user_id"))

    op.drop_table("incident_subscribers")
    with op.batch_alter_table("incident_roles", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_incident_roles_user_id"))

    op.drop_table("incident_roles")
    with op.batch_alter_table("incident_reviews", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_incident_reviews_due_at"))

    op.drop_table("incident_reviews")
    with op.batch_alter_table("incident_action_items", schema=None) as batch_op:
        batch_op.drop_index("ix_incident_action_items_status_due")
        batch_op.drop_index(batch_op.f("ix_incident_action_items_owner_id"))
        batch_op.drop_index(batch_op.f("ix_incident_action_items_incident_id"))

    op.drop_table("incident_action_items")
    with op.batch_alter_table("incidents", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_incidents_team_id"))
        batch_op.drop_index("ix_incidents_status_id")
        batch_op.drop_index(batch_op.f("ix_incidents_resolved_at"))
        batch_op.drop_index(batch_op.f("ix_incidents_declared_at"))

    op.drop_table("incidents")
    op.drop_table("incident_severities")
