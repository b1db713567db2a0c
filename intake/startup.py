"""What `serve` says first: the mode, the database, what is enabled and what is not."""

from __future__ import annotations

import logging

from sqlalchemy.engine import make_url

from channels.registry import providers, specs
from intake.pipeline.context import Services

log = logging.getLogger("hotline111")


def announce(services: Services, *, host: str, port: int) -> None:
    """Log the start-up summary (no secrets, no personal data)."""
    settings = services.settings
    if settings.demo_mode:
        log.warning(
            "DEMO MODE: HOTLINE_SECRET_KEY is not set; a local key in %s/ encrypts the data. "
            "Do not use this for real tips.",
            settings.var_dir,
        )
    url = make_url(settings.database_url)
    log.info("database: %s (%s)", url.get_backend_name(), url.render_as_string(hide_password=True))
    log.info("serving on http://%s:%s (public base %s)", host, port, settings.public_base_url)
    built_in = [str(s.channel) for s in specs() if s.build is None]
    enabled = [str(s.channel) for s in providers() if s.channel in services.adapters]
    disabled = [
        f"{s.channel} (set {', '.join(s.settings)})"
        for s in providers()
        if s.channel not in services.adapters
    ]
    log.info("channels enabled: %s", ", ".join(enabled + built_in))
    log.info("channels disabled (credentials missing): %s", "; ".join(disabled) or "none")
    log.info(
        "geography: %d provinces, %d communes; workers: %s",
        len(services.geography.provinces),
        len(services.geography.wards),
        "in this process" if settings.run_workers else "off (run `hotline111 worker`)",
    )
