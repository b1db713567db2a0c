"""key checks: each secret key's check value, stored at its first start, so a process with
the wrong key refuses to start; retired once `keys rotate` has moved every value off it.
Message text, summaries, notes and alert text are encrypted from now on (same columns:
text written before stays readable in clear until `hotline111 keys rotate` encrypts it).

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "key_checks",
        sa.Column("key_id", sa.String(32), primary_key=True),
        sa.Column("check_value", sa.String(64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("retired_at", sa.DateTime(timezone=True), nullable=True),
    )


def downgrade() -> None:
    op.drop_table("key_checks")
