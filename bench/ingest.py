"""Ingest benchmark: POST /api/v1/tips against a bare FastAPI handler served the same way.

Both servers run as `uvicorn` subprocesses on 127.0.0.1 with one worker process; ours is
`hotline111 serve` as shipped, its pipeline running beside intake. For each database
(SQLite, and PostgreSQL when --postgres-url is given) it measures, in this order:
- latency at a steady rate: an asyncio client sending at --rate tips/s for --seconds,
  each latency counted from the scheduled send time (no coordinated omission);
- throughput: `wrk` (Debian package) closed loop, 16 connections, unique external ids, in
  --rounds rounds (bare then ours in each, every server started anew); the round of the
  median ratio is reported, with the ratio of every round: the host's speed drifts from
  one minute to the next, and the two servers of one round meet the same minute.
The database starts with 50,000 tips stored a month ago, and its statistics are taken
after the warm-up, as in a service that has been running for a while.
Results are printed as Markdown and written to docs/benchmarks/ingest.md.

    python bench/ingest.py --seconds 10 --rate 200 \
        --postgres-url postgresql+psycopg://postgres:pw@127.0.0.1:5432/postgres
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
from sqlalchemy import create_engine, insert, text
from sqlalchemy.engine import make_url

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bench.common import machine  # noqa: E402
from intake.store.auth import create_token, create_user  # noqa: E402
from intake.store.crypto import Cipher  # noqa: E402
from intake.store.db import Database  # noqa: E402
from intake.store.migrate import upgrade  # noqa: E402
from intake.store.models import InboxItem, Role  # noqa: E402
from tests.live import free_port, start_service  # noqa: E402

BENCH_KEY = "benchmark-secret-key-0123456789"
WARM_UP = 300  # tips sent one by one to each server before it is measured
STEADY_CONNECTIONS = 16  # keep-alive connections of the steady-rate client
HISTORY = 50_000  # inbox rows stored before the run
WRK_SCRIPT = """
local counter = 0
local prefix = os.getenv("BENCH_PREFIX")
local token = os.getenv("BENCH_TOKEN")
request = function()
  counter = counter + 1
  local body = '{"text": "em bi bo danh o xa Nhac Ky, Lang Son, cuu em", "external_id": "'
    .. prefix .. '-' .. counter .. '"}'
  return wrk.format("POST", "/api/v1/tips",
    {["Content-Type"] = "application/json", ["Authorization"] = "Bearer " .. token}, body)
end
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    '{"requests": %d, "duration_us": %d, "errors": %d, "non2xx": %d, '
    .. '"p50_us": %d, "p99_us": %d}\\n',
    summary.requests, summary.duration, e.connect + e.read + e.write + e.timeout, e.status,
    latency:percentile(50), latency:percentile(99)))
