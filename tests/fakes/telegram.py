"""A fake Telegram Bot API: getMe, sendMessage, answerCallbackQuery, setWebhook."""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from tests.fakes.server import Recorder


def telegram_app(recorder: Recorder, token: str) -> FastAPI:
    """Answers like the Bot API; failures as the real one words them."""
    app = FastAPI()
    counter = {"message_id": 0}

    @app.post("/bot{path_token}/{method}")
    async def call(path_token: str, method: str, request: Request) -> JSONResponse:
        if path_token != token:
            return JSONResponse(
                {"ok": False, "error_code": 401, "description": "Unauthorized"}, status_code=401
            )
        body = await request.body()
        if request.headers.get("content-type", "").startswith("application/json"):
            fields: dict[str, Any] = json.loads(body or b"{}")
        else:
            form = await request.form()
            fields = {k: v for k, v in form.items()}
        for key in ("reply_markup",):
            if isinstance(fields.get(key), str):
                fields[key] = json.loads(fields[key])
        failure = recorder.failure() if method == "sendMessage" else None
        recorder.record(method=method, failed=failure, **fields)
        if failure == "429":
            return JSONResponse(
                {
                    "ok": False,
                    "error_code": 429,
                    "description": "Too Many Requests: retry after 3",
                    "parameters": {"retry_after": 3},
                },
                status_code=429,
            )
        if failure == "500":
            return JSONResponse(
                {"ok": False, "error_code": 500, "description": "Internal Server Error"},
                status_code=500,
            )
        if failure == "403":
            return JSONResponse(
                {
                    "ok": False,
                    "error_code": 403,
                    "description": "Forbidden: bot was blocked by the user",
                },
                status_code=403,
            )
        if failure == "timeout":
            await asyncio.sleep(30)
        if method == "getMe":
            result: Any = {
                "id": 111111,
                "is_bot": True,
                "first_name": "Hotline 111",
                "username": "hotline111_test_bot",
            }
        elif method == "sendMessage":
            counter["message_id"] += 1
            result = {
                "message_id": counter["message_id"],
                "date": int(time.time()),
                "chat": {"id": int(fields["chat_id"]), "type": "private"},
                "text": fields.get("text", ""),
            }
        else:
            result = True
        return JSONResponse({"ok": True, "result": result})

    return app
