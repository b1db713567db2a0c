"""The `process` job: assess an incident (triage, place), then write it and route it."""

from __future__ import annotations

import logging
import time

from sqlalchemy import select
from sqlalchemy.orm import Session, lazyload

from intake.pipeline.assess import Analysis, analyse, apply
from intake.pipeline.context import Services
from intake.pipeline.route import route_incident
from intake.pipeline.searching import reindex
from intake.pipeline.updates import send_follow_ups
from intake.store import jobs
from intake.store.jobs import ClaimedJob
from intake.store.models import Incident

log = logging.getLogger(__name__)
# How long one write transaction of the pipeline may go on taking incidents: several share
# a commit (and on SQLite the writer's turn), yet a tip waiting to be stored waits behind
# a few milliseconds of the pipeline's writes at most (bench/ingest.py, bench/pipeline.py).
WRITE_TURN_SECONDS = 0.005


def process_incidents(services: Services, batch: list[ClaimedJob]) -> list[ClaimedJob]:
    """`process` jobs: locate and triage while only reading, then write and route.

    The CPU-heavy part runs outside the write transaction, so on SQLite the single writer
    is held only for the writes; the incidents written within a few milliseconds share a
    write transaction, each in its own savepoint (one that fails is retried alone). A
    follow-up that arrives in between re-runs the job.
    """
    ids = [int(job.key) for job in batch]
    with services.db.reader() as session:
        incidents = session.scalars(select(Incident).where(Incident.id.in_(ids))).all()
        analyses = {
            incident.id: analyse(session=session, incident=incident, context=services.pipeline)
            for incident in incidents
        }
    pending = list(batch)
    deliveries: list[ClaimedJob] = []
    while pending:
        try:
            pending = _write_and_route(services, pending, analyses, deliveries)
        except Exception as exc:
            # Some incident broke the shared transaction: the same turn again, each
            # incident in a savepoint, so the others go through and the culprit is retried.
            log.warning("routing turn failed (%s); again one savepoint each", type(exc).__name__)
            pending = _write_and_route(services, pending, analyses, deliveries, careful=True)
    return deliveries


def _write_and_route(
    services: Services,
    pending: list[ClaimedJob],
    analyses: dict[int, Analysis],
    deliveries: list[ClaimedJob],
    *,
    careful: bool = False,
) -> list[ClaimedJob]:
    """Apply the analyses and route, in one transaction for as many incidents as fit in
    `WRITE_TURN_SECONDS`; returns the jobs left for the next one. The deliver jobs of the
    alerts made are added to `deliveries` once committed. `careful` puts each incident in
    a savepoint and records its failure instead of failing the transaction (a savepoint
    each costs two statements and a flush, so only when a turn without them failed)."""
    made: list[ClaimedJob] = []
    finished: list[ClaimedJob] = []
    started = time.monotonic()
    chunk = pending
    ids = [int(job.key) for job in chunk if int(job.key) in analyses]
    with services.db.writer(durable=False) as session:
        locked = session.scalars(
            select(Incident)
            .where(Incident.id.in_(ids))
            .options(lazyload(Incident.messages))  # the analysis has read them already
            .with_for_update()
        ).all()
        by_id = {incident.id: incident for incident in locked}
        for done, job in enumerate(chunk):
            if done and time.monotonic() - started > WRITE_TURN_SECONDS:
                break
            incident = by_id.get(int(job.key))
            if incident is None:
                finished.append(job)  # gone: nothing to do
                continue
            leased: list[ClaimedJob] = []
            if not careful:
                _apply_and_route(session, services, incident, analyses[incident.id], leased)
                made.extend(leased)
                finished.append(job)
                continue
            try:
                with session.begin_nested():
                    _apply_and_route(session, services, incident, analyses[incident.id], leased)
            except Exception as exc:
                log.warning("incident %s not processed: %s", job.key, type(exc).__name__)
                log.debug("process failure", exc_info=True)
                job.retry(session, error=f"{type(exc).__name__}: {exc}")
                continue
            made.extend(leased)
            finished.append(job)
        else:
            done = len(chunk)
        jobs.complete_many(session=session, job_ids=[job.id for job in finished])
    for job in finished:
        job.finished = True
    deliveries.extend(made)  # committed
    return chunk[done:]


def _apply_and_route(
    session: Session,
    services: Services,
    incident: Incident,
    analysis: Analysis,
    handoff: list[ClaimedJob],
) -> None:
    send_follow_ups(session=session, services=services, incident=incident, handoff=handoff)
    apply(session=session, incident=incident, analysis=analysis)
    reindex(session=session, services=services, incident=incident, text=analysis.text)
    route_incident(
        session=session, services=services, incident=incident, actor="system", handoff=handoff
    )
