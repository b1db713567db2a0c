"""units by kind: routing looks up the hotline supervisors for every incident

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22
"""

from __future__ import annotations

from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_units_kind", "units", ["kind"])


def downgrade() -> None:
    op.drop_index("ix_units_kind", table_name="units")
