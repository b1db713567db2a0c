"""units by contact: every chat message is checked against the units' contacts, so that a
responder's message is never taken for a tip

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-04
"""

from __future__ import annotations

from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None
CONTACTS = ("telegram_chat_id", "zalo_user_id", "phone")


def upgrade() -> None:
    for column in CONTACTS:
        op.create_index(f"ix_units_{column}", "units", [column])


def downgrade() -> None:
    for column in CONTACTS:
        op.drop_index(f"ix_units_{column}", table_name="units")
