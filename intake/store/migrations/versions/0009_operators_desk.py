"""the operator's desk: victim details an operator sets, units switched off, search terms

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


# Columns are added with plain ALTER TABLE: a batch (copy-and-move) on SQLite would drop the
# triggers of `units` that bump the directory's version (0005).
TRIGGERS_0005 = (
    "INSERT INTO counters (name, value) VALUES ('directory', 1) "
    "ON CONFLICT (name) DO UPDATE SET value = counters.value + 1"
)


def upgrade() -> None:
    op.add_column("incidents", sa.Column("victim_age_group", sa.String(length=16), nullable=True))
    op.add_column("incidents", sa.Column("victim_disability", sa.Boolean(), nullable=True))
    op.add_column(
        "incidents",
        sa.Column(
            "victim_set_by_operator", sa.Boolean(), nullable=False, server_default=sa.false()
        ),
    )
    op.add_column(
        "units", sa.Column("active", sa.Boolean(), nullable=False, server_default=sa.true())
    )
    op.create_table(
        "search_terms",
        sa.Column("term", sa.String(length=64), nullable=False),
        sa.Column("incident_id", sa.Integer(), sa.ForeignKey("incidents.id"), nullable=False),
        sa.PrimaryKeyConstraint("term", "incident_id"),
    )
    op.create_index("ix_search_terms_incident_id", "search_terms", ["incident_id"])


def downgrade() -> None:
    op.drop_index("ix_search_terms_incident_id", table_name="search_terms")
    op.drop_table("search_terms")
    with op.batch_alter_table("units") as batch:
        batch.drop_column("active")
    if op.get_bind().dialect.name == "sqlite":  # the batch copy dropped 0005's triggers
        for verb in ("INSERT", "UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER IF NOT EXISTS units_version_{verb.lower()} AFTER {verb} "
                f"ON units BEGIN {TRIGGERS_0005}; END"
            )
    with op.batch_alter_table("incidents") as batch:
        batch.drop_column("victim_set_by_operator")
        batch.drop_column("victim_disability")
        batch.drop_column("victim_age_group")
