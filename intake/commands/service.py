"""Running the service: `serve`, `worker`, `db upgrade` and `demo`."""

from __future__ import annotations

import argparse
import signal
import sys
import threading

from intake.commands.common import (
    demo_directory,
    fail,
    say,
    services,
    settle_memory,
)
from intake.doctor import refuse_to_start
from intake.settings import Settings
from intake.store.migrate import upgrade

SWITCH_INTERVAL_SECONDS = 0.001  # the interpreter default is 0.005
DEFAULT_PORT = 8111


def public_base_for(settings: Settings, *, host: str, port: int) -> Settings:
    """The settings with the public base URL on the served port, unless one was set.

    Twilio signs the URL it calls; the webhook check rebuilds that URL from the public
    base, so a base naming another port would refuse every signed request.
    """
    if "public_base_url" in settings.model_fields_set:
        return settings
    shown = "127.0.0.1" if host in {"0.0.0.0", "::", ""} else host
    return settings.model_copy(update={"public_base_url": f"http://{shown}:{port}"})


def cmd_serve(args: argparse.Namespace, settings: Settings) -> int:
    """Run the API, webhooks, console and (unless turned off) the workers."""
    import uvicorn

    from intake.startup import announce
    from intake.web.app import create_app

    settings = public_base_for(settings, host=args.host, port=args.port)
    upgrade(settings.database_url)
    if refusal := refuse_to_start(settings):
        fail(refusal)
    app = create_app(settings)
    built = app.state.services
    announce(built, host=args.host, port=args.port)
    demo_directory(built)
    # The pipeline's threads share the interpreter with the web server; a short switch
    # interval hands the lock back to the server often, so a tip is answered promptly
    # even while the pipeline is busy.
    sys.setswitchinterval(SWITCH_INTERVAL_SECONDS)
    settle_memory()
    # log_config=None: uvicorn's own records (an error in a request among them) go to the
    # handler configure_logging set, whose formatter withholds personal data.
    uvicorn.run(
        app,
        host=args.host,
        port=args.port,
        log_level="warning",
        access_log=False,
        log_config=None,
    )
    return 0


def cmd_worker(_args: argparse.Namespace, settings: Settings) -> int:
    """Run only the pipeline's workers, until SIGTERM or Ctrl-C."""
    from intake.pipeline.worker import Worker

    upgrade(settings.database_url)
    if refusal := refuse_to_start(settings):
        fail(refusal)
    built = services(settings)
    worker = Worker(built, poll_seconds=settings.worker_poll_seconds)
    settle_memory()
    stop = threading.Event()

    def _stop(*_: object) -> None:
        stop.set()
        worker.stop(timeout=0)

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    worker.loop()
    built.close()
    return 0


def cmd_db_upgrade(_args: argparse.Namespace, settings: Settings) -> int:
    """Apply the migrations the database lacks."""
    upgrade(settings.database_url)
    say("database is up to date")
    return 0


def cmd_demo(args: argparse.Namespace, _settings: Settings) -> int:
    """Run scripts/demo.py (it needs the repository's tests/fakes)."""
    import runpy

    from intake.settings import REPO_ROOT

    script = REPO_ROOT / "scripts" / "demo.py"
    if not script.exists():
        fail("the demo needs a checkout of the repository (scripts/demo.py)")
    sys.argv = [str(script), *(["--keep"] if args.keep else [])]
    runpy.run_path(str(script), run_name="__main__")
    return 0


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Add serve, worker, db and demo."""
    serve = sub.add_parser(
        "serve",
        help="API, webhooks, console and workers in one process",
        description="Run the service: the partner API, provider webhooks, the web form, the "
        "console at /console/ and (unless HOTLINE_RUN_WORKERS=false) the pipeline's workers. "
        "Migrations are applied first. The public base URL (HOTLINE_PUBLIC_BASE_URL, which "
        "Twilio signs) defaults to http://HOST:PORT when not set.",
    )
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on")
    serve.add_argument("--port", type=int, default=DEFAULT_PORT, help="TCP port to listen on")
    serve.set_defaults(func=cmd_serve)

    worker = sub.add_parser(
        "worker",
        help="only the background workers",
        description="Run the pipeline (ingest, triage and locate, route, deliver, escalate) "
        "beside a `serve` started with HOTLINE_RUN_WORKERS=false. Stops on SIGTERM or Ctrl-C.",
    )
    worker.set_defaults(func=cmd_worker)

    db = sub.add_parser("db", help="database maintenance", description="Database maintenance.")
    db_sub = db.add_subparsers(dest="db_command", required=True, metavar="COMMAND")
    db_sub.add_parser(
        "upgrade",
        help="apply migrations",
        description="Apply the migrations the database (HOTLINE_DATABASE_URL) lacks; "
        "serve and worker do this too.",
    ).set_defaults(func=cmd_db_upgrade)

    demo = sub.add_parser(
        "demo",
        help="sample tips through every channel (fake providers)",
        description="Start fake Telegram, Zalo and Twilio servers and the service on "
        "127.0.0.1, send one signed sample tip through each channel and print the incidents "
        "and alerts. Everything runs on a throw-away database.",
    )
    demo.add_argument(
        "--keep",
        action="store_true",
        help="leave the service running on the demo data, with an operator login, until Ctrl-C",
    )
    demo.set_defaults(func=cmd_demo)
