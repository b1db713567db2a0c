"""The channels' edges under attack (issue 19, item 8), over HTTP on both databases: deep or
huge Zalo bodies, stale or future Zalo events, Twilio parameters re-cut under one
signature, partner `received_at` far from now."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta
from urllib.parse import urlencode

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr
from sqlalchemy import func, select
from twilio.request_validator import RequestValidator

from channels.zalo import MAX_EVENT_BYTES, zalo_signature
from intake.services import build_services
from intake.store.auth import create_token, create_user
from intake.store.models import InboxItem, Incident, Message, Role
from intake.web.app import create_app

TWILIO_TOKEN = "twilio-auth-token-0123456789"
ZALO_APP, ZALO_OA_KEY = "4321", "zalo-oa-secret-key"
SID = "SM" + "0123456789abcdef" * 2


@pytest.fixture
def wired(settings, geography, rules):  # type: ignore[no-untyped-def]
    """The service with Twilio and Zalo on (their APIs unreachable: nothing is sent)."""
    configured = settings.model_copy(
        update={
            "twilio_account_sid": "AC" + "0" * 32,
            "twilio_auth_token": SecretStr(TWILIO_TOKEN),
            "twilio_from_number": "+84111",
            "twilio_api_base_url": "http://127.0.0.1:9",
            "zalo_app_id": ZALO_APP,
            "zalo_app_secret": SecretStr("zalo-app-secret"),
            "zalo_oa_secret_key": SecretStr(ZALO_OA_KEY),
            "zalo_access_token": SecretStr("access"),
            "zalo_refresh_token": SecretStr("refresh"),
            "zalo_api_base_url": "http://127.0.0.1:9",
            "zalo_oauth_base_url": "http://127.0.0.1:9",
        }
    )
    services = build_services(configured, geography=geography, rules=rules)
    with services.db.writer() as session:
        create_user(session=session, username="p", role=Role.PARTNER, password="x" * 12)
        partner = {"Authorization": f"Bearer {create_token(session=session, username='p')}"}
    with TestClient(create_app(configured, services)) as client:
        yield services, client, partner
    services.close()


def counts(services) -> tuple[int, int, int]:  # type: ignore[no-untyped-def]
    """Inbox rows, incidents, messages."""
    with services.db.reader() as session:
        return tuple(  # type: ignore[return-value]
            session.scalar(select(func.count()).select_from(model)) or 0
            for model in (InboxItem, Incident, Message)
        )


# --------------------------------------------------------------------------------- Zalo


def zalo_event(timestamp_ms: int, msg_id: str = "m1") -> dict[str, object]:
    return {
        "app_id": ZALO_APP,
        "event_name": "user_send_text",
        "sender": {"id": "8400123456789012345"},
        "recipient": {"id": "111"},
        "message": {"msg_id": msg_id, "text": "cứu em, bố em đánh em"},
        "timestamp": str(timestamp_ms),
    }


def post_zalo(client: TestClient, body: bytes, timestamp: str, key: str = ZALO_OA_KEY):  # type: ignore[no-untyped-def]
    signature = zalo_signature(ZALO_APP, body, timestamp, key)
    return client.post(
        "/webhooks/zalo",
        content=body,
        headers={"X-ZEvent-Signature": signature, "Content-Type": "application/json"},
    )


def now_ms() -> int:
    return int(time.time() * 1000)


def test_deep_json_unsigned_is_refused_before_it_is_parsed(wired) -> None:  # type: ignore[no-untyped-def]
    services, client, _ = wired
    deep = b'{"timestamp": "1", "a": ' + b"[" * 200_000 + b"]" * 200_000 + b"}"
    forged = client.post(
        "/webhooks/zalo",
        content=deep,
        headers={"X-ZEvent-Signature": "mac=" + "0" * 64, "Content-Type": "application/json"},
    )
    assert forged.status_code in (403, 413)
    deep_small = b'{"timestamp": "1", "a": ' + b"[" * 20_000 + b"]" * 20_000 + b"}"
    forged = client.post(
        "/webhooks/zalo",
        content=deep_small,
        headers={"X-ZEvent-Signature": "mac=" + "0" * 64, "Content-Type": "application/json"},
    )
    assert forged.status_code == 403
    unsigned = client.post("/webhooks/zalo", content=deep_small)
    assert unsigned.status_code == 401
    assert counts(services) == (0, 0, 0)


def test_deep_json_signed_is_kept_as_malformed_never_a_500(wired) -> None:  # type: ignore[no-untyped-def]
    services, client, _ = wired
    stamp = str(now_ms())
    deep = b'{"timestamp": "' + stamp.encode() + b'", "a": ' + b"[" * 10_000 + b"]" * 10_000 + b"}"
    answer = post_zalo(client, deep, stamp)
    # Zalo retries anything but 200, so a signed body it cannot mean is kept and answered 200.
    assert answer.status_code == 200 and "malformed" in answer.text
    inbox, incidents, _ = counts(services)
    assert (inbox, incidents) == (1, 0)


def test_an_oversized_zalo_body_is_refused(wired) -> None:  # type: ignore[no-untyped-def]
    services, client, _ = wired
    event = zalo_event(now_ms())
    event["padding"] = "x" * MAX_EVENT_BYTES
    body = json.dumps(event).encode()
    assert post_zalo(client, body, str(event["timestamp"])).status_code == 413
    assert counts(services) == (0, 0, 0)


@pytest.mark.parametrize(
    "age", [timedelta(days=400), timedelta(minutes=11), -timedelta(hours=1), -timedelta(minutes=3)]
)
def test_a_zalo_event_outside_the_freshness_window_is_refused(wired, age) -> None:  # type: ignore[no-untyped-def]
    services, client, _ = wired
    event = zalo_event(now_ms() - int(age.total_seconds() * 1000))
    body = json.dumps(event).encode()
    answer = post_zalo(client, body, str(event["timestamp"]))  # correctly signed
    assert answer.status_code == 403
    assert counts(services) == (0, 0, 0)


def test_a_fresh_zalo_event_is_stored(wired) -> None:  # type: ignore[no-untyped-def]
    services, client, _ = wired
    event = zalo_event(now_ms() - 60_000)
    body = json.dumps(event).encode()
    assert post_zalo(client, body, str(event["timestamp"])).status_code == 200
    assert counts(services) == (1, 1, 2)  # the tip, and the reply that gives its reference
    assert post_zalo(client, body, str(event["timestamp"]), key="wrong-key").status_code == 403


# ------------------------------------------------------------------------------- Twilio


def post_twilio(client: TestClient, path: str, signed: dict[str, str], sent: dict[str, str]):  # type: ignore[no-untyped-def]
    """Post `sent` under the signature Twilio made for `signed`."""
    url = "https://hotline.example.org" + path
    signature = RequestValidator(TWILIO_TOKEN).compute_signature(url, signed)
    assert RequestValidator(TWILIO_TOKEN).validate(url, sent, signature)  # the re-cut holds
    return client.post(
        path,
        content=urlencode(sent).encode(),
        headers={
            "X-Twilio-Signature": signature,
            "Content-Type": "application/x-www-form-urlencoded",
        },
    )


SMS = {
    "MessageSid": SID,
    "From": "+84912345678",
    "To": "+84111",
    "Body": "bố em đánh em ở xã Thiệu Trung",
    "NumMedia": "0",
    "NumSegments": "1",
}


def test_twilio_parameters_re_cut_under_the_same_signature_do_not_pass_the_dedupe(  # type: ignore[no-untyped-def]
    wired,
) -> None:
    services, client, _ = wired
    assert post_twilio(client, "/webhooks/twilio/sms", SMS, SMS).status_code == 200
    assert counts(services) == (1, 1, 1)
    # The same run of names and values, cut elsewhere: "NumMedia" swallows "NumSegments".
    kept_sid = {k: v for k, v in SMS.items() if k != "NumSegments"}
    kept_sid["NumMedia"] = "0NumSegments1"
    assert post_twilio(client, "/webhooks/twilio/sms", SMS, kept_sid).status_code == 200
    assert counts(services) == (1, 1, 1)  # the same MessageSid: a repeat
    # Cut so that MessageSid changes: no longer of Twilio's form, refused.
    new_sid = {k: v for k, v in SMS.items() if k != "NumMedia"}
    new_sid["MessageSid"] = SID + "NumMedia0"
    answer = post_twilio(client, "/webhooks/twilio/sms", SMS, new_sid)
    assert answer.status_code == 400
    inbox, incidents, messages = counts(services)
    assert (incidents, messages) == (1, 1)  # kept for inspection only, as malformed


@pytest.mark.parametrize(
    "params",
    [
        {**SMS, "MessageSid": "SM1"},
        {**SMS, "MessageSid": "XX" + "0" * 32},
        {**SMS, "MessageSid": SID + "0"},
        {k: v for k, v in SMS.items() if k != "MessageSid"},
    ],
)
def test_a_message_sid_not_of_twilios_form_is_refused(wired, params) -> None:  # type: ignore[no-untyped-def]
    services, client, _ = wired
    assert post_twilio(client, "/webhooks/twilio/sms", params, params).status_code == 400
    assert counts(services)[1:] == (0, 0)


@pytest.mark.parametrize("call_sid", ["CA1", "CA" + "0" * 31 + "g", ""])
def test_a_call_sid_not_of_twilios_form_is_refused(wired, call_sid) -> None:  # type: ignore[no-untyped-def]
    services, client, _ = wired
    params = {"CallSid": call_sid, "From": "+84900000001", "Digits": "1"}
    assert post_twilio(client, "/webhooks/twilio/voice/menu", params, params).status_code == 400
    assert counts(services)[1:] == (0, 0)


# -------------------------------------------------------------------- partner received_at


@pytest.mark.parametrize(
    "received_at",
    ["2000-01-01T00:00:00Z", "0001-01-01T00:00:00", "9999-12-31T23:59:59Z", "+1 day", "-400 days"],
)
def test_a_partner_received_at_far_from_now_is_refused_at_intake(wired, received_at) -> None:  # type: ignore[no-untyped-def]
    services, client, partner = wired
    if received_at[0] in "+-":
        amount, unit = received_at.split()
        moment = datetime.now(UTC) + timedelta(**{unit.rstrip("s") + "s": int(amount)})
        received_at = moment.isoformat()
    tip = {"text": "bố em đánh em", "external_id": "old-1", "received_at": received_at}
    answer = client.post("/api/v1/tips", json=tip, headers=partner)
    assert answer.status_code == 400, answer.text
    assert "received_at" in answer.text
    assert counts(services) == (0, 0, 0)


def test_a_partner_received_at_within_the_bounds_is_accepted(wired) -> None:  # type: ignore[no-untyped-def]
    services, client, partner = wired
    for n, moment in enumerate(
        [datetime.now(UTC) - timedelta(days=200), datetime.now(UTC) + timedelta(minutes=2)]
    ):
        tip = {"text": "bố em đánh em", "external_id": f"ok-{n}", "received_at": moment.isoformat()}
        answer = client.post("/api/v1/tips", json=tip, headers=partner)
        assert answer.status_code == 201, answer.text
    from intake.pipeline.worker import Worker

    Worker(services).drain()
    assert counts(services) == (2, 2, 2)


CALL = "CA" + "fedcba9876543210" * 2
RECORDING = {
    "CallSid": CALL,
    "From": "+84900000001",
    "RecordingDuration": "42",
    "RecordingSid": "RE" + "0123456789abcdef" * 2,
    "RecordingUrl": "https://api.twilio.com/rec/1",
}


def test_a_voice_callback_re_cut_under_the_same_signature_adds_nothing(wired) -> None:  # type: ignore[no-untyped-def]
    services, client, _ = wired
    path = "/webhooks/twilio/voice/recording"
    assert post_twilio(client, path, RECORDING, RECORDING).status_code == 200
    assert counts(services) == (1, 1, 1)
    # RecordingSid swallowed by the parameter before it: the message's id would change.
    swallowed = {k: v for k, v in RECORDING.items() if k != "RecordingSid"}
    swallowed["RecordingDuration"] = "42RecordingSid" + RECORDING["RecordingSid"]
    assert post_twilio(client, path, RECORDING, swallowed).status_code == 400
    status = {"CallSid": CALL, "CallStatus": "completed", "From": "+84900000001"}
    cut = {"CallSid": CALL, "CallStatus": "completedFrom+84900000001"}
    assert post_twilio(client, "/webhooks/twilio/voice/status", status, cut).status_code == 400
    assert counts(services)[1:] == (1, 1)
