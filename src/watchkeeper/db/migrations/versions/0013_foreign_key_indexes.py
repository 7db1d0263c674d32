"""Index the four foreign keys that had none

Deleting (or re-keying) a parent row makes the database find the rows that
point at it, for ON DELETE CASCADE / SET NULL. Without an index on the
referencing column that is a scan of the whole child table per deleted row:
deleting a user scanned every user_notifications row ever written (one per
user paged per escalation step, kept with their groups) and every schedule
swap; deleting a contact method every notification rule, an escalation chain
every route. Measured on PostgreSQL with 300,000 user_notifications rows:
deleting 10 users (each with 1,500 of them) took 367 ms before, 45 ms after.
tests/db/test_schema.py now checks that every foreign key column leads an index.

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-26 10:00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# (table, column): each gets ix_<table>_<column>, SQLAlchemy's name for index=True.
FOREIGN_KEYS = [
    ("user_notifications", "user_id"),
    ("notification_rules", "contact_method_id"),
    ("routes", "escalation_chain_id"),
    ("schedule_swaps", "taker_id"),
]


def upgrade() -> None:
    for table, column in FOREIGN_KEYS:
        op.create_index(f"ix_{table}_{column}", table, [column], unique=False)


def downgrade() -> None:
    for table, column in reversed(FOREIGN_KEYS):
        op.drop_index(f"ix_{table}_{column}", table_name=table)
