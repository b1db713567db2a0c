"""The job queue the background workers share, kept in the database.

A job is (kind, key), unique: enqueueing it again while pending changes nothing, and
enqueueing a finished one makes it pending again (an incident is re-processed when a
follow-up arrives). Workers claim due jobs with a lease; on PostgreSQL the claim uses
FOR UPDATE SKIP LOCKED so several worker processes never take the same job. Timers
(escalations, retries with backoff) are jobs with a future `run_at`, so they survive
restarts.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from intake.models import Job, utcnow

LEASE = timedelta(seconds=60)
MAX_ATTEMPTS = 8


@dataclass(frozen=True)
class ClaimedJob:
    """A job a worker holds the lease on."""

    id: int
    kind: str
    key: str
    attempts: int


def enqueue(
    *, session: Session, kind: str, key: str, run_at: datetime | None = None, new: bool = False
) -> None:
    """Make (kind, key) pending at `run_at` (now by default); idempotent. `new` says the
    key was created in this transaction, so no job can exist yet."""
    when = run_at or utcnow()
    job = None if new else _locked(session, kind, key)
    if job is None:
        session.add(Job(kind=kind, key=key, run_at=when))
        session.flush()
        return
    if job.locked_until is not None and job.locked_until > utcnow():
        # A worker is running it right now: run it once more when that run completes.
        job.rerun = True
    elif job.state != "pending":
        job.state = "pending"
        job.attempts = 0
        job.run_at = when
        job.last_error = None
    elif when < job.run_at:
        job.run_at = when


def _locked(session: Session, kind: str, key: str) -> Job | None:
    """The job (kind, key), row-locked for this transaction."""
    return session.scalars(
        select(Job).where(Job.kind == kind, Job.key == key).with_for_update()
    ).one_or_none()


def cancel(*, session: Session, kind: str, key: str) -> None:
    """Drop a pending job (a timer that is no longer needed)."""
    job = _locked(session, kind, key)
    if job is not None and job.state == "pending":
        job.state = "cancelled"
        job.done_at = utcnow()


def claim(*, session: Session, kinds: tuple[str, ...], limit: int = 20) -> list[ClaimedJob]:
    """Lease up to `limit` due jobs of the given kinds to this worker."""
    now = utcnow()
    rows = session.scalars(
        select(Job)
        .where(
            Job.state == "pending",
            Job.kind.in_(kinds),
            Job.run_at <= now,
            or_(Job.locked_until.is_(None), Job.locked_until < now),
        )
        .order_by(Job.run_at, Job.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    ).all()
    claimed = []
    for job in rows:
        job.locked_until = now + LEASE
        job.attempts += 1
        claimed.append(ClaimedJob(id=job.id, kind=job.kind, key=job.key, attempts=job.attempts))
    return claimed


def complete(*, session: Session, job_id: int) -> None:
    """Mark a job done unless it was re-enqueued while it ran."""
    job = session.get(Job, job_id, with_for_update=True)
    if job is None:
        return
    job.locked_until = None
    if job.rerun:
        # Enqueued again while it ran (a follow-up message arrived): run it once more.
        job.rerun = False
        job.attempts = 0
        job.run_at = utcnow()
        return
    job.state = "done"
    job.done_at = utcnow()
    job.locked_until = None


def fail(*, session: Session, job_id: int, error: str, retry_after: float | None = None) -> None:
    """Record a failure; retry with exponential backoff, or give up after MAX_ATTEMPTS."""
    job = session.get(Job, job_id, with_for_update=True)
    if job is None:
        return
    job.last_error = error[:2000]
    job.locked_until = None
    job.rerun = False
    if job.attempts >= MAX_ATTEMPTS:
        job.state = "dead"
        job.done_at = utcnow()
        return
    delay = retry_after if retry_after is not None else min(2.0**job.attempts, 300.0)
    job.run_at = utcnow() + timedelta(seconds=delay)
