"""The `hotline111` command line."""

from __future__ import annotations

import argparse
import gc
import json
import logging
import signal
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from intake.settings import Settings
from intake.store.migrate import upgrade
from intake.store.private_logs import PrivateFormatter

if TYPE_CHECKING:
    from intake.pipeline.context import Services

log = logging.getLogger("hotline111")
SWITCH_INTERVAL_SECONDS = 0.001  # the interpreter default is 0.005
GC_YOUNG_THRESHOLD = 10_000  # the interpreter default is 700: see _settle_memory


def _configure_logging(settings: Settings) -> None:
    handler = logging.StreamHandler()
    handler.setFormatter(PrivateFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    logging.basicConfig(level=settings.log_level.upper(), handlers=[handler])
    logging.getLogger("alembic").setLevel(logging.WARNING)  # the start-up summary comes first


def _json_lines(stream: TextIO) -> Iterator[dict[str, Any]]:
    """Parse JSON lines, reporting (on stderr) and skipping the ones that are not objects."""
    for number, line in enumerate(stream, start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            print(f"line {number}: not JSON ({exc.msg})", file=sys.stderr)
            continue
        if not isinstance(record, dict) or not isinstance(record.get("text", ""), str):
            print(f"line {number}: expected an object with a text field", file=sys.stderr)
            continue
        yield record


def _open_input(path: str | None) -> TextIO:
    return open(path, encoding="utf-8") if path else sys.stdin


def _print_json(data: object) -> None:
    sys.stdout.write(json.dumps(data, ensure_ascii=False) + "\n")


def cmd_serve(args: argparse.Namespace, settings: Settings) -> int:
    import uvicorn

    from intake.startup import announce
    from intake.web.app import create_app

    upgrade(settings.database_url)
    app = create_app(settings)
    services = app.state.services
    announce(services, host=args.host, port=args.port)
    _demo_directory(services)
    # The pipeline's threads share the interpreter with the web server; a short switch
    # interval hands the lock back to the server often, so a tip is answered promptly
    # even while the pipeline is busy.
    sys.setswitchinterval(SWITCH_INTERVAL_SECONDS)
    _settle_memory()
    # log_config=None: uvicorn's own records (an error in a request among them) go to the
    # handler above, whose formatter withholds personal data, not to uvicorn's.
    uvicorn.run(
        app,
        host=args.host,
        port=args.port,
        log_level="warning",
        access_log=False,
        log_config=None,
    )
    return 0


def _settle_memory() -> None:
    """Keep the garbage collector off what was loaded at start-up (the geography and the
    rules: about a million objects that live as long as the process). Without this, every
    full collection walks all of them and stalls the process for tens of milliseconds.

    And collect the young generation once 10,000 objects have piled up rather than 700
    (the interpreter's default): one tip or pipeline step holds a thousand or more objects
    for a moment, nearly all freed by reference counting, so at 700 the collector ran on
    almost every request and the older generations followed. Measured in process with
    5,000 partner tips: 685 young and 5 full collections (82 ms, the longest 15 ms) at
    700; 6 young ones (5 ms) at 10,000, and 18% less CPU per tip.
    """
    gc.collect()
    gc.freeze()
    gc.set_threshold(GC_YOUNG_THRESHOLD, *gc.get_threshold()[1:])


def _demo_directory(services: Services) -> None:
    """In demo mode, an empty directory gets the demo units, so routing works end to end."""
    if not services.settings.demo_mode:
        return
    from intake.store.directory import (
        DEMO_DIRECTORY,
        directory_is_empty,
        read_directory,
        save_units,
    )

    with services.db.writer() as session:
        if directory_is_empty(session):
            demo = read_directory(DEMO_DIRECTORY, services.geography)
            save_units(session=session, units=demo.units, demo=True)
            log.warning("demo mode: loaded %d DEMO units (not real contacts)", len(demo.units))


def _services(settings: Settings) -> Services:
    """The services, on a database brought up to date first (a fresh checkout has none)."""
    from intake.services import build_services

    upgrade(settings.database_url)
    services = build_services(settings)
    _demo_directory(services)
    return services


def cmd_worker(_args: argparse.Namespace, settings: Settings) -> int:
    from intake.pipeline.worker import Worker

    services = _services(settings)
    worker = Worker(services, poll_seconds=settings.worker_poll_seconds)
    _settle_memory()
    stop = threading.Event()

    def _stop(*_: object) -> None:
        stop.set()
        worker.stop(timeout=0)

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    worker.loop()
    services.close()
    return 0


def cmd_db_upgrade(_args: argparse.Namespace, settings: Settings) -> int:
    upgrade(settings.database_url)
    print("database is up to date")
    return 0


def _database(settings: Settings):  # type: ignore[no-untyped-def]
    """The database, brought up to date first, and the cipher."""
    from intake.services import secret_for
    from intake.store.crypto import Cipher
    from intake.store.db import Database

    upgrade(settings.database_url)
    return Database(settings.database_url), Cipher(secret_for(settings))


def cmd_user_create(args: argparse.Namespace, settings: Settings) -> int:
    from intake.store.auth import UserError, create_user
    from intake.store.models import Role

    if not args.password_stdin:
        print("give the password on standard input with --password-stdin", file=sys.stderr)
        return 2
    password = sys.stdin.readline().rstrip("\n")
    db, _ = _database(settings)
    try:
        with db.writer() as session:
            create_user(
                session=session,
                username=args.username,
                role=Role(args.role),
                password=password,
                unit_id=args.unit,
            )
    except UserError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(f"user {args.username} created ({args.role})")
    return 0


def cmd_token_create(args: argparse.Namespace, settings: Settings) -> int:
    from intake.store.auth import UserError, create_token

    db, _ = _database(settings)
    try:
        with db.writer() as session:
            token = create_token(session=session, username=args.username)
    except UserError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(token)
    return 0


def cmd_triage(args: argparse.Namespace, settings: Settings) -> int:
    from triage import classify, load_rules

    rules = load_rules(settings.config_dir / "triage")
    with _open_input(args.jsonl) as stream:
        for record in _json_lines(stream):
            result = classify(str(record.get("text", "")), rules=rules)
            _print_json(result.to_json(record.get("id")))
    return 0


def cmd_triage_eval(args: argparse.Namespace, settings: Settings) -> int:
    from triage import load_rules
    from triage.eval import evaluate, render_report

    rules = load_rules(settings.config_dir / "triage")
    with open(args.file, encoding="utf-8") as stream:
        records = list(_json_lines(stream))
    print(render_report(evaluate(records, rules=rules)))
    return 0


def cmd_export_feedback(args: argparse.Namespace, settings: Settings) -> int:
    from intake.pipeline.feedback import export_feedback
    from routing.policy import load_recipients

    recipients = load_recipients(settings.config_dir / "routing" / "recipients.yaml")
    db, _ = _database(settings)
    with db.reader() as session:
        lines = [
            json.dumps(line, ensure_ascii=False) for line in export_feedback(session, recipients)
        ]
    text = "".join(f"{line}\n" for line in lines)
    if args.out:
        args.out.write_text(text, encoding="utf-8")
    else:
        sys.stdout.write(text)
    count = len(lines)
    print(f"{count} overruled incidents", file=sys.stderr)
    return 0


def cmd_locate(args: argparse.Namespace, settings: Settings) -> int:
    from routing.geography import Resolver, load_geography

    resolver = Resolver(load_geography(settings.config_dir / "geography"))
    with _open_input(args.jsonl) as stream:
        for record in _json_lines(stream):
            lat, lon = record.get("latitude"), record.get("longitude")
            result = resolver.resolve(
                str(record.get("text", "")),
                latitude=float(lat) if isinstance(lat, int | float) else None,
                longitude=float(lon) if isinstance(lon, int | float) else None,
            )
            _print_json(result.to_json(record.get("id")))
    return 0


def cmd_directory_import(args: argparse.Namespace, settings: Settings) -> int:
    from intake.store.directory import read_directory, save_units
    from routing.directory import render_import_report
    from routing.geography import load_geography

    result = read_directory(args.file, load_geography(settings.config_dir / "geography"))
    print(render_import_report(result))
    db, _ = _database(settings)
    with db.writer() as session:
        save_units(session=session, units=result.units)
    return 1 if result.rejected and not result.units else 0


def cmd_route_explain(args: argparse.Namespace, settings: Settings) -> int:
    from intake.pipeline.route import plan_for
    from intake.store.models import Incident
    from routing.plan import explain

    services = _services(settings)
    with services.db.reader() as session:
        if args.target.isdigit():
            incident = session.get(Incident, int(args.target))
        else:
            try:
                data = json.loads(args.target)
            except json.JSONDecodeError:
                incident = session.query(Incident).filter_by(reference=args.target).first()
            else:
                incident = Incident(
                    level=data.get("level"),
                    categories=list(data.get("categories") or []),
                    ward_code=data.get("ward_code"),
                    province_code=data.get("province_code"),
                )
        if incident is None:
            print(f"no incident {args.target!r}", file=sys.stderr)
            return 1
        print(explain(plan_for(session, services, incident)))
    return 0


def cmd_report(args: argparse.Namespace, settings: Settings) -> int:
    from datetime import date

    from intake.reports import build_report, write_report

    try:
        start, end = date.fromisoformat(args.date_from), date.fromisoformat(args.date_to)
    except ValueError as exc:
        print(f"error: dates are YYYY-MM-DD ({exc})", file=sys.stderr)
        return 2
    formats = [f.strip() for f in args.format.split(",") if f.strip()]
    db, _ = _database(settings)
    with db.reader() as session:
        report = build_report(session, date_from=start, date_to=end, province_code=args.province)
    out = args.out or Path(f"report-{start}-{end}")
    try:
        written = write_report(
            report, formats=formats, out=out, suppress_below=0 if args.no_suppression else 5
        )
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    for path in written:
        print(path)
    return 0


def cmd_search_reindex(_args: argparse.Namespace, settings: Settings) -> int:
    from intake.pipeline.searching import reindex_all

    print(f"{reindex_all(_services(settings))} incidents indexed for search")
    return 0


def cmd_channels(args: argparse.Namespace, settings: Settings) -> int:
    import asyncio

    from channels.base import Channel, ChannelError
    from channels.telegram import TelegramAdapter
    from intake.services import build_services

    services = build_services(settings)

    async def run() -> int:
        failures = 0
        for channel, adapter in services.adapters.items():
            try:
                if args.channels_command == "set-webhook":
                    if isinstance(adapter, TelegramAdapter):
                        url = settings.public_base_url.rstrip("/") + "/webhooks/telegram"
                        await adapter.set_webhook(url)
                        print(f"telegram: webhook set to {url}")
                    continue
                await adapter.check_credentials()
                print(f"{channel}: credentials work")
            except ChannelError as exc:
                failures += 1
                print(f"{channel}: {exc}", file=sys.stderr)
        if not services.adapters:
            print("no provider channel is configured (see README, Configuration)")
        elif args.channels_command == "set-webhook" and Channel.TELEGRAM not in services.adapters:
            print(
                "telegram is not configured; Twilio and Zalo webhooks are set in their "
                "consoles: " + settings.public_base_url.rstrip("/") + "/webhooks/..."
            )
        for adapter in services.adapters.values():
            await adapter.aclose()
        return 1 if failures else 0

    return asyncio.run(run())


def cmd_demo(_args: argparse.Namespace, _settings: Settings) -> int:
    import runpy

    from intake.settings import REPO_ROOT

    script = REPO_ROOT / "scripts" / "demo.py"
    if not script.exists():
        print("the demo needs a checkout of the repository (scripts/demo.py)", file=sys.stderr)
        return 1
    runpy.run_path(str(script), run_name="__main__")
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of every subcommand."""
    parser = argparse.ArgumentParser(prog="hotline111", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    serve = sub.add_parser("serve", help="API, webhooks, console and workers in one process")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8111)
    serve.set_defaults(func=cmd_serve)

    sub.add_parser("worker", help="only the background workers").set_defaults(func=cmd_worker)

    db = sub.add_parser("db", help="database maintenance")
    db_sub = db.add_subparsers(dest="db_command", required=True)
    db_sub.add_parser("upgrade", help="apply migrations").set_defaults(func=cmd_db_upgrade)

    user = sub.add_parser("user", help="users and roles")
    user_sub = user.add_subparsers(dest="user_command", required=True)
    create = user_sub.add_parser("create", help="create a user")
    create.add_argument("--username", required=True)
    create.add_argument(
        "--role",
        required=True,
        choices=["operator", "supervisor", "police", "social_worker", "admin", "partner"],
    )
    create.add_argument("--unit", default=None, help="unit id (police and social workers)")
    create.add_argument("--password-stdin", action="store_true")
    create.set_defaults(func=cmd_user_create)

    token = sub.add_parser("token", help="API tokens")
    token_sub = token.add_subparsers(dest="token_command", required=True)
    token_create = token_sub.add_parser("create", help="print a new bearer token")
    token_create.add_argument("--username", required=True)
    token_create.set_defaults(func=cmd_token_create)

    directory = sub.add_parser("directory", help="responsible units")
    directory_sub = directory.add_subparsers(dest="directory_command", required=True)
    importer = directory_sub.add_parser("import", help="load a directory CSV (or .csv.gz)")
    importer.add_argument("file", type=Path)
    importer.set_defaults(func=cmd_directory_import)

    route = sub.add_parser("route", help="routing")
    route_sub = route.add_subparsers(dest="route_command", required=True)
    explainer = route_sub.add_parser("explain", help="which rule sends an incident where")
    explainer.add_argument(
        "target",
        help="incident id, reference, or JSON "
        '{"level", "categories", "ward_code", "province_code"}',
    )
    explainer.set_defaults(func=cmd_route_explain)

    triage = sub.add_parser("triage", help="score JSON lines {id, text} (no database)")
    triage.add_argument("--jsonl", default=None, help="input file (default: stdin)")
    triage.set_defaults(func=cmd_triage)
    triage_sub = triage.add_subparsers(dest="triage_command")
    evaluate = triage_sub.add_parser("eval", help="evaluate the rules on a labelled file")
    evaluate.add_argument("file", type=Path)
    evaluate.set_defaults(func=cmd_triage_eval)
    feedback = triage_sub.add_parser("export-feedback", help="operators' level changes as JSONL")
    feedback.add_argument("--out", type=Path, default=None)
    feedback.set_defaults(func=cmd_export_feedback)

    report = sub.add_parser("report", help="the six-monthly / yearly statistics report")
    report.add_argument("--from", dest="date_from", required=True)
    report.add_argument("--to", dest="date_to", required=True)
    report.add_argument("--province", type=int, default=None)
    report.add_argument("--format", default="json", help="json,csv,xlsx")
    report.add_argument("--out", type=Path, default=None, help="file name (suffix per format)")
    report.add_argument(
        "--no-suppression", action="store_true", help="show counts under 5 (internal use only)"
    )
    report.set_defaults(func=cmd_report)

    search = sub.add_parser("search", help="the search index of incidents")
    search_sub = search.add_subparsers(dest="search_command", required=True)
    search_sub.add_parser(
        "reindex", help="index every incident (those stored before the index existed)"
    ).set_defaults(func=cmd_search_reindex)

    channels = sub.add_parser("channels", help="provider channels")
    channels_sub = channels.add_subparsers(dest="channels_command", required=True)
    channels_sub.add_parser("check", help="check each configured provider's credentials")
    channels_sub.add_parser("set-webhook", help="register the Telegram webhook and secret")
    channels.set_defaults(func=cmd_channels)

    demo = sub.add_parser("demo", help="sample tips through every channel (fake providers)")
    demo.set_defaults(func=cmd_demo)

    locate = sub.add_parser("locate", help="resolve JSON lines {id, text} to communes")
    locate.add_argument("--jsonl", default=None, help="input file (default: stdin)")
    locate.set_defaults(func=cmd_locate)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the `hotline111` console script."""
    args = build_parser().parse_args(argv)
    settings = Settings()
    _configure_logging(settings)
    code: int = args.func(args, settings)
    return code


if __name__ == "__main__":
    raise SystemExit(main())
