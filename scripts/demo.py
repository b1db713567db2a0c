"""See the whole flow: sample tips through every channel, on this machine only.

    ./run demo            (or: python scripts/demo.py)
    ./run demo --keep     and leave the service running on the demo data, until Ctrl-C

Starts fake Telegram, Zalo and Twilio servers on 127.0.0.1, then `hotline111 serve` with
test credentials that point every channel at them and a throw-away database, loads the
demo directory, and replays sample tips the way each provider sends them (signed): a
Twilio call through the IVR, an SMS, a Telegram chat, a Zalo message with a shared
location, the web form and the partner API. It then prints each incident (reference,
level, reasons, commune, units alerted) and one alert as a unit received it, and stops
everything; with --keep, it leaves the service running (and prints an operator's login
for the console) until Ctrl-C.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import signal
import socket
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlencode

import httpx
from twilio.request_validator import RequestValidator

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from channels.zalo import zalo_signature  # noqa: E402
from intake.store.auth import create_token, create_user  # noqa: E402
from intake.store.db import Database  # noqa: E402
from intake.store.migrate import upgrade  # noqa: E402
from intake.store.models import Role  # noqa: E402
from routing.geography import Geography, load_geography  # noqa: E402
from tests.fakes.server import Recorder, serve  # noqa: E402
from tests.fakes.telegram import telegram_app  # noqa: E402
from tests.fakes.twilio import twilio_app  # noqa: E402
from tests.fakes.zalo import ZaloState, zalo_app  # noqa: E402
from tests.live import free_port, import_demo_directory, start_service, stop  # noqa: E402

TG_TOKEN, TG_SECRET = "424242:DEMO", "demo_secret"
TWILIO_SID, TWILIO_TOKEN = "ACdemo", "demo-twilio-token"
ZALO_APP, ZALO_APP_SECRET, ZALO_OA_KEY = "9001", "demo-app-secret", "demo-oa-key"


def main(keep: bool = False) -> None:
    tg, zl, tw, zstate = Recorder(), Recorder(), Recorder(), ZaloState()
    console_password = secrets.token_urlsafe(12) if keep else "demo-password"
    with (
        serve(telegram_app(tg, TG_TOKEN)) as tg_url,
        serve(zalo_app(zl, zstate, ZALO_APP_SECRET)) as zalo_url,
        serve(twilio_app(tw)) as twilio_url,
        tempfile.TemporaryDirectory() as tmp,
    ):
        port = _port(keep)
        base = f"http://127.0.0.1:{port}"
        url = f"sqlite:///{tmp}/demo.db"
        env = {
            **os.environ,
            "HOTLINE_DATABASE_URL": url,
            "HOTLINE_VAR_DIR": tmp,
            "HOTLINE_SECRET_KEY": "demo-secret-key-0123456789",
            "HOTLINE_PUBLIC_BASE_URL": base,
            "HOTLINE_LOG_LEVEL": "WARNING",
            "HOTLINE_WORKER_POLL_SECONDS": "0.05",
            "TELEGRAM_BOT_TOKEN": TG_TOKEN,
            "TELEGRAM_SECRET_TOKEN": TG_SECRET,
            "TELEGRAM_API_BASE_URL": tg_url,
            "TWILIO_ACCOUNT_SID": TWILIO_SID,
            "TWILIO_AUTH_TOKEN": TWILIO_TOKEN,
            "TWILIO_FROM_NUMBER": "+84111000111",
            "TWILIO_API_BASE_URL": twilio_url,
            "ZALO_APP_ID": ZALO_APP,
            "ZALO_APP_SECRET": ZALO_APP_SECRET,
            "ZALO_OA_SECRET_KEY": ZALO_OA_KEY,
            "ZALO_ACCESS_TOKEN": zstate.access,
            "ZALO_REFRESH_TOKEN": zstate.refresh,
            "ZALO_API_BASE_URL": zalo_url,
            "ZALO_OAUTH_BASE_URL": zalo_url,
        }
        upgrade(url)
        import_demo_directory(env)
        db = Database(url)
        with db.writer() as session:
            create_user(
                session=session, username="partner", role=Role.PARTNER, password="demo-password"
            )
            create_user(
                session=session,
                username="operator",
                role=Role.OPERATOR,
                password=console_password,
            )
            partner = create_token(session=session, username="partner")
            operator = create_token(session=session, username="operator")
        db.dispose()
        server = start_service(env, port)
        try:
            replay(base, partner)
            time.sleep(3)  # the workers route and deliver
            show(base, operator, tg, zl, tw)
            if keep:
                _wait(base, console_password, server)
        finally:
            stop(server)


def _port(keep: bool) -> int:
    """The README's port 8111 for a demo that stays, when it is free; else any free one."""
    if keep:
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", 8111))
            except OSError:
                pass
            else:
                return 8111
    return free_port()


def _interrupt(*_: object) -> None:
    raise KeyboardInterrupt


def _wait(base: str, password: str, server: object) -> None:
    """Leave the service running on the demo data until Ctrl-C (or SIGTERM)."""
    signal.signal(signal.SIGTERM, _interrupt)  # so that the service is stopped too
    print(
        f"\nThe service is running on the demo data: {base}/console/\n"
        f"  sign in as: operator / {password}\n"
        f"  API docs:   {base}/docs\n"
        "Ctrl-C stops it (the demo database is thrown away)."
    )
    try:
        while server.poll() is None:  # type: ignore[attr-defined]
            time.sleep(0.5)
        print("the service stopped", file=sys.stderr)
    except KeyboardInterrupt:
        print()


