"""Group commit: many concurrent intake requests stored by one thread, one commit for all.

Every webhook, partner tip and web-form report must be durable before it is answered.
Committing each one alone costs a transaction (and on SQLite a sync to disk) per request,
all of them queued on the single writer. Instead, handlers hand their messages to the
`IntakeWriter`; its thread takes whatever has queued up (up to `max_batch`), stores it in
one transaction with `accept_batch`, commits once, and only then releases the waiting
handlers with their results. A request is answered only after the commit that holds it;
if that commit fails, every request in it gets the error (and the provider retries).

Requests from the event loop (`store`) are gathered on the loop first: everything the
handlers of one loop turn hand over goes to the thread as one batch, and the batch's
answers come back in one call. Handing each request over alone would wake the thread for
the first of them, which then commits a batch of one while the rest wait for the next.

And the thread lingers while requests are still coming: having taken what is queued, it
waits a fifth of a millisecond, and again while that brought more (2 ms at most). Under
load the handlers of a burst arrive over several loop turns, as their connections send
again; storing the first few at once splits the burst into small batches, each paying a
transaction and a sync to disk, while the thread and the loop fight over the interpreter
lock. Measured with 16 connections on SQLite: batches of 14 instead of 8, about 30% less
CPU per tip, lower latency. A lone request waits the one step.
"""

from __future__ import annotations

import asyncio
import logging
import queue
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, field

from intake.pipeline.inbox import Accepted, Submission
from intake.pipeline.inbox_bulk import accept_batch
from intake.pipeline.incidents import IngestOptions
from intake.store.crypto import Cipher
from intake.store.db import Database

log = logging.getLogger(__name__)

# While requests keep coming, the thread waits for them in steps of LINGER_STEP_SECONDS
# (at most LINGER_CAP_SECONDS in all) before it stores a batch: see the module notes.
LINGER_STEP_SECONDS = 0.0002
LINGER_CAP_SECONDS = 0.002
Outcome = list[Accepted] | BaseException
Waiter = Future[list[Accepted]] | asyncio.Future[list[Accepted]]


@dataclass
class _Batch:
    """Requests handed over together, and where their answers go."""

    submissions: list[Submission] = field(default_factory=list)
    waiters: list[Waiter] = field(default_factory=list)
    loop: asyncio.AbstractEventLoop | None = None  # the loop of asyncio waiters


class IntakeWriter:
    """The thread that stores intake requests in shared transactions."""

    def __init__(
        self,
        *,
        db: Database,
        cipher: Cipher,
        options: IngestOptions,
        on_commit: Callable[[], None] = lambda: None,
        max_batch: int = 128,
        linger_step: float = LINGER_STEP_SECONDS,
        linger_cap: float = LINGER_CAP_SECONDS,
    ) -> None:
        self.db, self.cipher, self.options = db, cipher, options
        self.on_commit = on_commit
        self.max_batch = max_batch
        self.linger_step, self.linger_cap = linger_step, linger_cap
        self._queue: queue.SimpleQueue[_Batch | None] = queue.SimpleQueue()  # None: stop
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._gathering: dict[asyncio.AbstractEventLoop, _Batch] = {}  # touched on its loop
        self.batches = 0
        self.requests = 0

    def submit(self, submission: Submission) -> Future[list[Accepted]]:
        """Queue a request; the future completes once it is committed (or failed)."""
        future: Future[list[Accepted]] = Future()
        self._ensure_running()
        self._queue.put(_Batch([submission], [future]))
        return future

    async def store(self, submission: Submission) -> list[Accepted]:
        """Store a request and wait, without blocking the event loop, for its commit."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[list[Accepted]] = loop.create_future()
        batch = self._gathering.get(loop)
        if batch is None:
            batch = self._gathering[loop] = _Batch(loop=loop)
            loop.call_soon(self._hand_over, loop)
        batch.submissions.append(submission)
        batch.waiters.append(future)
        # A client that goes away cancels only its wait: the request is the thread's
        # already and is committed all the same (a cancelled future gets no answer).
        return await future

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

    def _hand_over(self, loop: asyncio.AbstractEventLoop) -> None:
        """On the loop, after its handlers ran: give the thread what they gathered."""
        batch = self._gathering.pop(loop, None)
        if batch is not None:
            self._ensure_running()
            self._queue.put(batch)

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
            batches = [first]
            size = len(first.submissions)
            deadline = time.monotonic() + self.linger_cap
            while size < self.max_batch:
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    if not self._lingered(deadline):
                        break
                    continue
                if item is None:
                    stop = True
                    break
                batches.append(item)
                size += len(item.submissions)
            try:
                outcomes = self._store([s for b in batches for s in b.submissions])
            except BaseException as error:  # never leave a handler waiting forever
                log.exception("intake writer failed")
                outcomes = [error] * size
            start = 0
            for batch in batches:
                end = start + len(batch.submissions)
                _answer(batch, outcomes[start:end])
                start = end

    def _lingered(self, deadline: float) -> bool:
        """Wait one step for more requests; True if some came (and there is time left)."""
        if self.linger_step <= 0 or time.monotonic() + self.linger_step > deadline:
            return False
        time.sleep(self.linger_step)
        return not self._queue.empty()

    def _store(self, submissions: list[Submission]) -> list[Outcome]:
        try:
            outcomes: list[Outcome] = list(
                accept_batch(
                    db=self.db,
                    cipher=self.cipher,
                    submissions=submissions,
                    options=self.options,
                )
            )
        except Exception as error:
            log.exception("intake commit of %s requests failed", len(submissions))
            return [error] * len(submissions)
        self.batches += 1
        self.requests += len(submissions)
        try:
            self.on_commit()
        except Exception:
            log.exception("after-commit hook failed")
        return outcomes


def _answer(batch: _Batch, outcomes: list[Outcome]) -> None:
    """Release the batch's waiters: thread futures at once, loop futures in one call."""
    if batch.loop is None:
        _settle_all(batch.waiters, outcomes)
        return
    try:
        batch.loop.call_soon_threadsafe(_settle_all, batch.waiters, outcomes)
    except RuntimeError:  # the loop has closed: nobody is waiting any more
        log.warning("%s intake answers had no loop to go to", len(outcomes))


def _settle_all(waiters: list[Waiter], outcomes: list[Outcome]) -> None:
    for waiter, outcome in zip(waiters, outcomes, strict=True):
        _settle(waiter, outcome)


def _settle(waiter: Waiter, outcome: Outcome) -> None:
    if waiter.done():
        return
    if isinstance(outcome, BaseException):
        waiter.set_exception(outcome)
    else:
        waiter.set_result(outcome)