end
"""


def start_server(
    kind: str, database_url: str, var_dir: Path, pipeline: str
) -> tuple[subprocess.Popen[bytes], subprocess.Popen[bytes] | None, int]:
    port = free_port()
    env = {
        **os.environ,
        "HOTLINE_DATABASE_URL": database_url,
        "HOTLINE_SECRET_KEY": BENCH_KEY,
        "HOTLINE_VAR_DIR": str(var_dir),
        "HOTLINE_LOG_LEVEL": "WARNING",
    }
    companion = None
    if kind == "hotline111":
        # Intake (verify, store durably, answer) while the pipeline works through what came
        # in: inside `serve` as shipped, or in a `hotline111 worker` process beside it.
        command = [sys.executable, "-m", "intake.cli", "serve", "--port", str(port)]
        if pipeline != "serve":
            env["HOTLINE_RUN_WORKERS"] = "false"
        if pipeline == "worker":
            companion = subprocess.Popen(
                [sys.executable, "-m", "intake.cli", "worker"],
                cwd=REPO,
                env=env,
                stdout=subprocess.DEVNULL,
            )
    else:
        command = [
            sys.executable,
            "-m",
            "uvicorn",
            "bench.bare_app:app",
            "--port",
            str(port),
            "--log-level",
            "warning",
            "--no-access-log",
        ]
    return start_service(env, port, command=command), companion, port


def run_wrk(port: int, token: str, seconds: int, connections: int) -> dict[str, float]:
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write(WRK_SCRIPT)
    env = {**os.environ, "BENCH_TOKEN": token, "BENCH_PREFIX": uuid.uuid4().hex[:8]}
    result = subprocess.run(
        [
            "wrk",
            "-t1",
            f"-c{connections}",
            f"-d{seconds}s",
            "--latency",
            "-s",
            script.name,
            f"http://127.0.0.1:{port}",
        ],
        env=env,
        capture_output=True,
        text=True,
        check=True,
        timeout=seconds + 60,
    )
    os.unlink(script.name)
    line = next(ln for ln in result.stdout.splitlines() if ln.startswith("{"))
    data = json.loads(line)
    return {
        "tips_per_s": data["requests"] / (data["duration_us"] / 1e6),
        "p50_ms": data["p50_us"] / 1000,
        "p99_ms": data["p99_us"] / 1000,
        "errors": data["errors"] + data["non2xx"],
    }


def warm_up(port: int, token: str, count: int = WARM_UP) -> None:
    """A few hundred tips one after another before measuring: caches, compiled statements
    and connections are ready, as in a service that has been running."""
    headers = {"Authorization": f"Bearer {token}"}
    prefix = uuid.uuid4().hex[:8]
    with httpx.Client(base_url=f"http://127.0.0.1:{port}", headers=headers, timeout=10) as client:
        for n in range(count):
            client.post("/api/v1/tips", json={"text": "warm up", "external_id": f"{prefix}-{n}"})


def analyze(database_url: str) -> None:
    """Table statistics, as autovacuum keeps them in a service that has been running. The
    database is new: without them PostgreSQL plans the lookups of the growing inbox as
    scans of a table it believes empty, and keeps those plans for the whole run."""
    engine = create_engine(database_url, isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        connection.execute(text("ANALYZE"))
    engine.dispose()


async def steady_rate(port: int, token: str, rate: int, seconds: int) -> dict[str, float]:
    """Send at a fixed rate; latency is measured from each request's scheduled time (a
    request waiting for a free connection is late from then on: no coordinated omission).

    The client speaks HTTP/1.1 on asyncio streams over keep-alive connections: each
    request is a few bytes to write and a status line and headers to read. With httpx the
    client itself cost a few milliseconds of CPU per request on a slow host, and at
    200 requests/s its own loop fell behind: the bare handler's p99 reached 290 ms.
    """
    latencies: list[float] = []
    errors = 0
    prefix = uuid.uuid4().hex[:8]
    idle: asyncio.Queue[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = asyncio.Queue()
    for _ in range(STEADY_CONNECTIONS):
        idle.put_nowait(await asyncio.open_connection("127.0.0.1", port))

    async def one(n: int, scheduled: float) -> None:
        nonlocal errors
        body = json.dumps(
            {"text": "em bi bo danh o xa Nhac Ky, Lang Son", "external_id": f"{prefix}-{n}"}
        ).encode()
        head = (
            f"POST /api/v1/tips HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
            f"Authorization: Bearer {token}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\n\r\n"
        ).encode()
        reader, writer = await idle.get()
        try:
            writer.write(head + body)
            status = int((await reader.readline()).split()[1])
            length = 0
            while (line := await reader.readline()) not in (b"\r\n", b""):
                name, _, value = line.partition(b":")
                if name.strip().lower() == b"content-length":
                    length = int(value)
            await reader.readexactly(length)
            if status >= 300:
                errors += 1
        except (OSError, ValueError, IndexError, asyncio.IncompleteReadError):
            errors += 1
            writer.close()
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
        latencies.append((time.perf_counter() - scheduled) * 1000)
        idle.put_nowait((reader, writer))

    start = time.perf_counter()
    pending = set()
    for n in range(rate * seconds):
        scheduled = start + n / rate
        delay = scheduled - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        task = asyncio.create_task(one(n, scheduled))
        pending.add(task)
        task.add_done_callback(pending.discard)
    await asyncio.gather(*pending)
    while not idle.empty():
        idle.get_nowait()[1].close()
    latencies.sort()
    return {
        "p50_ms": statistics.median(latencies),
        "p99_ms": latencies[int(len(latencies) * 0.99) - 1],
        "errors": errors,
    }


def prepare_database(backend: str, postgres_url: str | None, workdir: Path) -> str:
    if backend == "sqlite":
        url = f"sqlite:///{workdir / 'bench.db'}"
    else:
        assert postgres_url
        name = f"hotline111_bench_{uuid.uuid4().hex[:8]}"
        admin = create_engine(postgres_url, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f"CREATE DATABASE {name}"))
        admin.dispose()
        url = make_url(postgres_url).set(database=name).render_as_string(hide_password=False)
    upgrade(url)
    seed_history(url, HISTORY)
    return url


def seed_history(database_url: str, rows: int) -> None:
    """An inbox with a past, as in a service that has been running: `rows` tips already
    stored and ingested a month ago. Lookups then meet a table of realistic size, and the
    planner's statistics (taken after the warm-up) describe it."""
    received = datetime.now(UTC) - timedelta(days=30)
    # Encrypted as the service stores it (one value for all: its start checks the key on one).
    stored = Cipher(BENCH_KEY).encrypt("history")
    engine = create_engine(database_url)
    with engine.begin() as connection:
        for start in range(0, rows, 5000):
            connection.execute(
                insert(InboxItem.__table__),
                [
                    {
                        "channel": "api",
                        "provider_message_id": f"history-{n}",
                        "received_at": received,
                        "state": "ingested",
                        "message": stored,
                    }
                    for n in range(start, min(rows, start + 5000))
                ],
            )
    engine.dispose()


def partner_token(database_url: str) -> str:
    db = Database(database_url)
    with db.writer() as session:
        create_user(session=session, username="bench", role=Role.PARTNER, password="b" * 12)
        token = create_token(session=session, username="bench")
    db.dispose()
    return token


