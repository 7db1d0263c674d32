"""alert_groups: drop ix_alert_groups_integration_id

The unique index uq_alert_groups_open_key (integration_id, open_key) leads
with the same column and holds every group (NULL keys included, on both
databases), so it serves every lookup by integration. With both present,
PostgreSQL planned ingest's open-group lookup on young statistics as a scan
of all the integration's groups through the one-column index; and every new
group paid for maintaining both.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-26 01:10:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("alert_groups", schema=None) as batch_op:
        batch_op.drop_index("ix_alert_groups_integration_id")


def downgrade() -> None:
    with op.batch_alter_table("alert_groups", schema=None) as batch_op:
        batch_op.create_index("ix_alert_groups_integration_id", ["integration_id"], unique=False)
