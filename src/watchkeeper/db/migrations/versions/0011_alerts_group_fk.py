"""alerts: drop the foreign key from alerts.group_id to alert_groups

Checking it was the largest single cost of an ingested alert on PostgreSQL:
a trigger per inserted row running an index probe and a row lock on its
group (15 % of the server's work for batches of new Prometheus alerts).
Only ingest inserts alerts, into groups it found open or created in the same
transaction; the two places that delete groups (the retention prune and
deleting an integration) delete their alerts first, so nothing relied on
the cascade. The index on group_id stays.

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-26 07:20:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

FK = "fk_alerts_group_id_alert_groups"


def upgrade() -> None:
    with op.batch_alter_table("alerts", schema=None) as batch_op:
        batch_op.drop_constraint(FK, type_="foreignkey")


def downgrade() -> None:
    op.execute("DELETE FROM alerts WHERE group_id NOT IN (SELECT id FROM alert_groups)")
    with op.batch_alter_table("alerts", schema=None) as batch_op:
        batch_op.create_foreign_key(FK, "alert_groups", ["group_id"], ["id"], ondelete="CASCADE")