def measure(
    kind: str,
    url: str,
    token: str,
    workdir: Path,
    args: argparse.Namespace,
    at_rate: tuple[int, int] | None,
) -> tuple[dict[str, float], dict[str, float] | None]:
    """Start one server, warm it up, measure (the steady rate if asked, then wrk), stop it."""
    process, companion, port = start_server(kind, url, workdir / "var", args.pipeline)
    try:
        warm_up(port, token)
        analyze(url)
        steady = asyncio.run(steady_rate(port, token, *at_rate)) if at_rate else None
        return run_wrk(port, token, args.seconds, args.connections), steady
    finally:
        for running in (process, companion):
            if running is not None:
                running.terminate()
                running.wait(30)


def table_row(
    backend: str, rounds: list[dict[str, dict[str, float]]], steady: dict[str, dict[str, float]]
) -> str:
    """One database's line: the round of the median ratio, every round's ratio in brackets."""
    ratios = [r["hotline111"]["tips_per_s"] / r["bare"]["tips_per_s"] for r in rounds]
    middle = sorted(range(len(rounds)), key=lambda n: ratios[n])[len(rounds) // 2]
    bare, ours = rounds[middle]["bare"], rounds[middle]["hotline111"]
    each = ", ".join(f"{ratio:.0%}" for ratio in ratios)
    errors = sum(r["hotline111"]["errors"] for r in rounds) + steady["hotline111"]["errors"]
    return (
        f"| {backend} | {bare['tips_per_s']:.0f} | {ours['tips_per_s']:.0f} | "
        f"{ratios[middle]:.0%} ({each}) | "
        f"{ours['p50_ms']:.1f} / {ours['p99_ms']:.1f} | "
        f"{steady['bare']['p50_ms']:.1f} / {steady['bare']['p99_ms']:.1f} | "
        f"{steady['hotline111']['p50_ms']:.1f} / {steady['hotline111']['p99_ms']:.1f} | "
        f"{int(errors)} |"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--rate", type=int, default=200)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument(
        "--rounds",
        type=int,
        default=5,
        help="closed-loop rounds, bare then hotline111 in each; the round of the median "
        "ratio is reported (the host's speed drifts between minutes)",
    )
    parser.add_argument(
        "--pipeline",
        choices=["serve", "worker", "none"],
        default="worker",
        help="where the pipeline runs: inside serve, in a worker process beside it, or "
        "nowhere (intake alone, as in a burst the pipeline catches up with afterwards)",
    )
    parser.add_argument("--postgres-url", default=os.environ.get("HOTLINE_TEST_POSTGRES_URL"))
    parser.add_argument("--out", type=Path, default=REPO / "docs" / "benchmarks" / "ingest.md")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        sys.exit("wrk is needed: apt-get install wrk")
    backends = ["sqlite"] + (["postgresql"] if args.postgres_url else [])
    rows = []
    for backend in backends:
        with tempfile.TemporaryDirectory() as tmp:
            workdir = Path(tmp)
            url = prepare_database(backend, args.postgres_url, workdir)
            token = partner_token(url)
            steady: dict[str, dict[str, float]] = {}
            rounds: list[dict[str, dict[str, float]]] = []
            for number in range(args.rounds):
                measured = {}
                for kind in ("bare", "hotline111"):
                    # The steady rate in the first round only, before any closed loop: that
                    # leaves a backlog behind it.
                    at_rate = None if number else (args.rate, args.seconds)
                    measured[kind], latency = measure(kind, url, token, workdir, args, at_rate)
                    if latency is not None:
                        steady[kind] = latency
                rounds.append(measured)
            rows.append(table_row(backend, rounds, steady))
    report = "\n".join(
        [
            "## Ingest: POST /api/v1/tips",
            "",
            f"{machine()}.",
            f"`python bench/ingest.py --seconds {args.seconds} --rate {args.rate}"
            f" --pipeline {args.pipeline} --rounds {args.rounds}`"
            " (steady rate"
            f" {args.rate} tips/s first, then wrk closed loop with {args.connections} connections"
            f" in {args.rounds} rounds, bare then hotline111 in each, each server started anew;"
            " the tips/s and closed-loop latencies are those of the round of the median ratio,"
            " the ratio of every round in brackets;"
            + {
                "worker": " the pipeline in a `hotline111 worker` process beside `serve`;",
                "serve": " the pipeline running inside `serve`;",
                "none": " intake alone, no pipeline running;",
            }[args.pipeline]
            + " every tip committed before its answer, SQLite with synchronous=FULL, in group"
            " commits).",
            "",
            "| database | bare tips/s | hotline111 tips/s | ratio (each round) |"
            " hotline111 p50/p99 ms (closed loop) | bare p50/p99 ms at rate |"
            " hotline111 p50/p99 ms at rate | errors |",
            "|---|---|---|---|---|---|---|---|",
            *rows,
            "",
        ]
    )
    print(report)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(report)


if __name__ == "__main__":
    main()