def _twilio(http: httpx.Client, base: str, path: str, params: dict[str, str]) -> httpx.Response:
    signature = RequestValidator(TWILIO_TOKEN).compute_signature(base + path, params)
    return http.post(
        path,
        content=urlencode(params),
        headers={
            "X-Twilio-Signature": signature,
            "Content-Type": "application/x-www-form-urlencoded",
        },
    )


def replay(base: str, partner: str) -> None:
    """One sample tip through each channel, signed as the provider signs it."""
    now = int(time.time())
    with httpx.Client(base_url=base, timeout=10) as http:
        call = {
            "CallSid": "CA000000000000000000000064656d6f31",
            "From": "+84900000001",
            "To": "+84111",
        }
        _twilio(http, base, "/webhooks/twilio/voice", call)
        print(
            "voice  ->",
            _twilio(http, base, "/webhooks/twilio/voice/menu", {**call, "Digits": "1"}).text[:120],
            "...",
        )
        sms = {
            "MessageSid": "SM000000000000000000000064656d6f31",
            "From": "+84912345678",
            "To": "+84111",
            "Body": "chau be 4 tuoi bi bo me bo doi, nhot trong nha 2 ngay. xa Nam Truc, Ninh Binh",
        }
        print("sms    ->", _twilio(http, base, "/webhooks/twilio/sms", sms).text)
        update = {
            "update_id": 1,
            "message": {
                "message_id": 1,
                "date": now,
                "chat": {"id": 700700, "type": "private"},
                "from": {"id": 700700, "is_bot": False, "first_name": "Em"},
                "text": "cuu em, bo em dang danh em. em o xa Thieu Trung, Thanh Hoa",
            },
        }
        answer = http.post(
            "/webhooks/telegram",
            content=json.dumps(update),
            headers={
                "X-Telegram-Bot-Api-Secret-Token": TG_SECRET,
                "Content-Type": "application/json",
            },
        )
        print("telegram ->", answer.text[:160])
        event = {
            "app_id": ZALO_APP,
            "event_name": "user_send_text",
            "sender": {"id": "8400999000111"},
            "recipient": {"id": "1"},
            "message": {
                "msg_id": "zdemo1",
                "text": "ba moi gioi giu cccd cua chi em, hua dua sang Dai "
                "Loan lay chong thang sau, xa Muong Khuong, Lao Cai",
            },
            "timestamp": str(now * 1000),
        }
        body = json.dumps(event).encode()
        answer = http.post(
            "/webhooks/zalo",
            content=body,
            headers={
                "X-ZEvent-Signature": zalo_signature(
                    ZALO_APP, body, event["timestamp"], ZALO_OA_KEY
                ),
                "Content-Type": "application/json",
            },
        )
        print("zalo   ->", answer.status_code)
        form = http.get("/report")
        csrf = form.text.split('name="csrf" value="', 1)[1].split('"', 1)[0]
        done = http.post(
            "/report",
            data={
                "csrf": csrf,
                "what": "Hang xom co be gai 8 tuoi bi me ke danh thuong xuyen",
                "where": "xa Yen Lac",
                "province": "25",
            },
        )
        print("web form ->", "reference shown" if "111-" in done.text else done.status_code)
        api = http.post(
            "/api/v1/tips",
            headers={"Authorization": f"Bearer {partner}"},
            json={
                "text": "Em 15 tuoi, nghi hoc di lam xuong may o phuong Go Vap, TP HCM",
                "external_id": "demo-1",
            },
        )
        print("api    ->", api.json())


def _place(geography: Geography, ward_code: int | None, province_code: int | None) -> str:
    """The commune and province by name (with the code), or what is known."""
    ward = geography.wards.get(ward_code) if ward_code is not None else None
    province = geography.provinces.get(province_code) if province_code is not None else None
    if ward is not None:
        province = geography.provinces.get(ward.province_code)
        return f"{ward.name}, {province.name if province else '?'} ({ward.code})"
    if province is not None:
        return f"{province.name}, commune unknown"
    return "place unknown"


def show(base: str, operator: str, *recorders: Recorder) -> None:
    """Print the incidents and what the providers received."""
    geography = load_geography(REPO / "config" / "geography")
    headers = {"Authorization": f"Bearer {operator}"}
    with httpx.Client(base_url=base, timeout=10) as http:
        page = http.get("/api/v1/incidents", headers=headers).json()
        print("\nincidents:")
        for item in page["items"]:
            full = http.get(f"/api/v1/incidents/{item['id']}", headers=headers).json()
            units = "; ".join(u["name"] for u in full["routed_to"]) or "-"
            reasons = ", ".join(r["rule"] for r in full["reasons"]) or "-"
            place = _place(geography, full["ward_code"], full["province_code"])
            print(
                f"  {full['reference']} {full['channel']:<9} {full['level'] or '?':<4} "
                f"{full['status']:<12} {place}\n      reasons: {reasons}\n      alerted: {units}"
            )
    print("\nsent by the providers' fakes:")
    for name, recorder in zip(("telegram", "zalo", "twilio"), recorders, strict=True):
        sent = [c for c in recorder.calls if c.get("method") in ("sendMessage", "cs", "messages")]
        print(f"  {name}: {len(sent)} messages")
    # Units' chats are group chats (negative ids); the tipster's is a private one.
    alerts = [
        c for c in recorders[0].named("sendMessage") if str(c.get("chat_id", "")).startswith("-")
    ]
    if alerts:
        print("\none alert, as a unit's Telegram chat received it:")
        print("  " + str(alerts[0].get("text", "")).replace("\n", "\n  "))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--keep", action="store_true", help="leave the service running until Ctrl-C"
    )
    main(keep=parser.parse_args().keep)
