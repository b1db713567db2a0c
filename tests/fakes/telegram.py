"""A fake Telegram Bot API: getMe, sendMessage, answerCallbackQuery, setWebhook; and a
person pressing an inline button of a message the bot sent (`press`), which Telegram
turns into a `callback_query` update and expects answered with answerCallbackQuery."""

from __future__ import annotations

import asyncio
import itertools
import json
import time
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from tests.fakes.server import Recorder

CALLBACK_DATA_BYTES = 64  # the Bot API refuses a button whose data is longer
ANSWER_CHARACTERS = 200  # the most answerCallbackQuery shows
_query_ids = itertools.count(1)


def _bad_request(description: str) -> JSONResponse:
    return JSONResponse(
        {"ok": False, "error_code": 400, "description": f"Bad Request: {description}"},
        status_code=400,
    )


def _buttons(markup: Any) -> list[dict[str, Any]]:
    rows = markup.get("inline_keyboard", []) if isinstance(markup, dict) else []
    return [button for row in rows for button in row]


def _refusal(recorder: Recorder, method: str, fields: dict[str, Any]) -> str | None:
    """What the Bot API would refuse in this call, in its words, or None."""
    if method == "sendMessage":
        for button in _buttons(fields.get("reply_markup")):
            if len(str(button.get("callback_data", "")).encode()) > CALLBACK_DATA_BYTES:
                return "BUTTON_DATA_INVALID"
    if method == "answerCallbackQuery":
        query_id = str(fields.get("callback_query_id"))
        with recorder.lock:
            queries = recorder.state.setdefault("queries", {})
            if queries.get(query_id) is not False:  # never issued, or answered already
                return "query is too old and response timeout expired or query ID is invalid"
            queries[query_id] = True
        if len(str(fields.get("text", ""))) > ANSWER_CHARACTERS:
            return "MESSAGE_TOO_LONG"
    return None


def press(recorder: Recorder, chat_id: int, label: str, *, update_id: int) -> dict[str, Any]:
    """The `callback_query` update Telegram sends when someone in `chat_id` presses the
    button `label` of the last message the bot sent there that has it."""
    with recorder.lock:
        sent = recorder.state.setdefault("sent", [])
        message = next(
            m
            for m in reversed(sent)
            if m["chat"]["id"] == chat_id
            and any(b["text"] == label for b in _buttons(m.get("reply_markup")))
        )
        button = next(b for b in _buttons(message["reply_markup"]) if b["text"] == label)
        query_id = str(next(_query_ids))
        recorder.state.setdefault("queries", {})[query_id] = False  # not answered yet
    return {
        "update_id": update_id,
        "callback_query": {
            "id": query_id,
            "from": {"id": 4242, "is_bot": False, "first_name": "Can bo"},
            "message": message,
            "chat_instance": f"ci{chat_id}",
            "data": button["callback_data"],
        },
    }


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
        refused = _refusal(recorder, method, fields)
        if refused:
            recorder.record(method=method, failed="400", **fields)
            return _bad_request(refused)
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
            chat = int(fields["chat_id"])
            result = {
                "message_id": counter["message_id"],
                "date": int(time.time()),
                "chat": {"id": chat, "type": "group" if chat < 0 else "private"},
                "text": fields.get("text", ""),
            }
            if fields.get("reply_markup"):
                result["reply_markup"] = fields["reply_markup"]
            with recorder.lock:
                recorder.state.setdefault("sent", []).append(result)
        else:
            result = True
        return JSONResponse({"ok": True, "result": result})

    return app
