"""the directory's version: every change to the units table bumps counters['directory'],
so a process may keep the units it routed with until the version moves

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02
"""

from __future__ import annotations

from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

BUMP = (
    "INSERT INTO counters (name, value) VALUES ('directory', 1) "
    "ON CONFLICT (name) DO UPDATE SET value = counters.value + 1"
)
VERBS = ("INSERT", "UPDATE", "DELETE")


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for verb in VERBS:
            op.execute(
                f"CREATE TRIGGER units_version_{verb.lower()} AFTER {verb} ON units "
                f"BEGIN {BUMP}; END"
            )
        return
    op.execute(
        "CREATE FUNCTION units_version_bump() RETURNS trigger LANGUAGE plpgsql AS "
        f"$$ BEGIN {BUMP}; RETURN NULL; END $$"
    )
    op.execute(
        "CREATE TRIGGER units_version AFTER INSERT OR UPDATE OR DELETE ON units "
        "FOR EACH STATEMENT EXECUTE FUNCTION units_version_bump()"
    )


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for verb in VERBS:
            op.execute(f"DROP TRIGGER IF EXISTS units_version_{verb.lower()}")
        return
    op.execute("DROP TRIGGER IF EXISTS units_version ON units")
    op.execute("DROP FUNCTION IF EXISTS units_version_bump()")
