"""Background workers: claim due jobs from the database and run them.

A handler gets the services and the claimed job and opens its own transactions, so a
handler that talks to a provider never holds the (single) SQLite writer while it waits;
it completes the job in its last transaction (`job.finish`), or the worker does after it.
A handler that raises is retried with backoff; `retry_after` on the exception wins.
The workers' bookkeeping commits are not waited onto the disk (`durable=False`, see
intake.db): every job is idempotent and is simply run again if a power cut loses one.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from intake.pipeline.context import Services
from intake.pipeline.ingest import Opening, ingest_item, open_incidents
from intake.pipeline.responders import take_unit_message_from_inbox
from intake.store import jobs
from intake.store.erasure import RetentionPolicy, apply_retention
from intake.store.models import InboxItem, utcnow
from intake.store.serialize import load_message

log = logging.getLogger(__name__)

# Under a steady trickle of tips, a worker that ran only a few jobs waits this long before
# claiming again: batches of several tips cost much less per tip than batches of one
# (bench/pipeline.py), for at most this much more latency on the tips that wait.
GATHER_BELOW = 16
GATHER_SECONDS = 0.1

Handler = Callable[[Services, jobs.ClaimedJob], None]
# A batch handler may hand back the jobs of the next step, already leased to this worker
# (jobs.lease_new): the worker runs them at once, so a tip goes from stored to alerted in
# one pass instead of waiting in the queue at every step.
BatchHandler = Callable[[Services, list[jobs.ClaimedJob]], list[jobs.ClaimedJob] | None]


def transactional(step: Callable[[Session, Services, str], object]) -> Handler:
    """A handler whose whole work, and the job's completion, is one write transaction."""

    def run(services: Services, job: jobs.ClaimedJob) -> None:
        with services.db.writer(durable=False) as session:
            step(session, services, job.key)
            job.finish(session)

    run.__name__ = getattr(step, "__name__", "handler")
    return run


@transactional
def _ingest(session: Session, services: Services, key: str) -> None:
    ingest_item(session=session, cipher=services.cipher, inbox_id=int(key), options=services.ingest)


def ingest_stored(services: Services, batch: list[jobs.ClaimedJob]) -> list[jobs.ClaimedJob]:
    """`ingest` jobs: stored tips become incidents. Those already answered with an
    incident id and reference (anonymous partner and web-form tips) are written together
    in one transaction; any other message, or a batch that fails, one by one."""
    by_inbox = {int(job.key): job for job in batch}
    with services.db.reader() as session:
        rows = session.execute(
            select(
                InboxItem.id,
                InboxItem.message,
                InboxItem.incident_id,
                InboxItem.reserved_incident_id,
                InboxItem.reference,
            ).where(InboxItem.id.in_(list(by_inbox)))
        ).all()
    reserved = [
        Opening(
            row.id,
            load_message(services.cipher.decrypt(row.message) or ""),
            row.reserved_incident_id,
            row.reference,
        )
        for row in rows
        if row.incident_id is None
        and row.reserved_incident_id is not None
        and row.reference
        and row.message
    ]
    in_bulk = {opening.inbox_id for opening in reserved}
    alone = [job for inbox_id, job in by_inbox.items() if inbox_id not in in_bulk]
    next_step: list[jobs.ClaimedJob] = []
    if reserved:
        try:
            with services.db.writer(durable=False) as session:
                unlinked = set(
                    session.scalars(
                        select(InboxItem.id).where(
                            InboxItem.id.in_(sorted(in_bulk)), InboxItem.incident_id.is_(None)
                        )
                    )
                )
                openings = [opening for opening in reserved if opening.inbox_id in unlinked]
                leased = open_incidents(session, openings, lease=True)
                jobs.complete_many(session=session, job_ids=[by_inbox[i].id for i in in_bulk])
            for inbox_id in in_bulk:
                by_inbox[inbox_id].finished = True
            next_step = leased
        except Exception as exc:
            log.warning(
                "bulk ingest of %s tips failed (%s); one by one", len(reserved), type(exc).__name__
            )
            alone = list(batch)
    for job in alone:
        try:
            _ingest(services, job)
        except Exception as exc:
            log.warning("inbox item %s not ingested: %s", job.key, type(exc).__name__)
            log.debug("ingest failure", exc_info=True)
            with services.db.writer(durable=False) as session:
                job.retry(session, error=f"{type(exc).__name__}: {exc}")
    return next_step


@transactional
def _acknowledge(session: Session, services: Services, key: str) -> None:
    take_unit_message_from_inbox(session=session, cipher=services.cipher, inbox_id=int(key))


RETENTION_EVERY = timedelta(days=1)


def apply_retention_daily(services: Services, job: jobs.ClaimedJob) -> None:
    """The retention limits, once a day (the job puts itself back a day later)."""
    settings = services.settings
    policy = RetentionPolicy(
        spam_days=settings.retain_spam_days,
        identity_months=settings.retain_identity_months,
        raw_body_days=settings.retain_raw_days,
    )
    with services.db.writer() as session:
        outcome = apply_retention(session=session, policy=policy)
        job.finish(session)
        jobs.schedule(
            session=session, kind="retention", key="daily", run_at=utcnow() + RETENTION_EVERY
        )
    log.info(
        "retention: %s spam incidents erased, %s identities removed, %s raw bodies dropped",
        outcome.spam_erased,
        outcome.identities_erased,
        outcome.raw_bodies_dropped,
    )


