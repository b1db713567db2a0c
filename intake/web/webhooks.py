"""Provider webhooks: one route shape for every channel (verify, store, then answer)."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import APIRouter, Request, Response
from sqlalchemy.exc import SQLAlchemyError
from starlette.concurrency import run_in_threadpool

from channels.base import (
    Channel,
    ChannelAdapter,
    MalformedRequest,
    ParsedRequest,
    RawRequest,
    SignatureError,
)
from channels.prompts import RECEIVED
from channels.registry import providers, spec_of
from intake.pipeline.context import Services
from intake.pipeline.deliver import queue_reply
from intake.pipeline.inbox import Accepted, Submission, store_malformed

log = logging.getLogger(__name__)
router = APIRouter(prefix="/webhooks", tags=["webhooks"], include_in_schema=False)


def _raw_request(request: Request, body: bytes, services: Services) -> RawRequest:
    """The request as the provider signed it: public URL rebuilt from the configured base."""
    base = services.settings.public_base_url.rstrip("/")
    url = base + request.url.path
    if request.url.query:
        url += "?" + request.url.query
    return RawRequest(
        method=request.method,
        url=url,
        headers={k.lower(): v for k, v in request.headers.items()},
        body=body,
        query=dict(request.query_params),
        client_ip=request.client.host if request.client else None,
    )


def _store(
    services: Services, adapter: ChannelAdapter, parsed: ParsedRequest, body: bytes
) -> Response:
    """Store the messages durably, then build the provider's answer."""
    results = services.intake.store_now(Submission(parsed.messages, body))
    if spec_of(adapter.channel).confirm_by_message:
        _confirm_by_message(services, results)
    services.wakeup.set()
    reply = adapter.reply_after_store(parsed, tuple(r.reference for r in results))
    return Response(reply.body, status_code=reply.status_code, media_type=reply.media_type)


def _confirm_by_message(services: Services, results: list[Accepted]) -> None:
    """Channels whose webhook answer cannot carry text get the reference by message."""
    created = [r for r in results if r.created and r.incident_id is not None]
    if not created:
        return
    with services.db.writer() as session:
        for result in created:
            queue_reply(
                session=session,
                incident_id=result.incident_id or 0,
                text=RECEIVED.format(reference=result.reference),
            )


def _store_malformed(services: Services, channel: Channel, body: bytes, error: str) -> Response:
    with services.db.writer() as session:
        store_malformed(
            session=session, cipher=services.cipher, channel=channel, raw_body=body, error=error
        )
    status = spec_of(channel).malformed_status  # 200 for providers that retry all else
    return Response(f"malformed request: {error}", status_code=status, media_type="text/plain")


async def handle_webhook(request: Request, channel: Channel) -> Response:
    """Verify with the channel's adapter, store, answer; never 500 on provider input."""
    services: Services = request.app.state.services
    adapter = services.adapters.get(channel)
    if adapter is None:
        return Response(f"{channel} is not enabled", status_code=404, media_type="text/plain")
    body = await request.body()
    raw = _raw_request(request, body, services)
    try:
        parsed = adapter.handle(raw)
    except SignatureError as exc:
        log.warning("%s webhook refused: %s", channel, exc)
        return Response("signature invalid", status_code=exc.status_code, media_type="text/plain")
    except MalformedRequest as exc:
        return await _stored_or_503(channel, _store_malformed, services, channel, body, str(exc))
    return await _stored_or_503(channel, _store, services, adapter, parsed, body)


async def _stored_or_503(channel: Channel, store: Callable[..., Response], *args: Any) -> Response:
    """Run a storing function off the event loop; if the database fails, ask for a retry."""
    try:
        return await run_in_threadpool(store, *args)
    except SQLAlchemyError:
        # Nothing was stored, so the provider must deliver again: 503, not 2xx.
        log.exception("%s webhook could not be stored", channel)
        return Response("temporarily unavailable", status_code=503, media_type="text/plain")


def _endpoint(channel: Channel) -> Callable[[Request], Awaitable[Response]]:
    async def webhook(request: Request) -> Response:
        return await handle_webhook(request, channel)

    return webhook


# Each channel's routes, as its module declares them (channels/registry.py).
for _spec in providers():
    for _path in _spec.routes:
        router.add_api_route(
            _path,
            _endpoint(_spec.channel),
            methods=["POST"],
            name=f"webhook {_spec.channel} {_path}",
            summary=f"{_spec.label} webhook",
        )
