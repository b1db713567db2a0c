"""python-telegram-bot's networking backend on aiohttp.

PTB talks to the Bot API through a `BaseRequest`; its own one is built on httpx, whose pure
Python HTTP/1.1 stack and connection pool cost about a millisecond of CPU per call here,
for every alert sent (docs/benchmarks.md, pipeline). aiohttp parses HTTP in C: about a
fifth of that. The wire format is PTB's own (the parameters form-encoded
as `HTTPXRequest` sends them; multipart when there are files), so nothing the Bot API sees
changes.

An aiohttp session belongs to the event loop it was made on; the workers run each batch
of sends on their thread's loop and the CLI on a loop of its own, so there is one session
per loop, made on first use.
"""

from __future__ import annotations

import asyncio
import weakref
from typing import Any

import aiohttp
from telegram._utils.defaultvalue import DefaultValue
from telegram.error import NetworkError, TimedOut
from telegram.request import BaseRequest, RequestData

# PTB's own defaults; aiohttp has no timeout for writing a request, so `write` is unused.
DEFAULT_TIMEOUTS = {"connect": 5.0, "read": 5.0, "pool": 1.0}


class AiohttpRequest(BaseRequest):
    """A `BaseRequest` on aiohttp with up to `connection_pool_size` connections per loop."""

    def __init__(self, connection_pool_size: int = 8, read_timeout: float | None = None) -> None:
        self.connection_pool_size = connection_pool_size
        self._read_timeout = DEFAULT_TIMEOUTS["read"] if read_timeout is None else read_timeout
        self._sessions: weakref.WeakKeyDictionary[
            asyncio.AbstractEventLoop, aiohttp.ClientSession
        ] = weakref.WeakKeyDictionary()

    @property
    def read_timeout(self) -> float | None:
        return self._read_timeout

    async def initialize(self) -> None:
        self._session()

    async def shutdown(self) -> None:
        session = self._sessions.pop(asyncio.get_running_loop(), None)
        if session is not None:
            await session.close()

    def _session(self) -> aiohttp.ClientSession:
        loop = asyncio.get_running_loop()
        session = self._sessions.get(loop)
        if session is None or session.closed:
            connector = aiohttp.TCPConnector(limit=self.connection_pool_size)
            session = aiohttp.ClientSession(connector=connector, trust_env=False)
            self._sessions[loop] = session
        return session

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: Any = BaseRequest.DEFAULT_NONE,
        write_timeout: Any = BaseRequest.DEFAULT_NONE,
        connect_timeout: Any = BaseRequest.DEFAULT_NONE,
        pool_timeout: Any = BaseRequest.DEFAULT_NONE,
    ) -> tuple[int, bytes]:
        files = request_data.multipart_data if request_data and request_data.contains_files else {}
        fields = request_data.json_parameters if request_data else {}
        timeout = aiohttp.ClientTimeout(
            # aiohttp has no separate wait for a free connection: it counts in `connect`.
            connect=_seconds(connect_timeout, DEFAULT_TIMEOUTS["connect"])
            + _seconds(pool_timeout, DEFAULT_TIMEOUTS["pool"]),
            sock_connect=_seconds(connect_timeout, DEFAULT_TIMEOUTS["connect"]),
            sock_read=_seconds(read_timeout, self._read_timeout),
        )
        body: Any = fields or None
        if files:
            form = aiohttp.FormData()
            for name, value in fields.items():
                form.add_field(name, value)
            for name, part in files.items():
                filename, content, mimetype = (
                    part if isinstance(part, tuple) else (name, part, None)
                )
                form.add_field(name, content, filename=filename, content_type=mimetype)
            body = form
        headers = {"User-Agent": self.USER_AGENT}
        try:
            async with self._session().request(
                method, url, data=body, headers=headers, timeout=timeout
            ) as response:
                return response.status, await response.read()
        except TimeoutError as exc:
            raise TimedOut from exc
        except aiohttp.ClientError as exc:
            raise NetworkError(f"aiohttp.{type(exc).__name__}: {exc}") from exc


def _seconds(value: Any, default: float) -> float:
    """A timeout PTB passed, or ours when it passed its 'use the default' marker."""
    if isinstance(value, DefaultValue) or value is None:
        return default
    return float(value)
