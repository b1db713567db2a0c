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

from intake.store.migrate import upgrade

REPO = Path(__file__).resolve().parents[1]
DATA = REPO / "tests" / "data"  # labelled sets, copied into the repository (origin noted there)
POSTGRES_URL = os.environ.get("HOTLINE_TEST_POSTGRES_URL")
# One template per test run, so that runs from several checkouts can share a server.
TEMPLATE = f"hotline111_test_template_{os.getpid()}"
pytest_plugins = ["tests.telegram_wiring"]  # the fixtures `provider` and `wired`


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


@pytest.fixture(scope="session")
def geography():  # type: ignore[no-untyped-def]
    """The commune snapshot, loaded once for the whole run."""
    from routing.geography import load_geography

    return load_geography(REPO / "config" / "geography")


@pytest.fixture(scope="session")
def rules():  # type: ignore[no-untyped-def]
    """The triage rules, loaded once for the whole run."""
    from triage import load_rules

    return load_rules(REPO / "config" / "triage")


@pytest.fixture
def settings(database_url: str, tmp_path: Path):  # type: ignore[no-untyped-def]
    """Settings for a test service: its own database and var/, workers run by the test."""
    from intake.settings import Settings

    return Settings(
        HOTLINE_DATABASE_URL=database_url,
        HOTLINE_SECRET_KEY="test-secret-key-for-hotline111",
        HOTLINE_VAR_DIR=tmp_path / "var",
        HOTLINE_RUN_WORKERS=False,
        HOTLINE_PUBLIC_BASE_URL="https://hotline.example.org",
        HOTLINE_METRICS_TOKEN="test-metrics-token",
    )


@pytest.fixture
def services(settings, geography, rules):  # type: ignore[no-untyped-def]
    """The service's parts over the test database, sharing the loaded rules and geography."""
    from intake.services import build_services

    built = build_services(settings, geography=geography, rules=rules)
    yield built
    built.close()


@pytest.fixture
def client(services):  # type: ignore[no-untyped-def]
    """An HTTP client for the app (in process); workers are drained by the test."""
    from fastapi.testclient import TestClient

    from intake.web.app import create_app

    with TestClient(create_app(services.settings, services)) as test_client:
        yield test_client


@pytest.fixture
def make_user(services):  # type: ignore[no-untyped-def]
    """Create a user and return a bearer token for them."""
    from intake.store.auth import create_token, create_user
    from intake.store.models import Role

    def make(username: str, role: str, unit_id: str | None = None) -> dict[str, str]:
        with services.db.writer() as session:
            create_user(
                session=session,
                username=username,
                role=Role(role),
                password="correct horse battery",
                unit_id=unit_id,
            )
            token = create_token(session=session, username=username)
        return {"Authorization": f"Bearer {token}"}

    return make


@pytest.fixture
def drain(services):  # type: ignore[no-untyped-def]
    """Run the background jobs that are due, as the workers would."""
    from intake.pipeline.worker import Worker

    worker = Worker(services)
    return worker.drain
