"""inbox keeps the incident id and reference a tip was answered with before its incident
is written (partner and web-form tips are stored first, turned into incidents by a worker)

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("inbox", schema=None) as batch_op:
        batch_op.add_column(sa.Column("reserved_incident_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("reference", sa.String(length=32), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("inbox", schema=None) as batch_op:
        batch_op.drop_column("reference")
        batch_op.drop_column("reserved_incident_id")
