"""The aiohttp backend of python-telegram-bot against the fake Bot API, and its failures."""

from __future__ import annotations

import asyncio

import pytest
from telegram import Bot
from telegram.error import NetworkError, TimedOut

from channels.telegram_request import AiohttpRequest
from tests.fakes.server import Recorder, serve
from tests.fakes.telegram import telegram_app
from tests.live import free_port

TOKEN = "777:REQUEST"


def bot_at(base: str, **options: float) -> Bot:
    return Bot(TOKEN, base_url=f"{base}/bot", request=AiohttpRequest(**options))  # type: ignore[arg-type]


def test_messages_go_out_as_the_bot_api_expects_on_any_event_loop() -> None:
    recorder = Recorder()
    with serve(telegram_app(recorder, TOKEN)) as base:
        bot = bot_at(base)

        async def send(text: str) -> int:
            async with bot:
                sent = await bot.send_message(chat_id=5550001, text=text)
            return sent.message_id

        # Two event loops one after the other, as the CLI and a worker thread use it.
        first, second = asyncio.run(send("xin chào")), asyncio.run(send("lần hai"))
    assert second == first + 1
    texts = [call["text"] for call in recorder.named("sendMessage")]
    assert texts == ["xin chào", "lần hai"]


async def test_a_provider_that_does_not_answer_in_time_is_a_timeout() -> None:
    recorder = Recorder()
    with serve(telegram_app(recorder, TOKEN)) as base:
        bot = bot_at(base, read_timeout=0.3)
        async with bot:
            recorder.fail_next.append("timeout")
            with pytest.raises(TimedOut):
                await bot.send_message(chat_id=5550001, text="x")
            recorder.fail_next.append("500")
            with pytest.raises(NetworkError):
                await bot.send_message(chat_id=5550001, text="x")


async def test_a_provider_that_is_not_there_is_a_network_error() -> None:
    bot = bot_at(f"http://127.0.0.1:{free_port()}")
    with pytest.raises(NetworkError):
        await bot.send_message(chat_id=5550001, text="x")
    await bot.shutdown()
