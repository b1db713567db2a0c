"""A fake Zalo OA Open API: cs messages with expiring tokens, the rotating token refresh."""

from __future__ import annotations

import itertools
from typing import Annotated

from fastapi import FastAPI, Form, Header, Request
from fastapi.responses import JSONResponse

from tests.fakes.server import Recorder


class ZaloState:
    """The current token pair; `expire()` makes the access token invalid (-216)."""

    def __init__(self, access: str = "access-0", refresh: str = "refresh-0") -> None:
        self.access, self.refresh = access, refresh
        self._numbers = itertools.count(1)

    def expire(self) -> None:
        self.access = "expired"

    def rotate(self) -> tuple[str, str]:
        n = next(self._numbers)
        self.access, self.refresh = f"access-{n}", f"refresh-{n}"
        return self.access, self.refresh


def zalo_app(recorder: Recorder, state: ZaloState, app_secret: str) -> FastAPI:
    app = FastAPI()
    message_ids = itertools.count(1000)

    @app.post("/v3.0/oa/message/cs")
    async def cs(
        request: Request,
        access_token: Annotated[str | None, Header(convert_underscores=False)] = None,
    ) -> JSONResponse:
        body = await request.json()
        if access_token != state.access:
            recorder.record(method="cs", rejected="-216", body=body)
            return JSONResponse({"error": -216, "message": "Access token is invalid"})
        failure = recorder.failure()
        recorder.record(method="cs", failed=failure, body=body, token=access_token)
        if failure == "500":
            return JSONResponse({"message": "internal error"}, status_code=500)
        if failure == "-32":
            return JSONResponse({"error": -32, "message": "Exceed rate limit"})
        if failure == "-230":
            return JSONResponse({"error": -230, "message": "User has not interacted in 7 days"})
        return JSONResponse(
            {
                "error": 0,
                "message": "Success",
                "data": {
                    "message_id": str(next(message_ids)),
                    "user_id": body["recipient"]["user_id"],
                },
            }
        )

    @app.post("/v4/oa/access_token")
    async def token(
        app_id: Annotated[str, Form()],
        refresh_token: Annotated[str, Form()],
        grant_type: Annotated[str, Form()],
        secret_key: Annotated[str | None, Header(convert_underscores=False)] = None,
    ) -> JSONResponse:
        recorder.record(method="refresh", refresh_token=refresh_token)
        if secret_key != app_secret or refresh_token != state.refresh:
            return JSONResponse({"error": -14014, "error_description": "Invalid refresh token"})
        access, refresh = state.rotate()
        return JSONResponse(
            {"access_token": access, "refresh_token": refresh, "expires_in": "90000"}
        )

    @app.get("/v2.0/oa/getoa")
    async def getoa(
        access_token: Annotated[str | None, Header(convert_underscores=False)] = None,
    ) -> JSONResponse:
        if access_token != state.access:
            return JSONResponse({"error": -216, "message": "Access token is invalid"})
        return JSONResponse({"error": 0, "data": {"oa_id": "111", "name": "Tong dai 111"}})

    return app
