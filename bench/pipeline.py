"""Pipeline latency: from a tip accepted (2xx) to its alert handed to the provider.

    python bench/pipeline.py --rate 100 --seconds 60 [--workers 1] [--pipeline worker]
        [--postgres-url URL]

Starts a fake Telegram Bot API in a process of its own and `hotline111 serve` (SQLite, or a new
PostgreSQL database on the server --postgres-url names, either made as bench/ingest.py makes
it, with 50,000 tips stored before; Telegram pointed at the fake, the
demo directory loaded) plus `--workers` extra `hotline111 worker` processes, posts located
P1 tips through the partner API at a steady rate, and records when the fake receives each
alert. Everything runs on 127.0.0.1, for a bounded
count and time. Writes docs/benchmarks/pipeline.md.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import aiohttp
import httpx
import uvicorn

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bench.common import machine, percentile  # noqa: E402
from bench.ingest import prepare_database  # noqa: E402
from intake.store.auth import create_token, create_user  # noqa: E402
from intake.store.db import Database  # noqa: E402
from intake.store.models import Role  # noqa: E402
from tests.fakes.server import Recorder  # noqa: E402
from tests.fakes.telegram import telegram_app  # noqa: E402
from tests.live import free_port, import_demo_directory, start_service, stop  # noqa: E402

TOKEN, SECRET = "555:BENCH", "bench_secret"
TIP = "cuu em, bo em dang danh em. em o xa Thieu Trung, Thanh Hoa. tin {n}"


class TimedRecorder(Recorder):
    """Notes when each alert arrives, by the tip number in its text."""

    def __init__(self) -> None:
        super().__init__()
        self.arrived: dict[int, float] = {}

    def record(self, **call: object) -> None:
        super().record(**call)
        text = str(call.get("text", ""))
        if "tin " in text and call.get("method") == "sendMessage":
            number = text.split("tin ", 1)[1].split()[0].strip(".")
            if number.isdigit():
                self.arrived.setdefault(int(number), time.perf_counter())


def fake_telegram(port: int) -> None:
    """The fake Bot API, in a process of its own (`--fake PORT`): its work must not slow
    down the client's clock or be slowed by it. GET /arrivals gives what it noted."""
    recorder = TimedRecorder()
    app = telegram_app(recorder, TOKEN)
    app.add_api_route("/arrivals", lambda: recorder.arrived, methods=["GET"])
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)


async def post_tips(port: int, token: str, rate: int, seconds: int) -> dict[int, float]:
    """The steady load. aiohttp: a load generator must cost little next to what it loads
    (httpx spends about a millisecond of CPU per request here)."""
    accepted: dict[int, float] = {}
    headers = {"Authorization": f"Bearer {token}"}
    connector = aiohttp.TCPConnector(limit=64)
    timeout = aiohttp.ClientTimeout(total=30)
    async with aiohttp.ClientSession(
        f"http://127.0.0.1:{port}", connector=connector, timeout=timeout
    ) as client:
        start = time.perf_counter()

        async def one(n: int) -> None:
            delay = start + n / rate - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            tip = {"text": TIP.format(n=n), "external_id": str(n)}
            async with client.post("/api/v1/tips", headers=headers, json=tip) as response:
                await response.read()
                if response.status in (200, 201):
                    accepted[n] = time.perf_counter()

        await asyncio.gather(*(one(n) for n in range(rate * seconds)))
    return accepted


def _arrivals(fake: str) -> dict[int, float]:
    """When each tip's first alert reached the fake (the same monotonic clock as ours)."""
    return {int(n): t for n, t in httpx.get(fake + "/arrivals", timeout=30).json().items()}


