"""A fake Twilio REST API: the Messages resource, with Twilio's error bodies."""

from __future__ import annotations

import itertools
from typing import Annotated

from fastapi import FastAPI, Form
from fastapi.responses import JSONResponse

from tests.fakes.server import Recorder


def twilio_app(recorder: Recorder) -> FastAPI:
    app = FastAPI()
    sids = itertools.count(1)

    @app.post("/2010-04-01/Accounts/{account}/Messages.json")
    async def messages(
        account: str,
        To: Annotated[str, Form()],  # noqa: N803 - Twilio's field names
        Body: Annotated[str, Form()],  # noqa: N803
        From: Annotated[str | None, Form()] = None,  # noqa: N803
    ) -> JSONResponse:
        failure = recorder.failure()
        recorder.record(method="messages", failed=failure, to=To, body=Body, from_=From)
        if failure == "500":
            return JSONResponse(
                {"code": 20500, "message": "Internal Server Error", "status": 500}, status_code=500
            )
        if To.startswith("+8400"):
            return JSONResponse(
                {
                    "code": 21211,
                    "message": f"The 'To' number {To} is not a valid phone number.",
                    "status": 400,
                },
                status_code=400,
            )
        sid = f"SM{next(sids):032d}"
        return JSONResponse(
            {
                "sid": sid,
                "status": "queued",
                "to": To,
                "from": From,
                "body": Body,
                "account_sid": account,
            },
            status_code=201,
        )

    return app
