"""alerts: index endsAt of firing alerts only (ix_alerts_firing_ends_at)

The endsAt sweep reads firing alerts whose endsAt passed, every 5 seconds.
ix_alerts_ends_at held every alert's endsAt, resolved ones included (their
endsAt is in the past too), so the sweep's range grew with the history:
PostgreSQL planned a sequential scan, 62 ms at 500,000 alerts. The partial
index holds the firing alerts with an endsAt only: 0.07 ms on the same data.

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-26 03:45:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

FIRING_WITH_ENDS_AT = "status = 'firing' AND ends_at IS NOT NULL"


def upgrade() -> None:
    with op.batch_alter_table("alerts", schema=None) as batch_op:
        batch_op.drop_index("ix_alerts_ends_at")
        batch_op.create_index(
            "ix_alerts_firing_ends_at",
            ["ends_at"],
            unique=False,
            postgresql_where=sa.text(FIRING_WITH_ENDS_AT),
            sqlite_where=sa.text(FIRING_WITH_ENDS_AT),
        )


def downgrade() -> None:
    with op.batch_alter_table("alerts", schema=None) as batch_op:
        batch_op.drop_index("ix_alerts_firing_ends_at")
        batch_op.create_index("ix_alerts_ends_at", ["ends_at"], unique=False)
