"""Running the hotline: `directory import`, `route explain`, `report` and `channels`."""

from __future__ import annotations

import argparse
import json
import sys
import textwrap
from pathlib import Path

from intake.commands.common import DescribedFormatter, database, fail, say, services
from intake.settings import Settings


def cmd_directory_import(args: argparse.Namespace, settings: Settings) -> int:
    """Load a directory CSV: all rows or, when any row is bad, none."""
    from intake.store.directory import read_directory, save_units
    from routing.directory import render_import_report
    from routing.geography import load_geography

    if not args.file.is_file():
        fail(f"no such file: {args.file} (the format: directory import --help)")
    try:
        result = read_directory(args.file, load_geography(settings.config_dir / "geography"))
    except ValueError as exc:  # not UTF-8, or not gzip
        fail(str(exc))
    rows = [
        f"{args.file}:{r.line}:{f' unit {r.unit_id}:' if r.unit_id else ''} {r.reason}"
        for r in result.rejected
    ]
    if len(rows) == 1:
        fail(f"{rows[0]} (nothing was loaded)")
    if rows:
        for row in rows:
            print(f"hotline111: error: {row}", file=sys.stderr)
        fail(f"{len(rows)} bad rows in {args.file}: nothing was loaded (fix them, import again)")
    if args.check:
        say(render_import_report(result) + " (checked only: nothing was loaded)")
        return 0
    db, _ = database(settings)
    with db.writer() as session:
        save_units(session=session, units=result.units)
    say(render_import_report(result))
    return 0


def cmd_route_explain(args: argparse.Namespace, settings: Settings) -> int:
    """Print which rule sends an incident (or a described one) to which units."""
    from intake.pipeline.route import plan_for
    from intake.store.models import Incident
    from routing.plan import explain

    built = services(settings)
    with built.db.reader() as session:
        if args.target.isdigit():
            incident = session.get(Incident, int(args.target))
        elif args.target.lstrip().startswith("{"):
            try:
                data = json.loads(args.target)
            except json.JSONDecodeError as exc:
                fail(f"the target is not valid JSON ({exc.msg}, column {exc.colno})")
            if not isinstance(data, dict):
                fail("the JSON target must be an object")
            incident = Incident(
                level=data.get("level"),
                categories=list(data.get("categories") or []),
                ward_code=data.get("ward_code"),
                province_code=data.get("province_code"),
            )
        else:
            incident = session.query(Incident).filter_by(reference=args.target).first()
        if incident is None:
            fail(f"no incident {args.target!r}")
        say(explain(plan_for(session, built, incident)))
    return 0


def cmd_report(args: argparse.Namespace, settings: Settings) -> int:
    """Write the statistics report in the asked formats."""
    from datetime import date

    from intake.reports import build_report, write_report

    try:
        start, end = date.fromisoformat(args.date_from), date.fromisoformat(args.date_to)
    except ValueError as exc:
        fail(f"dates are YYYY-MM-DD ({exc})")
    formats = [f.strip() for f in args.format.split(",") if f.strip()]
    unknown = sorted(set(formats) - {"json", "csv", "xlsx"})
    if unknown:
        fail(f"unknown format {', '.join(unknown)} (valid: json, csv, xlsx)")
    db, _ = database(settings)
    with db.reader() as session:
        report = build_report(session, date_from=start, date_to=end, province_code=args.province)
    out = args.out or Path(f"report-{start}-{end}")
    written = write_report(
        report, formats=formats, out=out, suppress_below=0 if args.no_suppression else 5
    )
    for path in written:
        say(str(path))
    return 0


