"""Start `hotline111 serve` as a real process on a free loopback port, and wait for it."""

from __future__ import annotations

import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parents[1]


def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_service(
    env: dict[str, str],
    port: int,
    *args: str,
    timeout: float = 60,
    command: list[str] | None = None,
) -> subprocess.Popen[bytes]:
    """Run `python -m intake.cli serve` (or the given subcommand, or another `command`)
    until /healthz answers on `port`."""
    command = command or [
        sys.executable,
        "-m",
        "intake.cli",
        *(args or ("serve", "--port", str(port))),
    ]
    log = tempfile.TemporaryFile()  # noqa: SIM115 - lives as long as the process; a pipe
    # nobody reads would block a chatty service
    process = subprocess.Popen(command, cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=log)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            log.seek(0)
            error = log.read().decode(errors="replace")
            raise RuntimeError(f"service exited during start-up: {error[-2000:]}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                return process
        except httpx.HTTPError:
            time.sleep(0.2)
    process.kill()
    raise RuntimeError(f"service did not answer on port {port} within {timeout} s")


def import_demo_directory(env: dict[str, str]) -> None:
    """Load the demo directory into the database `env` names, through the CLI."""
    subprocess.run(
        [
            sys.executable,
            "-m",
            "intake.cli",
            "directory",
            "import",
            str(REPO / "config" / "routing" / "demo_directory.csv.gz"),
        ],
        cwd=REPO,
        env=env,
        check=True,
        capture_output=True,
    )


def stop(process: subprocess.Popen[bytes]) -> None:
    """Ask the service to stop, and wait for it."""
    process.terminate()
    try:
        process.wait(30)
    except subprocess.TimeoutExpired:
        process.kill()
