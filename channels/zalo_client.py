"""An async client of our own for the Zalo Official Account Open API (httpx).

Speaks the same API as Zalo's SDKs: customer-service messages on /v3.0/oa/message/cs with
the `access_token` header, errors as HTTP 200 with `error != 0`, and the access token
refreshed with the single-use refresh token. Refreshes are single-flight: concurrent
senders that hit an expired token wait for one refresh and retry once.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import httpx

from channels.base import ChannelError, SendError

ZALO_API = "https://openapi.zalo.me"
ZALO_OAUTH = "https://oauth.zaloapp.com"
EXPIRED_TOKEN = -216
RETRYABLE = {-32: "rate limit", -201: "busy", -500: "server error"}


@dataclass(frozen=True)
class TokenPair:
    """An access token and the refresh token that replaces it (single use)."""

    access_token: str
    refresh_token: str


TokenStore = Callable[[TokenPair], Awaitable[None] | None]


class ZaloError(SendError):
    """An error Zalo answered with, classified for the delivery worker."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(f"zalo error {code}: {message}", retryable=code in RETRYABLE)
        self.code = code


class ZaloClient:
    """Customer-service messages and token refresh for one Official Account."""

    def __init__(
        self,
        *,
        app_id: str,
        app_secret: str,
        tokens: TokenPair,
        api_base_url: str = ZALO_API,
        oauth_base_url: str = ZALO_OAUTH,
        on_refresh: TokenStore | None = None,
        timeout: float = 10.0,
    ) -> None:
        self.app_id = app_id
        self.app_secret = app_secret
        self.tokens = tokens
        self.api = api_base_url.rstrip("/")
        self.oauth = oauth_base_url.rstrip("/")
        self.on_refresh = on_refresh
        self.timeout = timeout
        self._refresh_lock: asyncio.Lock | None = None

    async def _post(self, url: str, **kwargs: Any) -> dict[str, Any]:
        try:
            async with httpx.AsyncClient(timeout=self.timeout) as http:
                response = await http.post(url, **kwargs)
        except httpx.HTTPError as exc:
            raise SendError(f"zalo unreachable: {type(exc).__name__}", retryable=True) from exc
        if response.status_code >= 500 or response.status_code == 429:
            raise SendError(f"zalo http {response.status_code}", retryable=True)
        try:
            data = response.json()
        except ValueError as exc:
            raise SendError("zalo answered something that is not JSON", retryable=True) from exc
        if not isinstance(data, dict):
            raise SendError("zalo answered an unexpected shape", retryable=True)
        return data

    async def send_text(self, user_id: str, text: str) -> str:
        """Send a customer-service text; returns Zalo's message id."""
        for attempt in (1, 2):
            used = self.tokens.access_token
            data = await self._post(
                f"{self.api}/v3.0/oa/message/cs",
                headers={"access_token": used},
                json={"recipient": {"user_id": str(user_id)}, "message": {"text": text[:2000]}},
            )
            code = int(data.get("error", 0) or 0)
            if code == 0:
                return str((data.get("data") or {}).get("message_id", ""))
            if code == EXPIRED_TOKEN and attempt == 1:
                await self.refresh(expired=used)
                continue
            raise ZaloError(code, str(data.get("message", "")))
        raise SendError("zalo token still rejected after refresh", retryable=True)

    async def oa_info(self) -> dict[str, Any]:
        """The Official Account's profile: proves the access token works."""
        try:
            async with httpx.AsyncClient(timeout=self.timeout) as http:
                response = await http.get(
                    f"{self.api}/v2.0/oa/getoa", headers={"access_token": self.tokens.access_token}
                )
            data = response.json()
        except (httpx.HTTPError, ValueError) as exc:
            raise ChannelError(f"zalo unreachable: {type(exc).__name__}") from exc
        if not isinstance(data, dict) or int(data.get("error", 0) or 0) != 0:
            raise ChannelError(f"zalo rejected the access token: {data}")
        return data

    async def refresh(self, *, expired: str) -> TokenPair:
        """Get a new token pair, once for everyone who saw `expired` fail."""
        if self._refresh_lock is None:
            self._refresh_lock = asyncio.Lock()
        async with self._refresh_lock:
            if self.tokens.access_token != expired:
                return self.tokens  # another sender refreshed while we waited
            data = await self._post(
                f"{self.oauth}/v4/oa/access_token",
                headers={"secret_key": self.app_secret},
                data={
                    "app_id": self.app_id,
                    "refresh_token": self.tokens.refresh_token,
                    "grant_type": "refresh_token",
                },
            )
            access, refresh = data.get("access_token"), data.get("refresh_token")
            if not access or not refresh:
                raise ChannelError(f"zalo token refresh failed: {data.get('error', '?')}")
            self.tokens = TokenPair(str(access), str(refresh))
            if self.on_refresh is not None:
                stored = self.on_refresh(self.tokens)
                if stored is not None:
                    await stored
            return self.tokens
