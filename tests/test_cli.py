"""The command line as a newcomer meets it: --help describes every option, and bad input
gets one line on stderr and exit status 2, never a traceback."""

from __future__ import annotations

import argparse
import io
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from intake.cli import build_parser, main

REPO = Path(__file__).resolve().parents[1]
SAMPLE = REPO / "config" / "directory" / "sample.csv"
HEADER = SAMPLE.read_text(encoding="utf-8").splitlines()[0]


def _commands(
    parser: argparse.ArgumentParser, path: tuple[str, ...] = ()
) -> Iterator[tuple[tuple[str, ...], argparse.ArgumentParser]]:
    """Every parser of the tree with the words that reach it."""
    yield path, parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, child in action.choices.items():
                yield from _commands(child, (*path, name))


COMMANDS = list(_commands(build_parser()))


@pytest.mark.parametrize(
    ("path", "parser"), COMMANDS, ids=[" ".join(p) or "-" for p, _ in COMMANDS]
)
def test_every_command_and_option_is_described(path, parser) -> None:  # type: ignore[no-untyped-def]
    assert parser.description, path
    for action in parser._actions:
        if isinstance(action, argparse._HelpAction):
            continue
        if isinstance(action, argparse._SubParsersAction):
            assert all(c.help for c in action._choices_actions), path
            continue
        assert action.help and action.help != argparse.SUPPRESS, (path, action.dest)


def test_help_shows_defaults_and_the_directory_format(capsys) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(SystemExit) as exit_:
        main(["serve", "--help"])
    assert exit_.value.code == 0
    out = capsys.readouterr().out
    assert "(default: 8111)" in out and "HOTLINE_PUBLIC_BASE_URL" in out
    with pytest.raises(SystemExit):
        main(["directory", "import", "--help"])
    out = capsys.readouterr().out
    assert HEADER in out and "commune_police" in out and "hotline_supervisor" in out


@pytest.fixture
def env(monkeypatch, tmp_path):  # type: ignore[no-untyped-def]
    """A throw-away SQLite database and var dir."""
    monkeypatch.setenv("HOTLINE_DATABASE_URL", f"sqlite:///{tmp_path / 'cli.db'}")
    monkeypatch.setenv("HOTLINE_VAR_DIR", str(tmp_path / "var"))
    monkeypatch.delenv("HOTLINE_PUBLIC_BASE_URL", raising=False)
    monkeypatch.setattr("sys.stdin", io.StringIO("a-long-password\n"))
    return tmp_path


def _csv(tmp_path: Path, *rows: str, header: str = HEADER) -> str:
    path = tmp_path / f"units-{len(list(tmp_path.glob('units-*')))}.csv"
    path.write_text("\n".join([header, *rows]) + "\n", encoding="utf-8")
    return str(path)


def _bad_inputs(tmp: Path) -> list[tuple[list[str], str]]:
    """(argv, words the error must carry): a missing file, a malformed row, an unknown value
    for each command that reads one."""
    missing = str(tmp / "missing.csv")
    return [
        (["directory", "import", missing], "no such file"),
        (["directory", "import", _csv(tmp, "u1,fire_brigade,X,20,,,,,")], "valid: commune_police"),
        (["directory", "import", _csv(tmp, "u1,commune_police,X,20,99999,1,,,")], "ward_code"),
        (["directory", "import", _csv(tmp, header="unit_id;kind")], "header lacks"),
        (["triage", "--jsonl", missing], "no such file"),
        (["triage", "eval", missing], "no such file"),
        (["locate", "--jsonl", missing], "no such file"),
        (["triage", "export-feedback", "--out", str(tmp / "no" / "dir.jsonl")], "no" + "/dir"),
        (["user", "create", "--username", "a", "--role", "chief", "--password-stdin"], "chief"),
        (["user", "create", "--username", "a", "--role", "police", "--password-stdin"], "--unit"),
        (["user", "disable", "--username", "nobody"], "no user 'nobody'"),
        (["user", "set-role", "--username", "nobody", "--role", "admin"], "no user"),
        (["user", "set-password", "--username", "nobody", "--password-stdin"], "no user"),
        (["user", "unlock", "--username", "nobody"], "no user"),
        (["token", "create", "--username", "nobody"], "no user"),
        (["token", "revoke", "12"], "no token with id 12"),
        (["token", "revoke", "twelve"], "invalid int"),
        (["report", "--from", "2026-13-01", "--to", "2026-06-15"], "YYYY-MM-DD"),
        (["report", "--from", "2026-01-01", "--to", "2026-06-15", "--format", "pdf"], "pdf"),
        (["route", "explain", '{"level": "P1",'], "not valid JSON"),
        (["route", "explain", "111-XX-0000"], "no incident"),
        (["serve", "--port", "eighty"], "invalid int"),
        (["teleport"], "invalid choice"),
    ]


