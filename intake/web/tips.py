"""POST /api/v1/tips: a partner's tip, stored durably before it is answered.

This is the route that carries the load, so it does its own parsing: the body is read once,
decoded with `json` and validated against `TipCreate` in the handler, and the answer is
written straight to a `Response`. FastAPI's parameter solving, body parameter and response
model would do the same work in several more layers per request (measured: the route
itself then costs half as much CPU); the OpenAPI document still describes the body, the
bearer scheme and the answers (`openapi_extra`, `response_model`), and invalid bodies get
the same 400 as every other route.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Coroutine
from datetime import UTC, datetime, timedelta
from typing import Any, cast

from fastapi import FastAPI, HTTPException, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from pydantic import ValidationError
from pydantic.json_schema import models_json_schema

from channels.base import Channel, InboundMessage, MessageKind
from intake.pipeline.inbox import Submission
from intake.store.auth import Sender, TokenRefused
from intake.store.models import Role, User, utcnow
from intake.web.api import bearer_user, refused, require_role, services_of
from intake.web.schemas import TipAccepted, TipCreate

log = logging.getLogger(__name__)


class DirectRoute(APIRoute):
    """A route whose endpoint takes the request and makes the response itself: documented
    like any other, served without solving parameters (FastAPI's hook for custom routes)."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        return cast(Callable[[Request], Coroutine[Any, Any, Response]], self.endpoint)


SENDERS = frozenset({Role.PARTNER, Role.ADMIN})
# How far a partner's `received_at` may lie from now: a tip a partner held back for up to
# a year is still a tip; one dated before that, or in the future beyond clock skew, is a
# mistake (and would take a reference of a month long closed, or not yet begun).
RECEIVED_AT_PAST = timedelta(days=366)
RECEIVED_AT_FUTURE = timedelta(minutes=5)

# The body's schemas, for the app's OpenAPI components (see `create_app`).
BODY_SCHEMAS: dict[str, Any] = models_json_schema(
    [(TipCreate, "validation")], ref_template="#/components/schemas/{model}"
)[1]["$defs"]
_DOCUMENTED = {
    "security": [{bearer_user.scheme_name: []}],
    "requestBody": {
        "required": True,
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/TipCreate"}}},
    },
}
_ANSWERS: dict[int | str, dict[str, Any]] = {
    200: {"model": TipAccepted, "description": "a repeat of an external_id already accepted"},
    202: {"model": TipAccepted, "description": "stored; its incident is opened shortly"},
    400: {"description": "the body is not JSON or not a valid tip (the fields are named)"},
}


def install(app: FastAPI) -> None:
    """Add the route to the app itself: through an included router, every request would
    pass one more layer of routing."""
    app.router.add_api_route(
        "/api/v1/tips",
        create_tip,
        methods=["POST"],
        tags=["api"],
        status_code=201,
        response_model=TipAccepted,
        responses=_ANSWERS,
        openapi_extra=_DOCUMENTED,
        route_class_override=DirectRoute,
    )


async def create_tip(request: Request) -> Response:
    """Accept a partner's tip; a repeat of the same external_id returns the same incident."""
    services = services_of(request)
    token_id, user = await bearer_user.sender(request)
    require_role(user, SENDERS)
    body = await request.body()
    tip = _parse(request, body)
    submission = Submission((_message(user, tip),), body, Sender(token_id, SENDERS))
    try:
        (result,) = await services.intake.store(submission)
    except TokenRefused as refusal:
        # Revoked, disabled or no longer a sender since the token was cached; nothing
        # was stored. The token's next request loads it afresh.
        services.token_cache.forget(token_id)
        raise refused(refusal.status, refusal.detail) from None
    except Exception as error:
        # Nothing was stored: the partner must send it again.
        log.exception("partner tip could not be stored")
        raise HTTPException(503, "temporarily unavailable; send the tip again") from error
    answer = TipAccepted(
        id=result.incident_id, reference=result.reference, status=result.status or "new"
    )
    status = 200 if result.duplicate else 202 if result.incident_id is None else 201
    return Response(answer.model_dump_json(), status_code=status, media_type="application/json")


def _parse(request: Request, body: bytes) -> TipCreate:
    """The tip in the body, or a 400 that names what is wrong (never echoing a value)."""
    media_type = request.headers.get("content-type", "application/json").split(";")[0]
    media_type = media_type.strip().lower()
    if media_type != "application/json" and not media_type.endswith("+json"):
        raise _invalid("body", "send the tip as application/json", "content_type")
    try:
        data = json.loads(body)
    except (ValueError, RecursionError):  # UnicodeDecodeError is a ValueError
        raise _invalid("body", "the body is not valid JSON", "json_invalid") from None
    try:
        tip = TipCreate.model_validate(data)
    except ValidationError as error:
        raise RequestValidationError(error.errors(include_input=False)) from None
    if tip.received_at is not None:
        _check_received_at(tip.received_at)
    return tip


def _check_received_at(received: datetime) -> None:
    """400 for a `received_at` outside [now - a year, now + 5 minutes]."""
    if received.tzinfo is None:
        received = received.replace(tzinfo=UTC)
    now = utcnow()
    if not now - RECEIVED_AT_PAST <= received <= now + RECEIVED_AT_FUTURE:
        raise _invalid(
            "received_at",
            "received_at must lie within the last year and not in the future",
            "value_error",
        )


def _invalid(field: str, problem: str, kind: str) -> RequestValidationError:
    return RequestValidationError([{"loc": (field,), "msg": problem, "type": kind}])


def _message(user: User, tip: TipCreate) -> InboundMessage:
    """The tip as an inbound message of the partner channel."""
    received = tip.received_at or utcnow()
    if received.tzinfo is None:
        received = received.replace(tzinfo=UTC)
    reporter = tip.reporter
    key = f"{user.id}:{tip.external_id}"
    extra = {
        "external_id": key,
        "location_text": tip.location_text or "",
        "victim_age": "" if tip.victim_age is None else str(tip.victim_age),
        "victim_gender": tip.victim_gender or "",
        "consent_to_share": "true" if reporter and reporter.consent_to_share else "false",
    }
    return InboundMessage(
        channel=Channel.API,
        provider_message_id=key,
        sender_id=f"partner:{key}",
        kind=MessageKind.TEXT,
        received_at=received,
        text=tip.text,
        sender_phone=reporter.phone if reporter else None,
        sender_name=reporter.name if reporter else None,
        latitude=tip.latitude,
        longitude=tip.longitude,
        extra={k: v for k, v in extra.items() if v},
    )
