"""Shared fixtures: a fresh, migrated database per test on SQLite and on PostgreSQL.

PostgreSQL runs when HOTLINE_TEST_POSTGRES_URL names a server where the test user may
create databases (`.ci/run` starts one); otherwise those cases are skipped, visibly.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from intake.migrate import upgrade

REPO = Path(__file__).resolve().parents[1]
DATASETS = REPO.parent / "shared" / "datasets"
POSTGRES_URL = os.environ.get("HOTLINE_TEST_POSTGRES_URL")
TEMPLATE = "hotline111_test_template"


def _admin_engine():  # type: ignore[no-untyped-def]
    assert POSTGRES_URL
    return create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")


@pytest.fixture(scope="session")
def postgres_template() -> Iterator[str]:
    """A migrated template database that each test's database is copied from."""
    if not POSTGRES_URL:
        pytest.skip("PostgreSQL not configured (set HOTLINE_TEST_POSTGRES_URL)")
    engine = _admin_engine()
    with engine.connect() as conn:
        conn.execute(text(f"DROP DATABASE IF EXISTS {TEMPLATE}"))
        conn.execute(text(f"CREATE DATABASE {TEMPLATE}"))
    url = make_url(POSTGRES_URL).set(database=TEMPLATE)
    upgrade(url.render_as_string(hide_password=False))
    yield TEMPLATE
    with engine.connect() as conn:
        conn.execute(text(f"DROP DATABASE IF EXISTS {TEMPLATE} WITH (FORCE)"))
    engine.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """The URL of an empty, migrated database of each supported kind."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'hotline111.db'}"
        upgrade(url)
        yield url
        return
    template = request.getfixturevalue("postgres_template")
    name = f"hotline111_test_{uuid.uuid4().hex[:12]}"
    engine = _admin_engine()
    with engine.connect() as conn:
        conn.execute(text(f"CREATE DATABASE {name} TEMPLATE {template}"))
    yield make_url(POSTGRES_URL).set(database=name).render_as_string(hide_password=False)
    with engine.connect() as conn:
        conn.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
    engine.dispose()
