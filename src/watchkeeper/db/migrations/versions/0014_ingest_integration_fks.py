"""raw_payloads, alert_groups: drop the foreign keys to integrations

Checking a foreign key takes a KEY SHARE lock on the row it points at. Every
ingest transaction inserts a payload and often a group, all pointing at the
same integration row, so concurrent transactions (two writer threads, two
processes) shared that lock, and PostgreSQL records a lock shared by several
transactions as a MultiXact: created, looked up and cleaned up for nearly
every commit. Measured with single PagerDuty events (2-core machine, bench
server, 10 s): about 8,000 MultiXact page accesses per run before, none
after; PostgreSQL's CPU per event 1,007 -> 810 µs with two processes and
652 -> 561 µs with one.

Deleting an integration now deletes its payloads and groups itself
(integrations.delete_integration); what a request in flight stores meanwhile
(another process may serve a deleted integration's token for up to 5 s) is
deleted by the next prune (housekeeping.prune). Both columns stay indexed.

Revision ID: 0014
Revises: 0013
Create Date: 2026-11-26 19:30:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLES = ("raw_payloads", "alert_groups")


def _fk(table: str) -> str:
    return f"fk_{table}_integration_id_integrations"


def upgrade() -> None:
    for table in TABLES:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_constraint(_fk(table), type_="foreignkey")


def downgrade() -> None:
    for table in TABLES:
        op.execute(f"DELETE FROM {table} WHERE integration_id NOT IN (SELECT id FROM integrations)")
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.create_foreign_key(
                _fk(table), "integrations", ["integration_id"], ["id"], ondelete="CASCADE"
            )
