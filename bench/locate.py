"""Place resolution: time per text and memory, ours beside vietnamadminunits, same run.

    pip install -e ".[bench]" && python bench/locate.py

Each engine runs in its own subprocess over the same texts (locations_dev.jsonl plus the
whole tips), so resident memory is its own. The peer is used as well as it can be: its
old-to-new `convert_address` first, then `parse_address`; its network geocoder is
replaced by a function that refuses, and sockets to anything but loopback are refused,
so no address leaves the machine. Also measured: the resident memory of the whole
`hotline111 serve` process once started (geography and rules loaded).
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bench.common import machine, percentile, rss_mb  # noqa: E402
from tests.live import free_port, start_service, stop  # noqa: E402

LOCATIONS = REPO / "tests" / "data" / "locations" / "locations_dev.jsonl"
TIPS = REPO / "tests" / "data" / "triage" / "tips_dev.jsonl"


def _texts() -> list[tuple[str, int | None]]:
    rows = []
    for line in LOCATIONS.read_text().splitlines():
        record = json.loads(line)
        rows.append((record["text"], (record["expected"] or {}).get("ward_code")))
    for line in TIPS.read_text().splitlines():
        record = json.loads(line)
        rows.append((record["text"], record["expected"]["ward_code"]))
    return rows


def _no_network() -> None:
    """Refuse every connection that is not to loopback (the peer has a geocoder)."""
    original = socket.socket.connect

    def connect(self: socket.socket, address: object) -> None:
        host = address[0] if isinstance(address, tuple) else str(address)
        if not str(host).startswith(("127.", "::1", "localhost")):
            raise OSError(f"network disabled in this benchmark ({host})")
        original(self, address)  # type: ignore[arg-type]

    socket.socket.connect = connect  # type: ignore[method-assign]


def run_engine(engine: str) -> None:
    """Child process: resolve every text, print timings and verdicts as JSON."""
    _no_network()
    started = time.perf_counter()
    if engine == "ours":
        from routing.geography import Resolver, load_geography

        resolver = Resolver(load_geography())

        def resolve(text: str) -> int | None:
            return resolver.resolve(text).ward_code
    else:
        import vietnamadminunits.parser.utils as peer_utils
        from vietnamadminunits import convert_address, parse_address

        def refuse(_address: str) -> None:
            raise RuntimeError("geocoder disabled")

        peer_utils.get_geo_location = refuse

        def resolve(text: str) -> int | None:
            for attempt in (convert_address, parse_address):
                try:
                    unit = attempt(text)
                except Exception:  # the peer raises on what it cannot parse
                    continue
                if unit is not None and getattr(unit, "ward_code", None):
                    return int(unit.ward_code)
            return None

    load_seconds = time.perf_counter() - started
    rows = _texts()
    for text, _ in rows[:20]:
        resolve(text)  # warm up
    times, correct, wrong = [], 0, 0
    for text, expected in rows:
        t0 = time.perf_counter()
        got = resolve(text)
        times.append(time.perf_counter() - t0)
        if got == expected:
            correct += 1
        elif got is not None:
            wrong += 1
    print(
        json.dumps(
            {
                "load_s": load_seconds,
                "median_ms": percentile(times, 50) * 1000,
                "p99_ms": percentile(times, 99) * 1000,
                "rss_mb": rss_mb(),
                "n": len(rows),
                "correct": correct,
                "wrong": wrong,
            }
        )
    )


def service_rss() -> float:
    """Resident memory of a started `hotline111 serve` (SQLite, workers on)."""
    port = free_port()
    with tempfile.TemporaryDirectory() as tmp:
        env = {
            **os.environ,
            "HOTLINE_DATABASE_URL": f"sqlite:///{tmp}/db.sqlite",
            "HOTLINE_VAR_DIR": tmp,
            "HOTLINE_SECRET_KEY": "bench-secret-key-0123456789",
            "HOTLINE_LOG_LEVEL": "WARNING",
        }
        process = start_service(env, port)
        try:
            status = Path(f"/proc/{process.pid}/status").read_text()
            return next(
                int(line.split()[1]) / 1024
                for line in status.splitlines()
                if line.startswith("VmRSS:")
            )
        finally:
            stop(process)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--engine", choices=["ours", "peer"], help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, default=REPO / "docs" / "benchmarks" / "locate.md")
    args = parser.parse_args()
    if args.engine:
        run_engine(args.engine)
        return
    results = {}
    for engine in ("ours", "peer"):
        output = subprocess.run(
            [sys.executable, __file__, "--engine", engine],
            cwd=REPO,
            capture_output=True,
            text=True,
            check=True,
            timeout=1800,
        )
        results[engine] = json.loads(output.stdout.strip().splitlines()[-1])
    ours, peer = results["ours"], results["peer"]
    serve_mb = service_rss()
    rows = [
        f"| {name} | {r['median_ms']:.2f} | {r['p99_ms']:.2f} | {r['rss_mb']:.0f} | "
        f"{r['load_s']:.2f} | {r['correct']}/{r['n']} | {r['wrong']}/{r['n']} |"
        for name, r in (("hotline111 Resolver", ours), ("vietnamadminunits 1.0.4", peer))
    ]
    report = "\n".join(
        [
            "## Locate: time per text and memory, beside vietnamadminunits",
            "",
            f"{machine()}.",
            "`python bench/locate.py` (each engine in its own process, network refused; texts: "
            "locations_dev.jsonl and tips_dev.jsonl).",
            "",
            "| engine | median ms | p99 ms | RSS MB | load s | right answer | wrong commune |",
            "|---|---|---|---|---|---|---|",
            *rows,
            "",
            f"Median speed-up over the peer: {peer['median_ms'] / ours['median_ms']:.1f}x. "
            f"Whole `hotline111 serve` process after start-up: {serve_mb:.0f} MB resident "
            "(goal: under 150 MB).",
            "",
        ]
    )
    print(report)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(report)


if __name__ == "__main__":
    main()
