"""Background workers: claim due jobs from the database and run them."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from sqlalchemy.orm import Session

from intake import jobs
from intake.incidents import ingest_item
from intake.pipeline import process
from intake.services import Services

log = logging.getLogger(__name__)

Handler = Callable[[Session, Services, str], None]


def _ingest(session: Session, services: Services, key: str) -> None:
    ingest_item(session=session, cipher=services.cipher, inbox_id=int(key), options=services.ingest)


def _process(session: Session, services: Services, key: str) -> None:
    process(session=session, incident_id=int(key), context=services.pipeline)


HANDLERS: dict[str, Handler] = {"ingest": _ingest, "process": _process}


class Worker:
    """Runs jobs of the given kinds until stopped; several may run in several processes."""

    def __init__(
        self,
        services: Services,
        *,
        handlers: dict[str, Handler] | None = None,
        poll_seconds: float = 0.2,
        name: str = "worker",
    ) -> None:
        self.services = services
        self.handlers = handlers or HANDLERS
        self.poll_seconds = poll_seconds
        self.name = name
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def run_once(self, limit: int = 20) -> int:
        """Claim and run the jobs due now; returns how many ran."""
        with self.services.db.writer() as session:
            claimed = jobs.claim(session=session, kinds=tuple(self.handlers), limit=limit)
        for job in claimed:
            self._run(job)
        return len(claimed)

    def _run(self, job: jobs.ClaimedJob) -> None:
        """Run one job in its own transaction; record failure in another."""
        try:
            with self.services.db.writer() as session:
                self.handlers[job.kind](session, self.services, job.key)
                jobs.complete(session=session, job_id=job.id)
        except Exception as exc:
            log.exception(
                "job %s %s:%s failed (attempt %s)", job.id, job.kind, job.key, job.attempts
            )
            retry_after = getattr(exc, "retry_after", None)
            with self.services.db.writer() as session:
                jobs.fail(
                    session=session,
                    job_id=job.id,
                    error=f"{type(exc).__name__}: {exc}",
                    retry_after=retry_after,
                )

    def drain(self, max_rounds: int = 100) -> int:
        """Run jobs until none is due (tests and the CLI use this)."""
        total = 0
        for _ in range(max_rounds):
            ran = self.run_once()
            total += ran
            if ran == 0:
                break
        return total

    def loop(self) -> None:
        """Poll for due jobs until stop() is called; a new tip wakes it at once."""
        log.info("%s started (jobs: %s)", self.name, ", ".join(sorted(self.handlers)))
        while not self._stop.is_set():
            try:
                ran = self.run_once()
            except Exception:
                log.exception("%s could not claim jobs", self.name)
                ran = 0
            if ran == 0:
                self.services.wakeup.wait(self.poll_seconds)
                self.services.wakeup.clear()
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
