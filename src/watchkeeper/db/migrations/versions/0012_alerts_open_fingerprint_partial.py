"""alerts: the unique (integration_id, open_fingerprint) index holds open alerts only

A resolved alert's open_fingerprint is NULL, yet a plain unique index keeps
an entry for it: the index that every ingested alert is looked up and
inserted in grew with the whole history kept (30 days by default), one dead
entry per resolved alert, instead of with what fires now. Partial, it holds
the firing alerts only: smaller on disk and in the cache, and shallower.
(The NULL entries sort together, so they did not spread new keys over more
pages; what spreads them is the number of alerts firing at once.)

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-26 08:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

NAME = "uq_alerts_open_fingerprint"
COLUMNS = ["integration_id", "open_fingerprint"]
OPEN = "open_fingerprint IS NOT NULL"


def upgrade() -> None:
    with op.batch_alter_table("alerts", schema=None) as batch_op:
        batch_op.drop_constraint(NAME, type_="unique")
    op.create_index(
        NAME,
        "alerts",
        COLUMNS,
        unique=True,
        postgresql_where=sa.text(OPEN),
        sqlite_where=sa.text(OPEN),
    )


def downgrade() -> None:
    op.drop_index(NAME, table_name="alerts")
    with op.batch_alter_table("alerts", schema=None) as batch_op:
        batch_op.create_unique_constraint(NAME, COLUMNS)