def cmd_channels(args: argparse.Namespace, settings: Settings) -> int:
    """Check the configured providers' credentials, or register the Telegram webhook."""
    import asyncio

    from channels.base import ChannelError
    from channels.registry import spec_of
    from intake.services import build_services

    built = build_services(settings)
    base = settings.public_base_url.rstrip("/")

    async def run() -> int:
        failures = 0
        for channel, adapter in built.adapters.items():
            try:
                if args.channels_command == "set-webhook":
                    register_webhook = spec_of(channel).set_webhook
                    if register_webhook is not None:
                        say(f"{channel}: webhook set to {await register_webhook(adapter, base)}")
                    continue
                await adapter.check_credentials()
                say(f"{channel}: credentials work")
            except ChannelError as exc:
                failures += 1
                print(f"{channel}: {exc}", file=sys.stderr)
        if not built.adapters:
            say("no provider channel is configured (see README, Configuration)")
        elif args.channels_command == "set-webhook":
            say(f"webhooks set in a provider's own console go to {base}/webhooks/...")
        for adapter in built.adapters.values():
            await adapter.aclose()
        return 1 if failures else 0

    return asyncio.run(run())


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Add directory, route, report and channels."""
    from routing.directory import FORMAT

    directory = sub.add_parser(
        "directory",
        help="responsible units",
        description="The directory of units that receive alerts.",
    )
    directory_sub = directory.add_subparsers(
        dest="directory_command", required=True, metavar="COMMAND"
    )
    importer = directory_sub.add_parser(
        "import",
        help="load a directory CSV (or .csv.gz)",
        description=textwrap.fill(
            "Load units from a CSV, updating those with the same unit_id. Every row is "
            "checked first; if any is bad, each bad row is printed (file:line: reason), "
            "nothing is loaded and the exit status is 2.",
            width=88,
        )
        + "\n\n"
        + FORMAT,
        formatter_class=DescribedFormatter,
    )
    importer.add_argument("file", type=Path, help="the CSV (or .csv.gz) file")
    importer.add_argument("--check", action="store_true", help="only check the file; load nothing")
    importer.set_defaults(func=cmd_directory_import)

    route = sub.add_parser("route", help="routing", description="Routing of incidents.")
    route_sub = route.add_subparsers(dest="route_command", required=True, metavar="COMMAND")
    explainer = route_sub.add_parser(
        "explain",
        help="which rule sends an incident where",
        description="Print the routing policy's decision for an incident: the units alerted, "
        "the rule that chose each, and the escalation times.",
    )
    explainer.add_argument(
        "target",
        help="incident id, reference, or JSON "
        '{"level", "categories", "ward_code", "province_code"}',
    )
    explainer.set_defaults(func=cmd_route_explain)

    report = sub.add_parser(
        "report",
        help="the six-monthly / yearly statistics report",
        description="Counts of tips and incidents by channel, level, category, province and "
        "outcome over a period. Counts under 5 are suppressed, so that no child can be "
        "singled out.",
    )
    report.add_argument("--from", dest="date_from", required=True, help="first day, YYYY-MM-DD")
    report.add_argument("--to", dest="date_to", required=True, help="last day, YYYY-MM-DD")
    report.add_argument("--province", type=int, default=None, help="only this province code")
    report.add_argument("--format", default="json", help="comma-separated: json, csv, xlsx")
    report.add_argument(
        "--out",
        type=Path,
        default=None,
        help="file name without suffix (one file per format); default report-FROM-TO",
    )
    report.add_argument(
        "--no-suppression", action="store_true", help="show counts under 5 (internal use only)"
    )
    report.set_defaults(func=cmd_report)

    channels = sub.add_parser(
        "channels",
        help="provider channels",
        description="The provider channels whose credentials are configured.",
    )
    channels_sub = channels.add_subparsers(
        dest="channels_command", required=True, metavar="COMMAND"
    )
    channels_sub.add_parser(
        "check",
        help="check each configured provider's credentials",
        description="Call each configured provider with its credentials; exit 1 if any fails.",
    )
    channels_sub.add_parser(
        "set-webhook",
        help="register the webhooks the providers' APIs can set",
        description="Register webhook URLs (under HOTLINE_PUBLIC_BASE_URL) with the providers "
        "whose API can set them (Telegram, with its secret token); the others are set in "
        "the provider's own console.",
    )
    channels.set_defaults(func=cmd_channels)
