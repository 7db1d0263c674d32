"""slo: definitions, status, history, alert integrations

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-25 14:33:34.197214
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import watchkeeper.db.types

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "slos",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("team_id", sa.Integer(), nullable=False),
        sa.Column("service", sa.String(length=200), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("spec", watchkeeper.db.types.JSONType, nullable=False),
        sa.Column("native_evaluation", sa.Boolean(), nullable=False),
        sa.Column("prometheus_url", sa.String(length=2000), nullable=True),
        sa.Column("prometheus_bearer_token", sa.String(length=2000), nullable=True),
        sa.Column("prometheus_basic_auth", sa.String(length=2000), nullable=True),
        sa.Column("no_data_alert", sa.Boolean(), nullable=False),
        sa.Column("created_at", watchkeeper.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", watchkeeper.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["team_id"], ["teams.id"], name=op.f("fk_slos_team_id_teams"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_slos")),
        sa.UniqueConstraint("service", "name", name="uq_slos_service_name"),
    )
    with op.batch_alter_table("slos", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_slos_native_evaluation"), ["native_evaluation"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_slos_service"), ["service"], unique=False)
        batch_op.create_index(batch_op.f("ix_slos_team_id"), ["team_id"], unique=False)

    op.create_table(
        "slo_alert_integrations",
        sa.Column("team_id", sa.Integer(), nullable=False),
        sa.Column("integration_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["integration_id"],
            ["integrations.id"],
            name=op.f("fk_slo_alert_integrations_integration_id_integrations"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["team_id"],
            ["teams.id"],
            name=op.f("fk_slo_alert_integrations_team_id_teams"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("team_id", name=op.f("pk_slo_alert_integrations")),
        sa.UniqueConstraint(
            "integration_id", name=op.f("uq_slo_alert_integrations_integration_id")
        ),
    )
    op.create_table(
        "slo_history",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("slo_id", sa.Integer(), nullable=False),
        sa.Column("at", watchkeeper.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("error_ratio", sa.Double(), nullable=True),
        sa.Column("sli", sa.Double(), nullable=True),
        sa.Column("budget_remaining", sa.Double(), nullable=True),
        sa.Column("burn_rates", watchkeeper.db.types.JSONType, nullable=False),
        sa.ForeignKeyConstraint(
            ["slo_id"], ["slos.id"], name=op.f("fk_slo_history_slo_id_slos"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_slo_history")),
    )
    with op.batch_alter_table("slo_history", schema=None) as batch_op:
        batch_op.create_index("ix_slo_history_slo_id_at", ["slo_id", "at"], unique=False)

    op.create_table(
        "slo_status",
        sa.Column("slo_id", sa.Integer(), nullable=False),
        sa.Column("evaluated_at", watchkeeper.db.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("period_start", watchkeeper.db.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("error_ratio", sa.Double(), nullable=True),
        sa.Column("sli", sa.Double(), nullable=True),
        sa.Column("budget_remaining", sa.Double(), nullable=True),
        sa.Column("budget_remaining_seconds", sa.Double(), nullable=True),
        sa.Column("burn_rates", watchkeeper.db.types.JSONType, nullable=False),
        sa.Column("firing", watchkeeper.db.types.JSONType, nullable=False),
        sa.Column("open_alerts", watchkeeper.db.types.JSONType, nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("error_at", watchkeeper.db.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column(
            "last_success_at", watchkeeper.db.types.UTCDateTime(timezone=True), nullable=True
        ),
        sa.ForeignKeyConstraint(
            ["slo_id"], ["slos.id"], name=op.f("fk_slo_status_slo_id_slos"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("slo_id", name=op.f("pk_slo_status")),
    )


def downgrade() -> None:
    op.drop_table("slo_status")
    with op.batch_alter_table("slo_history", schema=None) as batch_op:
        batch_op.drop_index("ix_slo_history_slo_id_at")

    op.drop_table("slo_history")
    op.drop_table("slo_alert_integrations")
    with op.batch_alter_table("slos", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_slos_team_id"))
        batch_op.drop_index(batch_op.f("ix_slos_service"))
        batch_op.drop_index(batch_op.f("ix_slos_native_evaluation"))

    op.drop_table("slos")
