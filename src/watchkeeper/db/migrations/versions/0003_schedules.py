"""schedules: schedules, layers, rotations, overrides, swaps, calendars, feeds

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-25 14:03:27.789943
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import watchkeeper.db.types

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "schedule_notices",
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("topic", sa.String(length=64), nullable=False),
        sa.Column("created_at", watchkeeper.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_schedule_notices")),
    )
    with op.batch_alter_table("schedule_notices", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_schedule_notices_created_at"), ["created_at"], unique=False
        )

    op.create_table(
        "schedule_user_feeds",
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("token", sa.String(length=64), nullable=False),
        sa.Column("created_at", watchkeeper.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_schedule_user_feeds_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("user_id", name=op.f("pk_schedule_user_feeds")),
        sa.UniqueConstraint("token", name=op.f("uq_schedule_user_feeds_token")),
    )
    op.create_table(
        "schedules",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("time_zone", sa.String(length=64), nullable=False),
        sa.Column("team_id", sa.Integer(), nullable=True),
        sa.Column("ical_token", sa.String(length=64), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", watchkeeper.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", watchkeeper.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["team_id"], ["teams.id"], name=op.f("fk_schedules_team_id_teams"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_schedules")),
        sa.UniqueConstraint("ical_token", name=op.f("uq_schedules_ical_token")),
        sa.UniqueConstraint("name", name=op.f("uq_schedules_name")),
    )
    with op.batch_alter_table("schedules", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_schedules_team_id"), ["team_id"], unique=False)

    op.create_table(
        "schedule_calendars",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("schedule_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("source", sa.String(length=8), nullable=False),
        sa.Column("url", sa.Text(), nullable=True),
        sa.Column("poll_interval_seconds", sa.Integer(), nullable=False),
        sa.Column("etag", sa.String(length=500), nullable=True),
        sa.Column("last_modified", sa.String(length=100), nullable=True),
        sa.Column("content", sa.Text(), nullable=True),
        sa.Column(
            "content_updated_at", watchkeeper.db.types.UTCDateTime(timezone=True), nullable=True
        ),
        sa.Column("next_poll_at", watchkeeper.db.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("last_polled_at", watchkeeper.db.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("last_error_at", watchkeeper.db.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("unknown_names", watchkeeper.db.types.JSONType, nullable=False),
        sa.Column("events_without_users", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["schedule_id"],
            ["schedules.id"],
            name=op.f("fk_schedule_calendars_schedule_id_schedules"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_schedule_calendars")),
        sa.UniqueConstraint("schedule_id", "kind", name=op.f("uq_schedule_calendars_schedule_id")),
    )
    with op.batch_alter_table("schedule_calendars", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_schedule_calendars_next_poll_at"), ["next_poll_at"], unique=False
        )

    op.create_table(
        "schedule_layers",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("schedule_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["schedule_id"],
            ["schedules.id"],
            name=op.f("fk_schedule_layers_schedule_id_schedules"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_schedule_layers")),
    )
    with op.batch_alter_table("schedule_layers", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_schedule_layers_schedule_id"), ["schedule_id"], unique=False
        )

    op.create_table(
        "schedule_overrides",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("schedule_id", sa.Integer(), nullable=False),
        sa.Column("start", watchkeeper.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("end", watchkeeper.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("user_ids", watchkeeper.db.types.JSONType, nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("created_by", sa.Integer(), nullable=True),
        sa.Column("created_at", watchkeeper.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["created_by"],
            ["users.id"],
            name=op.f("fk_schedule_overrides_created_by_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["schedule_id"],
            ["schedules.id"],
            name=op.f("fk_schedule_overrides_schedule_id_schedules"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_schedule_overrides")),
    )
    with op.batch_alter_table("schedule_overrides", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_schedule_overrides_created_by"), ["created_by"], unique=False
        )
        batch_op.create_index("ix_schedule_overrides_span", ["schedule_id", "end"], unique=False)

    op.create_table(
        "schedule_swaps",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("schedule_id", sa.Integer(), nullable=False),
        sa.Column("requester_id", sa.Integer(), nullable=False),
        sa.Column("start", watchkeeper.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("end", watchkeeper.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("taker_id", sa.Integer(), nullable=True),
        sa.Column("override_ids", watchkeeper.db.types.JSONType, nullable=False),
        sa.Column("created_at", watchkeeper.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", watchkeeper.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["requester_id"],
            ["users.id"],
            name=op.f("fk_schedule_swaps_requester_id_users"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["schedule_id"],
            ["schedules.id"],
            name=op.f("fk_schedule_swaps_schedule_id_schedules"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["taker_id"],
            ["users.id"],
            name=op.f("fk_schedule_swaps_taker_id_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_schedule_swaps")),
    )
    with op.batch_alter_table("schedule_swaps", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_schedule_swaps_requester_id"), ["requester_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_schedule_swaps_schedule_id"), ["schedule_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_schedule_swaps_status"), ["status"], unique=False)

    op.create_table(
        "schedule_rotations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("layer_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("user_ids", watchkeeper.db.types.JSONType, nullable=False),
        sa.Column("start", watchkeeper.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("shift_count", sa.Integer(), nullable=False),
        sa.Column("shift_unit", sa.String(length=8), nullable=False),
        sa.Column("handoff_time", sa.String(length=8), nullable=True),
        sa.Column("restrictions", watchkeeper.db.types.JSONType, nullable=False),
        sa.Column("end", watchkeeper.db.types.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["layer_id"],
            ["schedule_layers.id"],
            name=op.f("fk_schedule_rotations_layer_id_schedule_layers"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_schedule_rotations")),
    )
    with op.batch_alter_table("schedule_rotations", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_schedule_rotations_layer_id"), ["layer_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("schedule_rotations", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_schedule_rotations_layer_id"))

    op.drop_table("schedule_rotations")
    with op.batch_alter_table("schedule_swaps", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_schedule_swaps_status"))
        batch_op.drop_index(batch_op.f("ix_schedule_swaps_schedule_id"))
        batch_op.drop_index(batch_op.f("ix_schedule_swaps_requester_id"))

    op.drop_table("schedule_swaps")
    with op.batch_alter_table("schedule_overrides", schema=None) as batch_op:
        batch_op.drop_index("ix_schedule_overrides_span")
        batch_op.drop_index(batch_op.f("ix_schedule_overrides_created_by"))

    op.drop_table("schedule_overrides")
    with op.batch_alter_table("schedule_layers", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_schedule_layers_schedule_id"))

    op.drop_table("schedule_layers")
    with op.batch_alter_table("schedule_calendars", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_schedule_calendars_next_poll_at"))

    op.drop_table("schedule_calendars")
    with op.batch_alter_table("schedules", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_schedules_team_id"))

    op.drop_table("schedules")
    op.drop_table("schedule_user_feeds")
    with op.batch_alter_table("schedule_notices", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_schedule_notices_created_at"))

    op.drop_table("schedule_notices")
