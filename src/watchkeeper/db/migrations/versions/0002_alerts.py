"""alerts: integrations, payloads, groups, alerts, timeline, outbox

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25 13:56:43.687056
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import watchkeeper.db.types

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:

    op.create_table(
        "outbox",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", watchkeeper.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("topic", sa.String(length=64), nullable=False),
        sa.Column("group_id", sa.Integer(), nullable=True),
        sa.Column("payload", watchkeeper.db.types.JSONType, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outbox")),
    )
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_outbox_group_id"), ["group_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_outbox_topic"), ["topic"], unique=False)

    op.create_table(
        "outbox_cursors",
        sa.Column("consumer", sa.String(length=64), nullable=False),
        sa.Column("last_id", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("consumer", name=op.f("pk_outbox_cursors")),
    )
    op.create_table(
        "integrations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("team_id", sa.Integer(), nullable=True),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("token", sa.String(length=64), nullable=False),
        sa.Column("templates", watchkeeper.db.types.JSONType, nullable=False),
        sa.Column("options", watchkeeper.db.types.JSONType, nullable=False),
        sa.Column("maintenance", sa.Boolean(), nullable=False),
        sa.Column("rate_limit_per_minute", sa.Integer(), nullable=True),
        sa.Column("template_errors", watchkeeper.db.types.JSONType, nullable=False),
        sa.Column("heartbeat_interval_seconds", sa.Integer(), nullable=True),
        sa.Column(
            "last_heartbeat_at", watchkeeper.db.types.UTCDateTime(timezone=True), nullable=True
        ),
        sa.Column("heartbeat_expired", sa.Boolean(), nullable=False),
        sa.Column("created_at", watchkeeper.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["team_id"],
            ["teams.id"],
            name=op.f("fk_integrations_team_id_teams"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_integrations")),
        sa.UniqueConstraint("token", name=op.f("uq_integrations_token")),
    )
    with op.batch_alter_table("integrations", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_integrations_team_id"), ["team_id"], unique=False)

    op.create_table(
        "alert_groups",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("integration_id", sa.Integer(), nullable=False),
        sa.Column("team_id", sa.Integer(), nullable=True),
        sa.Column("group_key", sa.String(length=255), nullable=False),
        sa.Column("open_key", sa.String(length=255), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("title", sa.String(length=500), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("severity", sa.String(length=16), nullable=False),
        sa.Column("labels", watchkeeper.db.types.JSONType, nullable=False),
        sa.Column("source_url", sa.String(length=2000), nullable=True),
        sa.Column("links", watchkeeper.db.types.JSONType, nullable=False),
        sa.Column("alerts_count", sa.Integer(), nullable=False),
        sa.Column("firing_count", sa.Integer(), nullable=False),
        sa.Column("maintenance", sa.Boolean(), nullable=False),
        sa.Column("created_at", watchkeeper.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", watchkeeper.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("last_alert_at", watchkeeper.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column(
            "acknowledged_at", watchkeeper.db.types.UTCDateTime(timezone=True), nullable=True
        ),
        sa.Column("acknowledged_by", sa.String(length=320), nullable=True),
        sa.Column("resolved_at", watchkeeper.db.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("resolved_by", sa.String(length=320), nullable=True),
        sa.Column("silenced_until", watchkeeper.db.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("merged_into_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["integration_id"],
            ["integrations.id"],
            name=op.f("fk_alert_groups_integration_id_integrations"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["merged_into_id"],
            ["alert_groups.id"],
            name=op.f("fk_alert_groups_merged_into_id_alert_groups"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_alert_groups")),
        sa.UniqueConstraint("integration_id", "open_key", name="uq_alert_groups_open_key"),
    )
    with op.batch_alter_table("alert_groups", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_alert_groups_created_at"), ["created_at"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_alert_groups_integration_id"), ["integration_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_alert_groups_resolved_at"), ["resolved_at"], unique=False
        )
        batch_op.create_index("ix_alert_groups_status_id", ["status", "id"], unique=False)
        batch_op.create_index(batch_op.f("ix_alert_groups_team_id"), ["team_id"], unique=False)

    op.create_table(
        "raw_payloads",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("integration_id", sa.Integer(), nullable=False),
        sa.Column("received_at", watchkeeper.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["integration_id"],
            ["integrations.id"],
            name=op.f("fk_raw_payloads_integration_id_integrations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_raw_payloads")),
    )
    with op.batch_alter_table("raw_payloads", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_raw_payloads_integration_id"), ["integration_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_raw_payloads_received_at"), ["received_at"], unique=False
        )

    op.create_table(
        "alert_group_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("group_id", sa.Integer(), nullable=False),
        sa.Column("at", watchkeeper.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("actor_type", sa.String(length=16), nullable=False),
        sa.Column("actor_name", sa.String(length=320), nullable=False),
        sa.Column("details", watchkeeper.db.types.JSONType, nullable=False),
        sa.ForeignKeyConstraint(
            ["group_id"],
            ["alert_groups.id"],
            name=op.f("fk_alert_group_events_group_id_alert_groups"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_alert_group_events")),
    )
    with op.batch_alter_table("alert_group_events", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_alert_group_events_group_id"), ["group_id"], unique=False
        )

    op.create_table(
        "alerts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("group_id", sa.Integer(), nullable=False),
        sa.Column("integration_id", sa.Integer(), nullable=False),
        sa.Column("fingerprint", sa.String(length=255), nullable=False),
        sa.Column("open_fingerprint", sa.String(length=255), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("title", sa.String(length=500), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("severity", sa.String(length=16), nullable=False),
        sa.Column("labels", watchkeeper.db.types.JSONType, nullable=False),
        sa.Column("annotations", watchkeeper.db.types.JSONType, nullable=False),
        sa.Column("source_url", sa.String(length=2000), nullable=True),
        sa.Column("links", watchkeeper.db.types.JSONType, nullable=False),
        sa.Column("starts_at", watchkeeper.db.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("ends_at", watchkeeper.db.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("first_seen_at", watchkeeper.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("last_seen_at", watchkeeper.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("resolved_at", watchkeeper.db.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("repeat_count", sa.Integer(), nullable=False),
        sa.Column("payload_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["group_id"],
            ["alert_groups.id"],
            name=op.f("fk_alerts_group_id_alert_groups"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["integration_id"],
            ["integrations.id"],
            name=op.f("fk_alerts_integration_id_integrations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_alerts")),
        sa.UniqueConstraint(
            "integration_id", "open_fingerprint", name="uq_alerts_open_fingerprint"
        ),
    )
    with op.batch_alter_table("alerts", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_alerts_ends_at"), ["ends_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_alerts_group_id"), ["group_id"], unique=False)


def downgrade() -> None:

    with op.batch_alter_table("alerts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_alerts_group_id"))
        batch_op.drop_index(batch_op.f("ix_alerts_ends_at"))

    op.drop_table("alerts")
    with op.batch_alter_table("alert_group_events", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_alert_group_events_group_id"))

    op.drop_table("alert_group_events")
    with op.batch_alter_table("raw_payloads", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_raw_payloads_received_at"))
        batch_op.drop_index(batch_op.f("ix_raw_payloads_integration_id"))

    op.drop_table("raw_payloads")
    with op.batch_alter_table("alert_groups", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_alert_groups_team_id"))
        batch_op.drop_index("ix_alert_groups_status_id")
        batch_op.drop_index(batch_op.f("ix_alert_groups_resolved_at"))
        batch_op.drop_index(batch_op.f("ix_alert_groups_integration_id"))
        batch_op.drop_index(batch_op.f("ix_alert_groups_created_at"))

    op.drop_table("alert_groups")
    with op.batch_alter_table("integrations", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_integrations_team_id"))

    op.drop_table("integrations")
    op.drop_table("outbox_cursors")
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_outbox_topic"))
        batch_op.drop_index(batch_op.f("ix_outbox_group_id"))

    op.drop_table("outbox")