def _wait_for(url: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            httpx.get(url, timeout=1)
            return
        except httpx.HTTPError:
            time.sleep(0.1)
    raise RuntimeError(f"{url} did not answer")


@contextmanager
def _stopping(process: subprocess.Popen[bytes]) -> Iterator[None]:
    try:
        yield
    finally:
        stop(process)


def cpu_seconds(pid: int) -> float:
    """User and system CPU a process has used so far (Linux)."""
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rate", type=int, default=100)
    parser.add_argument("--seconds", type=int, default=60)
    parser.add_argument("--workers", type=int, default=1, help="`hotline111 worker` processes")
    parser.add_argument(
        "--pipeline",
        choices=["serve", "worker"],
        default="worker",
        help="worker: only the worker processes run the pipeline (serve with "
        "HOTLINE_RUN_WORKERS=false, as the README advises under load); serve: serve runs it "
        "too",
    )
    parser.add_argument("--drain-seconds", type=int, default=120)
    parser.add_argument("--postgres-url", help="run on PostgreSQL (a new database there)")
    parser.add_argument("--out", type=Path, default=REPO / "docs" / "benchmarks" / "pipeline.md")
    parser.add_argument("--fake", type=int, help=argparse.SUPPRESS)  # the fake's own process
    args = parser.parse_args()
    if args.fake:
        fake_telegram(args.fake)
        return
    fake_port = free_port()
    fake = f"http://127.0.0.1:{fake_port}"
    fake_process = subprocess.Popen([sys.executable, __file__, "--fake", str(fake_port)], cwd=REPO)
    with _stopping(fake_process), tempfile.TemporaryDirectory() as tmp:
        _wait_for(fake + "/arrivals")
        url = prepare_database(
            "postgresql" if args.postgres_url else "sqlite", args.postgres_url, Path(tmp)
        )
        env = {
            **os.environ,
            "HOTLINE_DATABASE_URL": url,
            "HOTLINE_VAR_DIR": tmp,
            "HOTLINE_SECRET_KEY": "bench-secret-key-0123456789",
            "HOTLINE_LOG_LEVEL": "WARNING",
            "TELEGRAM_BOT_TOKEN": TOKEN,
            "TELEGRAM_SECRET_TOKEN": SECRET,
            "TELEGRAM_API_BASE_URL": fake,
            "HOTLINE_WORKER_POLL_SECONDS": "0.05",
        }
        if args.pipeline == "worker":
            if args.workers < 1:
                parser.error("--pipeline worker needs --workers 1 or more")
            env["HOTLINE_RUN_WORKERS"] = "false"
        import_demo_directory(env)
        db = Database(url)
        with db.writer() as session:
            create_user(session=session, username="bench", role=Role.PARTNER, password="b" * 12)
            token = create_token(session=session, username="bench")
        db.dispose()
        port = free_port()
        processes = [
            subprocess.Popen([sys.executable, "-m", "intake.cli", "worker"], cwd=REPO, env=env)
            for _ in range(args.workers)
        ]
        processes.append(start_service(env, port))
        cpu_before = {p.pid: cpu_seconds(p.pid) for p in [*processes, fake_process]}
        own_before = time.process_time()
        try:
            accepted = asyncio.run(post_tips(port, token, args.rate, args.seconds))
            deadline = time.perf_counter() + args.drain_seconds
            arrived = _arrivals(fake)
            while time.perf_counter() < deadline and len(arrived) < len(accepted):
                time.sleep(0.5)
                arrived = _arrivals(fake)
            cpu = {
                "serve": cpu_seconds(processes[-1].pid) - cpu_before[processes[-1].pid],
                "workers": sum(cpu_seconds(p.pid) - cpu_before[p.pid] for p in processes[:-1]),
                "client": time.process_time() - own_before,
                "fake Telegram": cpu_seconds(fake_process.pid) - cpu_before[fake_process.pid],
            }
        finally:
            for process in processes:
                stop(process)
    latencies = [arrived[n] - t for n, t in accepted.items() if n in arrived]
    windows: dict[int, list[float]] = {}
    for n, t in accepted.items():
        if n in arrived:
            windows.setdefault(n // (args.rate * 10), []).append(arrived[n] - t)
    by_window = ", ".join(
        f"{w * 10}-{w * 10 + 10} s: {percentile(v, 99):.2f}" for w, v in sorted(windows.items())
    )
    delivered = len(latencies)
    p50 = percentile(latencies, 50) if latencies else float("nan")
    p99 = percentile(latencies, 99) if latencies else float("nan")
    report = "\n".join(
        [
            "## Pipeline: tip accepted -> alert handed to the provider",
            "",
            f"{machine()}.",
            f"`python bench/pipeline.py --rate {args.rate} --seconds {args.seconds} --workers "
            f"{args.workers} --pipeline {args.pipeline}"
            f"{' --postgres-url …' if args.postgres_url else ''}`: "
            f"{'PostgreSQL' if args.postgres_url else 'SQLite'}, the pipeline in "
            + (
                f"{args.workers} `hotline111 worker` process(es) beside `serve`"
                if args.pipeline == "worker"
                else f"`serve` and {args.workers} worker process(es)"
            )
            + ", fake Telegram on loopback, located P1 tips (two alerts each).",
            "",
            "| rate tips/s | tips accepted | first alert delivered | p50 s | p99 s |",
            "|---|---|---|---|---|",
            f"| {args.rate} | {len(accepted)} | {delivered} | {p50:.2f} | {p99:.2f} |",
            "",
            f"p99 by 10 s of the run: {by_window}.",
            "",
            "CPU per tip: "
            + ", ".join(
                f"{name} {1000 * seconds / max(1, len(accepted)):.1f} ms"
                for name, seconds in cpu.items()
            )
            + ".",
            "",
        ]
    )
    print(report)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    with args.out.open("a") as out:
        out.write(report + "\n")


if __name__ == "__main__":
    main()
