"""Group commit: many concurrent intake requests stored by one thread, one commit for all.

Every webhook, partner tip and web-form report must be durable before it is answered.
Committing each one alone costs a transaction (and on SQLite a sync to disk) per request,
all of them queued on the single writer. Instead, handlers hand their messages to the
`IntakeWriter`; its thread takes whatever has queued up (up to `max_batch`), stores it in
one transaction with `accept_batch`, commits once, and only then releases the waiting
handlers with their results. A request is answered only after the commit that holds it;
if that commit fails, every request in it gets the error (and the provider retries).
"""

from __future__ import annotations

import asyncio
import logging
import queue
import threading
from collections.abc import Callable
from concurrent.futures import Future

from intake.crypto import Cipher
from intake.db import Database
from intake.inbox import Accepted, Submission, accept_batch
from intake.incidents import IngestOptions

log = logging.getLogger(__name__)

Pending = tuple[Submission, "Future[list[Accepted]]"]


class IntakeWriter:
    """The thread that stores intake requests in shared transactions."""

    def __init__(
        self,
        *,
        db: Database,
        cipher: Cipher,
        options: IngestOptions,
        on_commit: Callable[[], None] = lambda: None,
        max_batch: int = 64,
    ) -> None:
        self.db, self.cipher, self.options = db, cipher, options
        self.on_commit = on_commit
        self.max_batch = max_batch
        self._queue: queue.SimpleQueue[Pending | None] = queue.SimpleQueue()  # None: stop
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self.batches = 0
        self.requests = 0

    def submit(self, submission: Submission) -> Future[list[Accepted]]:
        """Queue a request; the future completes once it is committed (or failed)."""
        future: Future[list[Accepted]] = Future()
        self._ensure_running()
        self._queue.put((submission, future))
        return future

    async def store(self, submission: Submission) -> list[Accepted]:
        """Store a request and wait, without blocking the event loop, for its commit."""
        return await asyncio.wrap_future(self.submit(submission))

    def store_now(self, submission: Submission) -> list[Accepted]:
        """Store a request from a worker thread, waiting for its commit."""
        return self.submit(submission).result()

    def stop(self, timeout: float = 10.0) -> None:
        """Store what is queued, then end the thread."""
        with self._lock:
            thread, self._thread = self._thread, None
        if thread is not None:
            self._queue.put(None)
            thread.join(timeout)

    def _ensure_running(self) -> None:
        if self._thread is not None:
            return
        with self._lock:
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="intake-writer", daemon=True)
                self._thread.start()

    def _run(self) -> None:
        stop = False
        while not stop:
            first = self._queue.get()
            if first is None:
                return
            batch = [first]
            while len(batch) < self.max_batch:
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    break
                if item is None:
                    stop = True
                    break
                batch.append(item)
            try:
                self._store(batch)
            except Exception as error:  # never leave a handler waiting forever
                log.exception("intake writer failed")
                for _, future in batch:
                    if not future.done():
                        future.set_exception(error)

    def _store(self, batch: list[Pending]) -> None:
        live = [(s, f) for s, f in batch if f.set_running_or_notify_cancel()]
        if not live:
            return
        try:
            outcomes = accept_batch(
                db=self.db,
                cipher=self.cipher,
                submissions=[submission for submission, _ in live],
                options=self.options,
            )
        except Exception as error:
            log.exception("intake commit of %s requests failed", len(live))
            for _, future in live:
                future.set_exception(error)
            return
        self.batches += 1
        self.requests += len(live)
        try:
            self.on_commit()
        except Exception:
            log.exception("after-commit hook failed")
        for (_, future), outcome in zip(live, outcomes, strict=True):
            if isinstance(outcome, Exception):
                future.set_exception(outcome)
            else:
                future.set_result(outcome)