def test_bad_input_gets_one_line_and_exit_2(env, capsys, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    for argv, words in _bad_inputs(env):
        monkeypatch.setattr("sys.stdin", io.StringIO("a-long-password\n"))
        capsys.readouterr()
        try:
            code = main(argv)
        except SystemExit as exit_:  # argparse's usage errors
            code = exit_.code
        err = capsys.readouterr().err
        assert code == 2, (argv, err)
        assert len(err.strip().splitlines()) == 1, (argv, err)
        assert words in err and "Traceback" not in err, (argv, err)


def test_several_bad_rows_are_each_named_and_nothing_loads(env, capsys) -> None:  # type: ignore[no-untyped-def]
    path = _csv(env, "u1,fire_brigade,X,20,,,,,", "u2,commune_police,Y,20,6172,1,,,", "u3,,Z,,,,,,")
    assert main(["directory", "import", path]) == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert [re.search(r"\.csv:(\d+):", line)[1] for line in lines[:2]] == ["2", "4"]  # type: ignore[index]
    assert "nothing was loaded" in lines[-1]
    assert main(["user", "list"]) == 0  # the database exists, and holds no unit
    assert main(["directory", "import", str(SAMPLE), "--check"]) == 0
    assert "loaded 6 units" in capsys.readouterr().out


def test_bad_settings_and_databases_are_one_line(env, monkeypatch, capsys) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("HOTLINE_MAX_BODY_BYTES", "a lot")
    assert main(["db", "upgrade"]) == 2
    assert capsys.readouterr().err.count("\n") == 1
    monkeypatch.delenv("HOTLINE_MAX_BODY_BYTES")
    monkeypatch.setenv("HOTLINE_DATABASE_URL", "nosuchdb://x")
    assert main(["db", "upgrade"]) == 2
    assert "HOTLINE_DATABASE_URL" in capsys.readouterr().err
    monkeypatch.setenv("HOTLINE_DATABASE_URL", "postgresql+psycopg://u:p@127.0.0.1:1/none")
    assert main(["user", "list"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "database is not usable" in err and ":p@" not in err


def test_a_missing_file_in_a_real_process_prints_no_traceback(tmp_path) -> None:  # type: ignore[no-untyped-def]
    done = subprocess.run(
        [sys.executable, "-m", "intake.cli", "directory", "import", str(tmp_path / "units.csv")],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        env={"PATH": "/usr/bin:/bin", "HOTLINE_VAR_DIR": str(tmp_path)},
        check=False,
    )
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        f"hotline111: error: no such file: {tmp_path / 'units.csv'} "
        "(the format: directory import --help)"
    ]


def test_accounts_from_the_command_line(env, capsys) -> None:  # type: ignore[no-untyped-def]
    assert main(["directory", "import", str(SAMPLE)]) == 0
    assert (
        main(["user", "create", "--username", "lan", "--role", "operator", "--password-stdin"]) == 0
    )
    assert (
        main(
            [
                "user",
                "set-role",
                "--username",
                "lan",
                "--role",
                "police",
                "--unit",
                "sample-cp-6172",
            ]
        )
        == 0
    )
    assert main(["user", "disable", "--username", "lan"]) == 0
    capsys.readouterr()
    assert main(["user", "list"]) == 0
    assert capsys.readouterr().out.split() == ["lan", "police", "sample-cp-6172", "disabled"]
    assert main(["user", "enable", "--username", "lan"]) == 0
    assert main(["token", "create", "--username", "lan"]) == 0
    assert main(["token", "create", "--username", "lan"]) == 0
    assert main(["token", "revoke", "1"]) == 0
    capsys.readouterr()
    assert main(["token", "list", "--username", "lan"]) == 0
    rows = [line.split("\t") for line in capsys.readouterr().out.splitlines()]
    assert [(r[0], r[1], r[3]) for r in rows] == [("1", "lan", "revoked"), ("2", "lan", "active")]
