"""A Telegram-wired service for end-to-end tests: the fake Bot API, the demo directory of
one commune, and helpers to post signed updates (fixtures `provider` and `wired`)."""

from __future__ import annotations

import json
import time

import httpx
import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr

from intake.pipeline.worker import Worker
from intake.services import build_services
from intake.store.directory import DEMO_DIRECTORY, read_directory, save_units
from intake.web.app import create_app
from tests.fakes.server import Recorder, serve
from tests.fakes.telegram import telegram_app

TOKEN, SECRET = "987654:E2E-token", "e2e_secret-token"
TIP = "cuu em, bo em dang danh em bang gay. em o xa Thieu Trung, Thanh Hoa"


@pytest.fixture
def provider():  # type: ignore[no-untyped-def]
    recorder = Recorder()
    with serve(telegram_app(recorder, TOKEN)) as base:
        recorder.state["base"] = base
        yield recorder, base


@pytest.fixture
def wired(settings, geography, rules, provider):  # type: ignore[no-untyped-def]
    """The service with Telegram pointed at the fake, and the demo directory loaded."""
    recorder, base = provider
    configured = settings.model_copy(
        update={
            "telegram_bot_token": SecretStr(TOKEN),
            "telegram_secret_token": SecretStr(SECRET),
            "telegram_api_base_url": base,
        }
    )
    services = build_services(configured, geography=geography, rules=rules)
    demo = read_directory(DEMO_DIRECTORY, geography)
    with services.db.writer() as session:
        save_units(
            session=session,
            units=[u for u in demo.units if u.ward_code in (None, 15835) or u.id == "supervisor"],
            demo=True,
        )
    with TestClient(create_app(configured, services)) as client:
        yield services, client, recorder
    services.close()


def post_update(client: TestClient, update: dict[str, object]):  # type: ignore[no-untyped-def]
    return client.post(
        "/webhooks/telegram",
        content=json.dumps(update),
        headers={"X-Telegram-Bot-Api-Secret-Token": SECRET, "Content-Type": "application/json"},
    )


def tip_update(update_id: int, chat: int, text_: str) -> dict[str, object]:
    return {
        "update_id": update_id,
        "message": {
            "message_id": update_id,
            "date": int(time.time()),
            "text": text_,
            "chat": {"id": chat, "type": "private"},
            "from": {"id": chat, "is_bot": False, "first_name": "Em"},
        },
    }


def drain(services) -> None:  # type: ignore[no-untyped-def]
    Worker(services).drain()


def post_as_telegram(client: TestClient, recorder: Recorder, update: dict[str, object]):  # type: ignore[no-untyped-def]
    """Post an update as Telegram does, then carry out the Bot API call the webhook
    answered with, as Telegram does (it answers a button with answerCallbackQuery)."""
    answer = post_update(client, update)
    if answer.status_code == 200 and answer.headers["content-type"].startswith("application/json"):
        call = json.loads(answer.text)
        method = call.pop("method")
        httpx.post(f"{recorder.state['base']}/bot{TOKEN}/{method}", json=call, timeout=10)
    return answer
