"""Every channel is declared once, in its own module, and the service reads the registry:
its webhook routes are served, its settings documented, its adapter built from them."""

from __future__ import annotations

from pathlib import Path

from channels.base import Channel
from channels.registry import alert_channels, providers, spec_of, specs
from intake.channel_setup import build_adapters
from intake.settings import Settings
from intake.store.models import Unit

README = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")


def test_every_channel_is_declared_once() -> None:
    assert [spec.channel for spec in specs()] == list(Channel)
    assert {spec.label for spec in specs()} and all(spec.label for spec in specs())
    for spec in alert_channels():
        assert hasattr(Unit, spec.unit_contact or ""), spec.channel
        assert spec.build is not None and spec.replies


def test_each_providers_routes_are_served_and_its_settings_documented(client) -> None:  # type: ignore[no-untyped-def]
    for spec in providers():
        assert spec.routes and spec.settings
        for path in spec.routes:
            # Off without its secrets: the route is there, and refuses.
            url = f"/webhooks{path}".replace("{step}", "gather")
            answer = client.post(url, content=b"x")
            assert answer.status_code == 404 and "not enabled" in answer.text
        for name in spec.settings + spec.options:
            assert f"`{name}`" in README, name


def test_a_channel_is_on_exactly_when_its_settings_are(services) -> None:  # type: ignore[no-untyped-def]
    env = {name: "x1234567890" for spec in providers() for name in spec.settings}
    on = build_adapters(Settings(**env), services.db, services.cipher)  # type: ignore[arg-type]
    assert set(on) == {spec.channel for spec in providers()}
    for spec in providers():
        partial = {k: v for k, v in env.items() if k != spec.settings[-1]}
        off = build_adapters(Settings(**partial), services.db, services.cipher)  # type: ignore[arg-type]
        assert spec.channel not in off
    assert spec_of("telegram").set_webhook is not None
