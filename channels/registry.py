"""The channels, each declared once in its own module: name, settings, webhook routes,
how its adapter is built, whether units are alerted and acknowledge on it, its label.

The service reads this registry (webhooks, adapters, delivery, acknowledgements, the
console, the start-up summary) and never a list of channel names. A module of this
package declares its channel with `register(ChannelSpec(...))`; `specs()` imports every
module of the package first, so a new channel is one new module (see docs/architecture.md).
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Protocol

from channels.base import Channel, ChannelAdapter


class ChannelConfig(Protocol):
    """What a channel's builder reads: settings by their environment variable's name, the
    public base URL, and a store for provider tokens that rotate (Zalo's)."""

    public_base_url: str

    def value(self, name: str) -> str | None:
        """The setting named by its environment variable (e.g. TWILIO_ACCOUNT_SID)."""

    def load_tokens(self, name: str) -> tuple[str, str] | None:
        """The stored (access, refresh) token pair of that name, if one was stored."""

    def save_tokens(self, name: str, access: str, refresh: str) -> None:
        """Keep a rotated token pair, encrypted."""


@dataclass(frozen=True)
class ChannelSpec:
    """One channel, as the service needs to know it."""

    channel: Channel
    label: str  # the console's name for it (Vietnamese)
    settings: tuple[str, ...] = ()  # the environment variables it needs to be on
    options: tuple[str, ...] = ()  # the ones it reads when set
    routes: tuple[str, ...] = ()  # webhook paths under /webhooks; POST, verified, stored
    # The adapter when the settings enable it, else None (off: never open without secrets).
    # None here: built into the service (the web form, the partner API), no adapter.
    build: Callable[[ChannelConfig], ChannelAdapter | None] | None = None
    unit_contact: str | None = None  # the directory column where a unit is alerted on it
    replies: bool = False  # the tipster can be written back to (a chat)
    acknowledges: bool = False  # a unit alerted here may answer "OK <reference>" here
    # Providers that retry any answer but 200 get 200 for a signed but unreadable body.
    malformed_status: int = 400
    # The webhook's answer cannot carry text: the incident reference goes by message.
    confirm_by_message: bool = False
    # Registers the webhook URL with the provider (`channels set-webhook`), given the
    # adapter and the public base URL; returns the URL registered.
    set_webhook: Callable[[ChannelAdapter, str], Awaitable[str]] | None = None


_SPECS: dict[str, ChannelSpec] = {}
_loaded = False


def register(spec: ChannelSpec) -> ChannelSpec:
    """Declare a channel (at a channel module's import)."""
    known = _SPECS.get(spec.channel)
    if known is not None and known != spec:
        raise ValueError(f"channel {spec.channel} is declared twice")
    _SPECS[spec.channel] = spec
    return spec


def _load() -> None:
    """Import every module of the package, so that each channel registers itself."""
    global _loaded
    if _loaded:
        return
    import channels

    for module in pkgutil.iter_modules(channels.__path__):
        importlib.import_module(f"channels.{module.name}")
    _loaded = True


def specs() -> list[ChannelSpec]:
    """Every channel, in the order of `Channel`, then any others by name."""
    _load()
    order = {str(c): i for i, c in enumerate(Channel)}
    return sorted(_SPECS.values(), key=lambda s: (order.get(s.channel, len(order)), s.channel))


def spec_of(channel: str) -> ChannelSpec:
    """The declaration of one channel (KeyError for an unknown one)."""
    _load()
    return _SPECS[channel]


def providers() -> list[ChannelSpec]:
    """The channels with a provider adapter (they have webhooks and settings)."""
    return [s for s in specs() if s.build is not None]


def alert_channels() -> list[ChannelSpec]:
    """The channels units are alerted on (they have a directory contact column)."""
    return [s for s in specs() if s.unit_contact is not None]


# The two channels built into the service: no provider, no adapter.
register(ChannelSpec(channel=Channel.WEB_FORM, label="Biểu mẫu web"))
register(ChannelSpec(channel=Channel.API, label="API đối tác"))
