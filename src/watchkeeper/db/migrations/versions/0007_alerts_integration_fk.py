"""alerts: drop the foreign key from alerts.integration_id to integrations

Every alert row checked it on insert (an index probe and a row lock per
alert, about a fifth of PostgreSQL's work per ingested alert), yet it only
duplicated the group's own key: deleting an integration deletes its groups,
and their alerts with them. The service deletes the integration's alerts
itself, for alerts merged into another integration's group.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-25 20:00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

FK = "fk_alerts_integration_id_integrations"


def upgrade() -> None:
    with op.batch_alter_table("alerts", schema=None) as batch_op:
        batch_op.drop_constraint(FK, type_="foreignkey")


def downgrade() -> None:
    op.execute("DELETE FROM alerts WHERE integration_id NOT IN (SELECT id FROM integrations)")
    with op.batch_alter_table("alerts", schema=None) as batch_op:
        batch_op.create_foreign_key(
            FK, "integrations", ["integration_id"], ["id"], ondelete="CASCADE"
        )
