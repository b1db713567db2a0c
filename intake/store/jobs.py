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
from typing import Any, cast

from sqlalchemy import Table, bindparam, case, or_, select, update
from sqlalchemy.orm import Session

from intake.store.db import built_once
from intake.store.models import Job, utcnow
from intake.store.private_logs import without_values

LEASE = timedelta(seconds=60)
JOBS = cast(Table, Job.__table__)
MAX_ATTEMPTS = 8


@dataclass
class ClaimedJob:
    """A job a worker holds the lease on.

    A handler may `finish` (or `retry`) it inside its own last write transaction (one
    commit instead of two); otherwise the worker completes it after the handler returns.
    """

    id: int
    kind: str
    key: str
    attempts: int
    finished: bool = False

    def finish(self, session: Session) -> None:
        """Complete the job in the caller's transaction (committed with the handler's work)."""
        complete(session=session, job_id=self.id)
        self.finished = True

    def retry(self, session: Session, *, error: str, retry_after: float | None = None) -> None:
        """Record a failure in the caller's transaction: retried later with backoff."""
        fail(session=session, job_id=self.id, error=error, retry_after=retry_after)
        self.finished = True


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


def schedule(*, session: Session, kind: str, key: str, run_at: datetime) -> None:
    """Make (kind, key) pending at `run_at` whatever it was (one statement): for the first
    job of something just created, such as a new alert or a new assignment's timer."""
    schedule_many(session=session, jobs=[(kind, key, run_at)])


def ensure(*, session: Session, kind: str, key: str, run_at: datetime) -> None:
    """Make (kind, key) exist, pending at `run_at`, unless it exists already (several
    processes may ask at once: the first one's job stands)."""
    session.connection().execute(
        built_once(session, "insert job unless present", _insert_absent),
        _pending_row(kind, key, run_at, utcnow()),
    )


def schedule_many(*, session: Session, jobs: list[tuple[str, str, datetime]]) -> None:
    """`schedule` for several (kind, key, run_at), in one statement run for each."""
    if not jobs:
        return
    now = utcnow()
    session.connection().execute(
        built_once(session, "upsert pending job", _upsert_pending),
        [_pending_row(kind, key, run_at, now) for kind, key, run_at in jobs],
    )


def lease_new(*, session: Session, jobs: list[tuple[str, str]]) -> list[ClaimedJob]:
    """Jobs for what this transaction just made, already leased to the caller: a worker
    that wrote an incident (or an alert) goes on to its next step at once, with no trip
    through the queue. Should it stop before, the lease runs out and any worker takes the
    job as usual."""
    if not jobs:
        return []
    now = utcnow()
    rows = session.connection().execute(
        built_once(session, "lease new job", _upsert_leased),
        [
            {**_pending_row(kind, key, now, now), "attempts": 1, "locked_until": now + LEASE}
            for kind, key in jobs
        ],
    )
    return [
        ClaimedJob(id=row.id, kind=row.kind, key=row.key, attempts=row.attempts) for row in rows
    ]


def _pending_row(kind: str, key: str, run_at: datetime, now: datetime) -> dict[str, object]:
    """A new job's row: pending at `run_at`, not tried yet."""
    return {
        "kind": kind,
        "key": key,
        "state": "pending",
        "run_at": run_at,
        "attempts": 0,
        "rerun": False,
        "created_at": now,
    }


def _upsert_leased(insert: Any) -> Any:
    """INSERT a job leased to the caller (or lease the existing pending one)."""
    statement = insert(JOBS)
    return statement.on_conflict_do_update(
        index_elements=["kind", "key"],
        set_={"state": "pending", "locked_until": statement.excluded.locked_until},
    ).returning(JOBS.c.id, JOBS.c.kind, JOBS.c.key, JOBS.c.attempts)


def _upsert_pending(insert: Any) -> Any:
    """INSERT a pending job, or make the existing (kind, key) pending again."""
    statement = insert(JOBS)
    return statement.on_conflict_do_update(
        index_elements=["kind", "key"],
        set_={
            "state": "pending",
            "run_at": statement.excluded.run_at,
            "attempts": 0,
            "last_error": None,
            "done_at": None,
        },
    )


def _insert_absent(insert: Any) -> Any:
    """INSERT a pending job unless (kind, key) exists."""
    return insert(JOBS).on_conflict_do_nothing(index_elements=["kind", "key"])


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
    """Mark a job done unless it was re-enqueued while it ran (one statement)."""
    complete_many(session=session, job_ids=[job_id])


def complete_many(*, session: Session, job_ids: list[int]) -> None:
    """`complete` for several jobs, in one statement run for each."""
    if not job_ids:
        return
    now = utcnow()
    session.connection().execute(
        update(JOBS)
        .where(JOBS.c.id == bindparam("job_id"))
        .values(
            # Enqueued again while it ran (a follow-up message arrived): run it once more.
            state=case((JOBS.c.rerun, JOBS.c.state), else_="done"),
            attempts=case((JOBS.c.rerun, 0), else_=JOBS.c.attempts),
            run_at=case((JOBS.c.rerun, now), else_=JOBS.c.run_at),
            done_at=case((JOBS.c.rerun, JOBS.c.done_at), else_=now),
            rerun=False,
            locked_until=None,
        ),
        [{"job_id": job_id} for job_id in job_ids],
    )


def release_many(*, session: Session, job_ids: list[int]) -> None:
    """Give leased jobs back to the queue, due now, as if never claimed."""
    session.connection().execute(
        update(JOBS)
        .where(JOBS.c.id.in_(job_ids))
        .values(locked_until=None, attempts=JOBS.c.attempts - 1)
    )


def fail(*, session: Session, job_id: int, error: str, retry_after: float | None = None) -> None:
    """Record a failure; retry with exponential backoff, or give up after MAX_ATTEMPTS."""
    job = session.get(Job, job_id, with_for_update=True)
    if job is None:
        return
    job.last_error = without_values(error)[:2000]
    job.locked_until = None
    job.rerun = False
    if job.attempts >= MAX_ATTEMPTS:
        job.state = "dead"
        job.done_at = utcnow()
        return
    delay = retry_after if retry_after is not None else min(2.0**job.attempts, 300.0)
    job.run_at = utcnow() + timedelta(seconds=delay)
