"""Prometheus metrics, read from the database at scrape time so every process agrees.

/metrics is not anonymous: with HOTLINE_METRICS_TOKEN set, a scrape sends it as a bearer
token and gets every series; without it, only loopback clients are answered, and the
per-unit series (unit ids name communes) are left out.
"""

from __future__ import annotations

import hmac
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi import HTTPException, Request
from fastapi.responses import PlainTextResponse
from fastapi.security.utils import get_authorization_scheme_param
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy import func, select

from intake.store.db import Database
from intake.store.models import Alert, Assignment, InboxItem, Job, utcnow
from intake.web.client import client_address, is_loopback


class HotlineCollector(Collector):
    """Tips received by channel, pipeline lag and backlog, alerts pending."""

    def __init__(self, db: Database, *, units: bool) -> None:
        self.db, self.units = db, units

    def collect(self) -> Iterator[Metric]:
        with self.db.reader() as session:
            received = session.execute(
                select(InboxItem.channel, func.count()).group_by(InboxItem.channel)
            ).all()
            pending = session.execute(
                select(Job.kind, func.count(), func.min(Job.created_at))
                .where(Job.state == "pending", Job.run_at <= utcnow())
                .group_by(Job.kind)
            ).all()
            dead = session.execute(
                select(Job.kind, func.count()).where(Job.state == "dead").group_by(Job.kind)
            ).all()
            alerts = session.execute(select(Alert.state, func.count()).group_by(Alert.state)).all()
        tips = CounterMetricFamily(
            "hotline111_tips_received", "Provider requests stored in the inbox", labels=["channel"]
        )
        for channel, count in received:
            tips.add_metric([channel], count)
        yield tips
        backlog = GaugeMetricFamily(
            "hotline111_jobs_pending", "Background jobs due and not yet done", labels=["kind"]
        )
        lag = GaugeMetricFamily(
            "hotline111_pipeline_lag_seconds",
            "Age of the oldest due job, by kind",
            labels=["kind"],
        )
        now = utcnow()
        for kind, count, oldest in pending:
            backlog.add_metric([kind], count)
            lag.add_metric([kind], max(0.0, (now - _aware(oldest)).total_seconds()))
        yield backlog
        yield lag
        failed = GaugeMetricFamily(
            "hotline111_jobs_dead", "Jobs that failed every retry", labels=["kind"]
        )
        for kind, count in dead:
            failed.add_metric([kind], count)
        yield failed
        alert_states = GaugeMetricFamily(
            "hotline111_alerts", "Alerts in the outbox, by state", labels=["state"]
        )
        for state, count in alerts:
            alert_states.add_metric([state], count)
        yield alert_states
        if self.units:
            yield from self._units()

    def _units(self) -> Iterator[Metric]:
        """Per-unit measures, for the units that had alerts in the last 30 days."""
        since = utcnow() - timedelta(days=30)
        with self.db.reader() as session:
            pending = session.execute(
                select(Alert.unit_id, func.count())
                .where(Alert.state.in_(["pending", "sending"]))
                .group_by(Alert.unit_id)
            ).all()
            assignments = session.execute(
                select(
                    Assignment.unit_id,
                    Assignment.created_at,
                    Assignment.acknowledged_at,
                    Assignment.escalation_step,
                ).where(Assignment.created_at >= since)
            ).all()
        waiting = GaugeMetricFamily(
            "hotline111_unit_alerts_pending",
            "Alerts not yet handed to the provider",
            labels=["unit"],
        )
        for unit, count in pending:
            waiting.add_metric([unit], count)
        yield waiting
        ack = GaugeMetricFamily(
            "hotline111_unit_ack_seconds_mean",
            "Mean time to acknowledge (30 days)",
            labels=["unit"],
        )
        escalations = GaugeMetricFamily(
            "hotline111_unit_escalations",
            "Alerts that went unacknowledged past the deadline (30 days)",
            labels=["unit"],
        )
        durations: dict[str, list[float]] = {}
        escalated: dict[str, int] = {}
        for unit, created, acknowledged, step in assignments:
            if acknowledged is not None:
                seconds = (_aware(acknowledged) - _aware(created)).total_seconds()
                durations.setdefault(unit, []).append(seconds)
            if step:
                escalated[unit] = escalated.get(unit, 0) + 1
        for unit, values in durations.items():
            ack.add_metric([unit], sum(values) / len(values))
        for unit, count in escalated.items():
            escalations.add_metric([unit], count)
        yield ack
        yield escalations


def _aware(moment: datetime | str) -> datetime:
    """SQLite aggregates come back naive or as text; they are UTC."""
    if isinstance(moment, str):
        moment = datetime.fromisoformat(moment)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def registry_for(db: Database, *, units: bool) -> CollectorRegistry:
    """A registry of this service's metrics (one per app, so tests do not collide)."""
    registry = CollectorRegistry()
    registry.register(HotlineCollector(db, units=units))
    return registry


def install_metrics(app: Any, db: Database, token: Any) -> None:
    """Add /metrics: the scrape token opens every series; without one, loopback only."""
    full, local = registry_for(db, units=True), registry_for(db, units=False)
    secret = token.get_secret_value().encode() if token is not None else None

    @app.get("/metrics", tags=["ops"])
    def metrics(request: Request) -> PlainTextResponse:
        """Prometheus text format (bearer scrape token, or loopback without per-unit series)."""
        scheme, given = get_authorization_scheme_param(request.headers.get("Authorization"))
        if secret is not None:
            if scheme.lower() != "bearer" or not hmac.compare_digest(given.encode(), secret):
                raise HTTPException(401, "scrape token required", {"WWW-Authenticate": "Bearer"})
            registry = full
        elif is_loopback(client_address(request)):
            registry = local
        else:
            raise HTTPException(403, "metrics answer loopback only (set HOTLINE_METRICS_TOKEN)")
        return PlainTextResponse(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)
