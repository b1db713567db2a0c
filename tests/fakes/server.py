"""Run a fake provider (an ASGI app) on 127.0.0.1 in a thread, for one test."""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import uvicorn


@dataclass
class Recorder:
    """What a fake received, and the failures it has been told to answer with."""

    calls: list[dict[str, Any]] = field(default_factory=list)
    fail_next: list[str] = field(default_factory=list)  # e.g. ["429", "500", "timeout"]
    fail_rate: float = 0.0
    rng: random.Random = field(default_factory=lambda: random.Random(111))
    state: dict[str, Any] = field(default_factory=dict)  # what a fake keeps between calls
    lock: threading.Lock = field(default_factory=threading.Lock)

    def record(self, **call: Any) -> None:
        with self.lock:
            self.calls.append(call)

    def failure(self) -> str | None:
        """The failure to answer this call with, if any."""
        with self.lock:
            if self.fail_next:
                return self.fail_next.pop(0)
            if self.fail_rate and self.rng.random() < self.fail_rate:
                return "500"
        return None

    def named(self, method: str) -> list[dict[str, Any]]:
        with self.lock:
            return [c for c in self.calls if c.get("method") == method]


@contextmanager
def serve(app: Any) -> Iterator[str]:
    """Serve `app` on a free loopback port; yields its base URL; stops on exit."""
    config = uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", lifespan="off")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline:
            raise RuntimeError("fake server did not start")
        time.sleep(0.01)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)
