"""`serve --port P` without HOTLINE_PUBLIC_BASE_URL takes http://127.0.0.1:P as its public
base, so that Twilio's signatures (made over the URL Twilio called) check out."""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import urlencode

import httpx
from twilio.request_validator import RequestValidator

from intake.commands.service import public_base_for
from intake.settings import Settings
from tests.live import free_port, start_service, stop

TOKEN = "port-test-twilio-token"


def _signed_sms(base: str, signed_for: str, sid: str) -> httpx.Response:
    """An SMS webhook sent to `base`, signed as Twilio signs a call to `signed_for`."""
    params = {"MessageSid": sid, "From": "+84912345678", "To": "+84111", "Body": "xin chao"}
    url = signed_for + "/webhooks/twilio/sms"
    signature = RequestValidator(TOKEN).compute_signature(url, params)
    return httpx.post(
        f"{base}/webhooks/twilio/sms",
        content=urlencode(params),
        headers={
            "X-Twilio-Signature": signature,
            "Content-Type": "application/x-www-form-urlencoded",
        },
        timeout=10,
    )


def test_the_public_base_follows_the_port_unless_set(tmp_path: Path) -> None:
    port = free_port()
    env = {
        key: value for key, value in os.environ.items() if not key.startswith(("HOTLINE_", "TW"))
    }
    env |= {
        "HOTLINE_DATABASE_URL": f"sqlite:///{tmp_path / 'port.db'}",
        "HOTLINE_VAR_DIR": str(tmp_path),
        "HOTLINE_SECRET_KEY": "port-test-secret-key-0123456789",
        "HOTLINE_RUN_WORKERS": "false",
        "TWILIO_ACCOUNT_SID": "ACporttest",
        "TWILIO_AUTH_TOKEN": TOKEN,
        "TWILIO_FROM_NUMBER": "+84111000111",
    }
    server = start_service(env, port, "serve", "--port", str(port))
    try:
        base = f"http://127.0.0.1:{port}"
        assert _signed_sms(base, base, "SM" + "1" * 32).status_code == 200
        # Signed for another origin, as Twilio would sign it with a stale public URL: refused.
        other = f"http://127.0.0.1:{port + 1}"
        assert _signed_sms(base, other, "SM" + "2" * 32).status_code == 403
    finally:
        stop(server)


def test_a_configured_public_base_is_kept() -> None:
    configured = Settings(HOTLINE_PUBLIC_BASE_URL="https://111.example.vn")  # type: ignore[call-arg]
    assert public_base_for(configured, host="0.0.0.0", port=9000) is configured
    moved = public_base_for(Settings.model_construct(), host="0.0.0.0", port=9000)
    assert moved.public_base_url == "http://127.0.0.1:9000"
    moved = public_base_for(Settings.model_construct(), host="10.0.0.5", port=80)
    assert moved.public_base_url == "http://10.0.0.5:80"