def default_handlers() -> dict[str, Handler]:
    """The job kinds run one at a time, by name (see `default_batch_handlers` for the rest)."""
    from intake.pipeline.deliver import send_reply
    from intake.pipeline.escalate import escalate

    return {
        "acknowledge": _acknowledge,
        "reply": send_reply,
        "escalate": escalate,
        "retention": apply_retention_daily,
    }


def default_batch_handlers() -> dict[str, BatchHandler]:
    """Job kinds run a batch at a time: alerts are sent together, not one after another,
    and incidents are written in one transaction."""
    from intake.pipeline.deliver import deliver_alerts
    from intake.pipeline.process import process_incidents

    return {"ingest": ingest_stored, "deliver": deliver_alerts, "process": process_incidents}


class Worker:
    """Runs jobs of the given kinds until stopped; several may run in several processes."""

    def __init__(
        self,
        services: Services,
        *,
        handlers: dict[str, Handler] | None = None,
        batch_handlers: dict[str, BatchHandler] | None = None,
        poll_seconds: float = 0.2,
        name: str = "worker",
    ) -> None:
        self.services = services
        self.handlers = handlers or default_handlers()
        self.batch_handlers = default_batch_handlers() if batch_handlers is None else batch_handlers
        self.kinds = (*self.handlers, *self.batch_handlers)  # what this worker claims
        self.poll_seconds = poll_seconds
        self.name = name
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def run_once(self, limit: int = 20) -> int:
        """Claim and run the jobs due now; returns how many ran."""
        with self.services.db.writer(durable=False) as session:
            claimed = jobs.claim(session=session, kinds=self.kinds, limit=limit)
        batches: dict[str, list[jobs.ClaimedJob]] = {}
        for job in claimed:
            if job.kind in self.batch_handlers:
                batches.setdefault(job.kind, []).append(job)
            else:
                self._run(job)
        for kind, batch in batches.items():
            self._run_batch(kind, batch)
        return len(claimed)

    def _run_batch(self, kind: str, batch: list[jobs.ClaimedJob]) -> None:
        """Run a batch handler; the jobs it did not settle are completed, or all failed;
        then the next step's jobs it handed back."""
        try:
            next_step = self.batch_handlers[kind](self.services, batch)
        except Exception as exc:
            log.warning("%s batch of %s jobs failed: %s", kind, len(batch), type(exc).__name__)
            log.debug("batch failure", exc_info=True)
            with self.services.db.writer(durable=False) as session:
                for job in batch:
                    jobs.fail(session=session, job_id=job.id, error=f"{type(exc).__name__}: {exc}")
            return
        unsettled = [job for job in batch if not job.finished]
        if unsettled:
            with self.services.db.writer(durable=False) as session:
                for job in unsettled:
                    jobs.complete(session=session, job_id=job.id)
        by_kind: dict[str, list[jobs.ClaimedJob]] = {}
        for job in next_step or []:
            by_kind.setdefault(job.kind, []).append(job)
        for next_kind, next_batch in by_kind.items():
            if next_kind in self.batch_handlers:
                self._run_batch(next_kind, next_batch)
            else:  # not this worker's kind: back to the queue, for whoever runs it
                with self.services.db.writer(durable=False) as session:
                    jobs.release_many(session=session, job_ids=[job.id for job in next_batch])

    def _run(self, job: jobs.ClaimedJob) -> None:
        """Run one job, then record its completion or failure."""
        try:
            self.handlers[job.kind](self.services, job)
        except Exception as exc:
            log.warning(
                "job %s %s:%s failed (attempt %s): %s",
                job.id,
                job.kind,
                job.key,
                job.attempts,
                type(exc).__name__,
            )
            log.debug("job failure", exc_info=True)
            with self.services.db.writer(durable=False) as session:
                jobs.fail(
                    session=session,
                    job_id=job.id,
                    error=f"{type(exc).__name__}: {exc}",
                    retry_after=getattr(exc, "retry_after", None),
                )
            return
        if not job.finished:
            with self.services.db.writer(durable=False) as session:
                jobs.complete(session=session, job_id=job.id)

    def drain(self, max_rounds: int = 100) -> int:
        """Run jobs until none is due (tests and the CLI use this)."""
        total = 0
        for _ in range(max_rounds):
            ran = self.run_once()
            total += ran
            if ran == 0:
                break
        return total

    def prepare(self) -> None:
        """Make sure the daily retention pass exists (once, whichever worker starts first)."""
        if "retention" in self.kinds:
            with self.services.db.writer(durable=False) as session:
                jobs.ensure(session=session, kind="retention", key="daily", run_at=utcnow())

    def loop(self) -> None:
        """Poll for due jobs until stop() is called; a new tip wakes it at once."""
        log.info("%s started (jobs: %s)", self.name, ", ".join(sorted(self.kinds)))
        self.prepare()
        while not self._stop.is_set():
            try:
                ran = self.run_once()
            except Exception:
                log.exception("%s could not claim jobs", self.name)
                ran = 0
            if ran == 0:
                self.services.wakeup.wait(self.poll_seconds)
                self.services.wakeup.clear()
            elif ran < GATHER_BELOW:
                # A trickle: what just ran went at once; let the next few gather for a
                # moment, so they share the steps' transactions and sends.
                self._stop.wait(GATHER_SECONDS)
        log.info("%s stopped", self.name)

    def start(self) -> None:
        """Run the loop in a daemon thread."""
        self._thread = threading.Thread(target=self.loop, name=self.name, daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        """Ask the loop to stop and wait for it."""
        self._stop.set()
        self.services.wakeup.set()
        if self._thread is not None:
            self._thread.join(timeout)
