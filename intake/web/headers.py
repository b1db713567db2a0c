"""Security headers on every response; no caching of pages that carry personal data."""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

# Scripts only from our own files: an injected <script> cannot run. Inline style stays
# allowed (the pages use style attributes; CSS cannot run code).
POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; "
    "base-uri 'none'; object-src 'none'"
)
# FastAPI's /docs and /redoc load their viewers from a CDN with inline start-up code.
DOCS_POLICY = "frame-ancestors 'none'; base-uri 'none'; object-src 'none'"
DOCS = ("/docs", "/redoc")
COMMON = [
    (b"x-frame-options", b"DENY"),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"same-origin"),
]
PRIVATE = ("/console", "/api/")


class SecurityHeaders:
    """Add the headers to every HTTP response (a handler's own value wins)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope.get("path", "")
        policy = DOCS_POLICY if path.startswith(DOCS) else POLICY
        extra = [*COMMON, (b"content-security-policy", policy.encode())]
        if path.startswith(PRIVATE) and not path.startswith("/console/static/"):
            extra.append((b"cache-control", b"no-store"))

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                names = {name.lower() for name, _ in headers}
                headers += [(n, v) for n, v in extra if n not in names]
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_headers)
