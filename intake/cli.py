"""The `hotline111` command line: one module per command group in `intake/commands/`.

Bad input a person can fix (a missing file, a bad row, an unknown value, a bad setting)
is answered with one line on stderr and exit status 2. Anything else is a bug: the
traceback is shown, with a line asking to report it, and the exit status is 1.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any, TextIO

from intake.commands import accounts, keys, maintenance, operations, service
from intake.commands.common import CommandError, Parser, configure_logging, database
from intake.settings import Settings


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
    """The JSON lines to read: a file, or standard input for none or "-"."""
    return sys.stdin if path in (None, "-") else open(path, encoding="utf-8")  # noqa: SIM115


def _print_json(data: object) -> None:
    sys.stdout.write(json.dumps(data, ensure_ascii=False) + "\n")


def cmd_triage(args: argparse.Namespace, settings: Settings) -> int:
    from triage import classify, load_rules

    rules = load_rules(settings.config_dir / "triage")
    with _open_input(args.jsonl) as stream:
        for record in _json_lines(stream):
            result = classify(str(record.get("text", "")), rules=rules)
            _print_json(result.to_json(record.get("id"), lang=args.lang))
    return 0


def cmd_triage_eval(args: argparse.Namespace, settings: Settings) -> int:
    from triage import load_rules
    from triage.corpus import split
    from triage.eval import evaluate, render_report

    rules = load_rules(settings.config_dir / "triage", model=not args.no_model)
    records = split(args.file, args.split)
    print(f"files: {', '.join(str(f) for f in args.file)}; part: {args.split}")
    print(render_report(evaluate(records, rules=rules), worst=args.worst))
    return 0


def cmd_triage_train(args: argparse.Namespace, settings: Settings) -> int:
    from triage import load_rules
    from triage.corpus import read_jsonl, split

    try:
        from triage.train import cross_validate, export, fit
    except ImportError as exc:
        raise CommandError("triage train needs scikit-learn: pip install -e '.[train]'") from exc
    rules = load_rules(settings.config_dir / "triage", model=False)
    files = sorted(args.data.glob("*.jsonl")) if args.data.is_dir() else [args.data]
    records = split(files, "tuned")  # the untouched part never trains the shipped model
    for feedback in args.feedback:
        records += list(read_jsonl(feedback))
    if len(records) < 20:
        raise CommandError(f"only {len(records)} labelled tips: too few to train")
    teencode = rules.index.teencode
    print(f"training on {len(records)} tips ({len(args.feedback)} feedback files)")
    figures = cross_validate(records, teencode, folds=args.folds) if args.folds > 1 else {}
    for key, value in figures.items():
        print(f"  cross-validated {key}: {value}")
    vectorizer, heads = fit(records, teencode)
    document = export(vectorizer, heads, len(records), figures)
    out = args.out or settings.config_dir / "triage" / "model.json"
    out.write_text(json.dumps(document, separators=(",", ":")) + "\n", encoding="utf-8")
    print(f"wrote {out} ({len(document['vocabulary'])} features)")
    return 0


def cmd_export_feedback(args: argparse.Namespace, settings: Settings) -> int:
    from intake.pipeline.feedback import export_feedback
    from routing.policy import load_recipients

    recipients = load_recipients(settings.config_dir / "routing" / "recipients.yaml")
    db, _ = database(settings)
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


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of every subcommand."""
    parser = Parser(
        prog="hotline111",
        description="Intake and triage for hotline 111. Settings come from the environment "
        "(HOTLINE_*, see the README); `hotline111 COMMAND --help` describes each command.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    service.register(sub)
    accounts.register(sub)
    operations.register(sub)
    maintenance.register(sub)
    keys.register(sub)

    triage = sub.add_parser(
        "triage",
        help="score JSON lines {id, text} (no database)",
        description="Score tips with the rules in config/triage/: one JSON object "
        '{"id", "text"} a line in, one result (level, categories, reasons) a line out.',
    )
    triage.add_argument("--jsonl", default=None, help="input file (default or -: stdin)")
    triage.add_argument(
        "--lang", choices=["vi", "en"], default="vi", help="language of the reasons' sentences"
    )
    triage.set_defaults(func=cmd_triage)
    triage_sub = triage.add_subparsers(dest="triage_command")
    evaluate = triage_sub.add_parser(
        "eval",
        help="evaluate triage on labelled files",
        description="Score labelled sets and print recall, precision and accuracy by level "
        "and the worst misses first, e.g. tests/data/triage/tips_dev.jsonl.",
    )
    evaluate.add_argument(
        "file", type=Path, nargs="+", help="JSON lines {id, text, expected: {level, ...}}"
    )
    evaluate.add_argument(
        "--split",
        choices=["all", "tuned", "untouched"],
        default="all",
        help="untouched: the fifth of train_*.jsonl tips nothing is tuned on",
    )
    evaluate.add_argument("--no-model", action="store_true", help="rules and concepts only")
    evaluate.add_argument("--worst", type=int, default=10, help="misses to list")
    evaluate.set_defaults(func=cmd_triage_eval)
    train = triage_sub.add_parser(
        "train",
        help="rebuild the model's weights (needs the [train] extra)",
        description="Train the second opinion's weights on the tuned part of the labelled "
        "corpus plus operators' corrections (export-feedback files); print cross-validated "
        "figures and write config/triage/model.json.",
    )
    train.add_argument(
        "--data", type=Path, default=Path("tests/data/triage"), help="labelled corpus"
    )
    train.add_argument(
        "--feedback", type=Path, action="append", default=[], help="export-feedback file"
    )
    train.add_argument("--folds", type=int, default=5, help="cross-validation folds (0: none)")
    train.add_argument("--out", type=Path, default=None, help="default: config/triage/model.json")
    train.set_defaults(func=cmd_triage_train)
    feedback = triage_sub.add_parser(
        "export-feedback",
        help="operators' level changes as JSONL",
        description="The incidents whose level an operator changed, with the reason, as "
        "labelled JSON lines.",
    )
    feedback.add_argument("--out", type=Path, default=None, help="output file (default: stdout)")
    feedback.set_defaults(func=cmd_export_feedback)

    locate = sub.add_parser(
        "locate",
        help="resolve JSON lines {id, text} to communes",
        description="Resolve places in tips to 2025 communes: one JSON object "
        '{"id", "text", optional "latitude", "longitude"} a line in, one result a line out.',
    )
    locate.add_argument("--jsonl", default=None, help="input file (default or -: stdin)")
    locate.set_defaults(func=cmd_locate)
    return parser


def _expected_errors() -> tuple[type[BaseException], ...]:
    """The errors that mean bad input or a bad setting, not a bug."""
    from pydantic import ValidationError
    from sqlalchemy.exc import ArgumentError, OperationalError

    from intake.store.auth import UserError
    from intake.store.keys import KeyProblem
    from routing.plan import RoutingPolicyError
    from routing.policy import PolicyError
    from triage.rules import RuleError

    return (
        CommandError,
        KeyProblem,
        UserError,
        RuleError,
        RoutingPolicyError,
        PolicyError,
        OSError,
        UnicodeDecodeError,
        ValidationError,
        OperationalError,
        ArgumentError,
    )


def _one_line(exc: BaseException) -> str:
    """The error as one line a person can act on."""
    from pydantic import ValidationError
    from sqlalchemy.exc import ArgumentError, OperationalError

    if isinstance(exc, ValidationError):
        problems = [
            f"{'.'.join(str(part) for part in error['loc']) or 'setting'}: {error['msg']}"
            for error in exc.errors()
        ]
        return "bad setting: " + "; ".join(problems)
    if isinstance(exc, ArgumentError):
        return f"bad HOTLINE_DATABASE_URL: {exc}"
    if isinstance(exc, OperationalError):
        return f"the database is not usable: {str(exc.orig).strip().splitlines()[0]}"
    if isinstance(exc, FileNotFoundError):
        return f"no such file: {exc.filename}"
    if isinstance(exc, OSError) and exc.filename:
        return f"{exc.filename}: {exc.strerror}"
    if isinstance(exc, UnicodeDecodeError):
        return f"the input is not UTF-8 text ({exc.reason} at byte {exc.start})"
    return " ".join(str(exc).split())


def main(argv: list[str] | None = None) -> int:
    """Entry point of the `hotline111` console script."""
    args = build_parser().parse_args(argv)
    expected = _expected_errors()
    try:
        settings = Settings()
        configure_logging(settings)
        code: int = args.func(args, settings)
    except expected as exc:
        print(f"hotline111: error: {_one_line(exc)}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    except Exception:
        import traceback

        traceback.print_exc()
        print(
            "hotline111: unexpected error: this is a bug; please report it with the lines "
            "above (they hold no message text or phone numbers)",
            file=sys.stderr,
        )
        return 1
    return code


if __name__ == "__main__":
    raise SystemExit(main())
