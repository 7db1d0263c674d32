"""escalation and notifications

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-25 14:20:38.590475
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import watchkeeper.db.types

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:

    op.create_table(
        "chat_destinations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("team_id", sa.Integer(), nullable=True),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("type", sa.String(length=32), nullable=False),
        sa.Column("settings_encrypted", sa.Text(), nullable=False),
        sa.Column("created_at", watchkeeper.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["team_id"],
            ["teams.id"],
            name=op.f("fk_chat_destinations_team_id_teams"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_chat_destinations")),
    )
    with op.batch_alter_table("chat_destinations", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_chat_destinations_team_id"), ["team_id"], unique=False)

    op.create_table(
        "contact_methods",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("type", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("settings_encrypted", sa.Text(), nullable=False),
        sa.Column("verified", sa.Boolean(), nullable=False),
        sa.Column("verification_code_hash", sa.String(length=64), nullable=True),
        sa.Column("created_at", watchkeeper.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_contact_methods_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_contact_methods")),
    )
    with op.batch_alter_table("contact_methods", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_contact_methods_user_id"), ["user_id"], unique=False)

    op.create_table(
        "escalation_chains",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("team_id", sa.Integer(), nullable=True),
        sa.Column("time_zone", sa.String(length=64), nullable=False),
        sa.Column("steps", watchkeeper.db.types.JSONType, nullable=False),
        sa.Column("ack_timeout_minutes", sa.Integer(), nullable=True),
        sa.Column("round_robin_offset", sa.Integer(), nullable=False),
        sa.Column("created_at", watchkeeper.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", watchkeeper.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["team_id"],
            ["teams.id"],
            name=op.f("fk_escalation_chains_team_id_teams"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_escalation_chains")),
    )
    with op.batch_alter_table("escalation_chains", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_escalation_chains_team_id"), ["team_id"], unique=False)

    op.create_table(
        "outgoing_webhooks",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("team_id", sa.Integer(), nullable=True),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("url", sa.String(length=2000), nullable=False),
        sa.Column("secret_encrypted", sa.Text(), nullable=True),
        sa.Column("triggers", watchkeeper.db.types.JSONType, nullable=False),
        sa.Column("body_template", sa.Text(), nullable=True),
        sa.Column("headers", watchkeeper.db.types.JSONType, nullable=False),
        sa.Column("condition_template", sa.Text(), nullable=True),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("created_at", watchkeeper.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["team_id"],
            ["teams.id"],
            name=op.f("fk_outgoing_webhooks_team_id_teams"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outgoing_webhooks")),
    )
    with op.batch_alter_table("outgoing_webhooks", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_outgoing_webhooks_team_id"), ["team_id"], unique=False)

    op.create_table(
        "notification_rules",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("urgency", sa.String(length=16), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("contact_method_id", sa.Integer(), nullable=True),
        sa.Column("wait_minutes", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["contact_method_id"],
            ["contact_methods.id"],
            name=op.f("fk_notification_rules_contact_method_id_contact_methods"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_notification_rules_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notification_rules")),
    )
    with op.batch_alter_table("notification_rules", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_notification_rules_user_id"), ["user_id"], unique=False
        )

    op.create_table(
        "routes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("integration_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("matchers", sa.Text(), nullable=False),
        sa.Column("condition_template", sa.Text(), nullable=True),
        sa.Column("escalation_chain_id", sa.Integer(), nullable=True),
        sa.Column("chat_destination_ids", watchkeeper.db.types.JSONType, nullable=False),
        sa.Column("is_default", sa.Boolean(), nullable=False),
        sa.Column("created_at", watchkeeper.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["escalation_chain_id"],
            ["escalation_chains.id"],
            name=op.f("fk_routes_escalation_chain_id_escalation_chains"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["integration_id"],
            ["integrations.id"],
            name=op.f("fk_routes_integration_id_integrations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_routes")),
    )
    with op.batch_alter_table("routes", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_routes_integration_id"), ["integration_id"], unique=False
        )

    op.create_table(
        "deliveries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("idempotency_key", sa.String(length=255), nullable=False),
        sa.Column("group_id", sa.Integer(), nullable=True),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("contact_method_id", sa.Integer(), nullable=True),
        sa.Column("chat_destination_id", sa.Integer(), nullable=True),
        sa.Column("webhook_id", sa.Integer(), nullable=True),
        sa.Column("channel", sa.String(length=32), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column(
            "next_attempt_at", watchkeeper.db.types.UTCDateTime(timezone=True), nullable=True
        ),
        sa.Column("claimed_at", watchkeeper.db.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("message", watchkeeper.db.types.JSONType, nullable=False),
        sa.Column("provider_response", sa.Text(), nullable=True),
        sa.Column("provider_message_id", sa.String(length=255), nullable=True),
        sa.Column("created_at", watchkeeper.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("sent_at", watchkeeper.db.types.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["group_id"],
            ["alert_groups.id"],
            name=op.f("fk_deliveries_group_id_alert_groups"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_deliveries")),
        sa.UniqueConstraint("idempotency_key", name="uq_deliveries_idempotency_key"),
    )
    with op.batch_alter_table("deliveries", schema=None) as batch_op:
        batch_op.create_index("ix_deliveries_due", ["status", "next_attempt_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_deliveries_group_id"), ["group_id"], unique=False)

    op.create_table(
        "escalations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("group_id", sa.Integer(), nullable=False),
        sa.Column("chain_id", sa.Integer(), nullable=True),
        sa.Column("route_id", sa.Integer(), nullable=True),
        sa.Column("snapshot", watchkeeper.db.types.JSONType, nullable=False),
        sa.Column("state", watchkeeper.db.types.JSONType, nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("wake_at", watchkeeper.db.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("ack_timeout_minutes", sa.Integer(), nullable=True),
        sa.Column("finished_reason", sa.String(length=200), nullable=True),
        sa.Column("nobody_notified", sa.Integer(), nullable=False),
        sa.Column("created_at", watchkeeper.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", watchkeeper.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["group_id"],
            ["alert_groups.id"],
            name=op.f("fk_escalations_group_id_alert_groups"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_escalations")),
        sa.UniqueConstraint("group_id", name=op.f("uq_escalations_group_id")),
    )
    with op.batch_alter_table("escalations", schema=None) as batch_op:
        batch_op.create_index("ix_escalations_due", ["status", "wake_at"], unique=False)

    op.create_table(
        "user_notifications",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("group_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("urgency", sa.String(length=16), nullable=False),
        sa.Column("cause", sa.String(length=100), nullable=False),
        sa.Column("rules", watchkeeper.db.types.JSONType, nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("wake_at", watchkeeper.db.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("created_at", watchkeeper.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["group_id"],
            ["alert_groups.id"],
            name=op.f("fk_user_notifications_group_id_alert_groups"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_user_notifications_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_user_notifications")),
    )
    with op.batch_alter_table("user_notifications", schema=None) as batch_op:
        batch_op.create_index("ix_user_notifications_due", ["status", "wake_at"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_user_notifications_group_id"), ["group_id"], unique=False
        )


def downgrade() -> None:

    with op.batch_alter_table("user_notifications", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_user_notifications_group_id"))
        batch_op.drop_index("ix_user_notifications_due")

    op.drop_table("user_notifications")
    with op.batch_alter_table("escalations", schema=None) as batch_op:
        batch_op.drop_index("ix_escalations_due")

    op.drop_table("escalations")
    with op.batch_alter_table("deliveries", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_deliveries_group_id"))
        batch_op.drop_index("ix_deliveries_due")

    op.drop_table("deliveries")
    with op.batch_alter_table("routes", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_routes_integration_id"))

    op.drop_table("routes")
    with op.batch_alter_table("notification_rules", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_notification_rules_user_id"))

    op.drop_table("notification_rules")
    with op.batch_alter_table("outgoing_webhooks", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_outgoing_webhooks_team_id"))

    op.drop_table("outgoing_webhooks")
    with op.batch_alter_table("escalation_chains", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_escalation_chains_team_id"))

    op.drop_table("escalation_chains")
    with op.batch_alter_table("contact_methods", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_contact_methods_user_id"))

    op.drop_table("contact_methods")
    with op.batch_alter_table("chat_destinations", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_chat_destinations_team_id"))

    op.drop_table("chat_destinations")
