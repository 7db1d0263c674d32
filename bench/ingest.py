"""Ingest throughput and latency against a live server, on SQLite and PostgreSQL.

    .venv/bin/python bench/ingest.py [--db sqlite|postgres|both] [--seconds 10]
        [--workers 1,2] [--loads prom,repeat,pd,paced] [--million] [--no-alertmanager]

Starts `watchkeeper serve` (and Debian's prometheus-alertmanager for the
reference figure) on 127.0.0.1, then drives them with wrk from this machine:
- prometheus endpoint, batches of 100 new alerts, 8 concurrent connections;
- the same endpoint with alerts already firing, sent again (Prometheus'
  usual traffic: it re-sends every firing alert each evaluation; no target);
- PagerDuty /v2/enqueue single events, 8 connections (throughput), then a
  run sent on a fixed schedule of 500 events/s for latency percentiles;
- with --million: 1,000,000 alerts through, printing the server's RSS as it goes.
Under each throughput figure: the CPU per alert or event of the server and of
PostgreSQL, and how busy the machine was (steadier than throughput on a
shared machine; see bench/common.py CpuMeter).
On PostgreSQL the server runs once per `--workers` count given (default 1,2:
one process, then one per core), each on a fresh database; which suits which
load is in docs/integrations.md.
Every figure counts only 2xx answers; each 2xx means the alerts were committed.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from common import CpuMeter, describe, free_port, postgres_database

HERE = Path(__file__).parent


def wait_ready(url: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if httpx.get(url, timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise SystemExit(f"{url} did not become ready")


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


@contextmanager
def watchkeeper(db_url: str, data_dir: Path, workers: int) -> Iterator[tuple[str, str, int]]:
    env = {
        **os.environ,
        "WATCHKEEPER_DATABASE_URL": db_url,
        "WATCHKEEPER_DATA_DIR": str(data_dir),
        "WATCHKEEPER_LOG_LEVEL": "WARNING",
    }
    cli = [sys.executable, "-m", "watchkeeper"]
    subprocess.run([*cli, "db", "upgrade"], env=env, check=True, capture_output=True)
    subprocess.run(
        [
            *cli,
            "user",
            "create",
            "--email",
            "bench@example.com",
            "--name",
            "Bench",
            "--role",
            "admin",
        ],
        env=env,
        check=True,
        capture_output=True,
    )
    token = (
        subprocess.run(
            [*cli, "token", "create", "--email", "bench@example.com"],
            env=env,
            check=True,
            capture_output=True,
            text=True,
        )
        .stdout.strip()
        .splitlines()[-1]
    )
    port = free_port()
    server = subprocess.Popen(
        [*cli, "serve", "--port", str(port), "--workers", str(workers)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=(data_dir / "server.log").open("wb"),
    )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_ready(base + "/healthz")
        yield base, token, server.pid
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=30)


@contextmanager
def alertmanager(data_dir: Path) -> Iterator[str]:
    config = data_dir / "am.yml"
    config.write_text("route:\n  receiver: none\nreceivers:\n  - name: none\n")
    port = free_port()
    proc = subprocess.Popen(
        [
            "/usr/bin/prometheus-alertmanager",
            f"--config.file={config}",
            f"--storage.path={data_dir / 'am'}",
            f"--web.listen-address=127.0.0.1:{port}",
            "--cluster.listen-address=",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_ready(f"http://127.0.0.1:{port}/-/ready")
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def wrk(
    url: str, script: str, seconds: int, env: dict[str, str], connections: int = 8
) -> dict[str, float]:
    """Run wrk; returns requests/s, non-2xx count and latency percentiles (ms)."""
    out = subprocess.run(
        [
            "wrk",
            "-t",
            "2",
            "-c",
            str(connections),
            "-d",
            f"{seconds}s",
            "--latency",
            "-s",
            str(HERE / script),
            url,
        ],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    errors = re.search(r"Socket errors: .*", out)
    result = {"rps": rps, "non2xx": float(bad.group(1)) if bad else 0.0}
    for pct in ("50", "99"):
        m = re.search(rf"\s{pct}%\s+([\d.]+)(us|ms|s)", out)
        if m:
            value = float(m.group(1))
            result[f"p{pct}_ms"] = (
                value / 1000 if m.group(2) == "us" else value * (1000 if m.group(2) == "s" else 1)
            )
    if errors:
        print("   wrk:", errors.group(0))
    return result


def tree_rss_mib(pid: int) -> float:
    """RSS of the server and its worker processes."""
    children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    return rss_mib(pid) + sum(rss_mib(int(child)) for child in children)


def bench_db(
    kind: str, db_url: str, args: argparse.Namespace, am_rps: float | None, workers: int
) -> None:
    with (
        tempfile.TemporaryDirectory() as tmp,
        watchkeeper(db_url, Path(tmp), workers) as (base, token, pid),
    ):
        headers = {"Authorization": f"Bearer {token}"}
        prom = httpx.post(
            f"{base}/api/v1/integrations",
            headers=headers,
            json={"name": "bench-prom", "kind": "prometheus"},
        ).json()
        pd = httpx.post(
            f"{base}/api/v1/integrations",
            headers=headers,
            json={"name": "bench-pd", "kind": "pagerduty"},
        ).json()
        path = f"{base}/ingest/{prom['token']}/api/v2/alerts"
        print(f"\n== {kind}, {workers} server process{'es' if workers > 1 else ''} ==")
        on_postgres = kind != "SQLite"
        if "prom" in args.loads:
            bench_prometheus(path, args, am_rps, pid, on_postgres)
        if "repeat" in args.loads:
            bench_repeats(path, args, pid, on_postgres)
        enqueue = f"{base}/v2/enqueue"
        if "pd" in args.loads:
            if "prom" not in args.loads:  # a cold server: warm it up first
                wrk(enqueue, "pd_event.lua", 2, {"ROUTING_KEY": pd["token"], "RUN": "warm"})
            with CpuMeter(pid, postgres=on_postgres) as cpu:
                pd_result = wrk(
                    enqueue,
                    "pd_event.lua",
                    args.seconds,
                    {"ROUTING_KEY": pd["token"], "RUN": "main"},
                )
            print(
                "pagerduty /v2/enqueue single events, 8 senders: "
                f"{pd_result['rps']:,.0f} events/s (non-2xx {pd_result['non2xx']:.0f})  "
                "target >= 2,000"
            )
            print(cpu.per(pd_result["rps"] * args.seconds, "event"))
        if "paced" in args.loads:
            paced = wrk(
                enqueue,
                "pd_paced.lua",
                args.seconds,
                {"ROUTING_KEY": pd["token"], "RATE": "500", "THREADS": "2"},
                connections=16,  # spare connections keep the schedule when some wait
            )
            print(
                f"pagerduty paced at ~500 events/s (measured {paced['rps']:,.0f}/s): "
                f"p50 {paced.get('p50_ms', 0):.1f} ms, p99 {paced.get('p99_ms', 0):.1f} ms  "
                f"target p99 <= 50 ms"
            )
        if args.million:
            print(f"1,000,000 alerts through; server RSS at start {tree_rss_mib(pid):.0f} MiB")
            sent = 0
            run = 0
            while sent < 1_000_000:
                run += 1
                r = wrk(path, "prom_batch.lua", 5, {"RUN": f"m{run}"})
                sent += int(r["rps"] * 5 * 100)
                print(f"   {sent:>9,} alerts: RSS {tree_rss_mib(pid):.0f} MiB")


def bench_prometheus(
    path: str, args: argparse.Namespace, am_rps: float | None, server_pid: int, on_postgres: bool
) -> None:
    wrk(path, "prom_batch.lua", 2, {"RUN": "warm"})  # warm up
    with CpuMeter(server_pid, postgres=on_postgres) as cpu:
        result = wrk(path, "prom_batch.lua", args.seconds, {"RUN": "main"})
    alerts_s = result["rps"] * 100
    line = (
        f"prometheus endpoint, 100 new alerts/request, 8 senders: {alerts_s:,.0f} alerts/s "
        f"({result['rps']:,.0f} req/s, p50 {result.get('p50_ms', 0):.1f} ms, "
        f"p99 {result.get('p99_ms', 0):.1f} ms, non-2xx {result['non2xx']:.0f})  "
        "target >= 25,000"
    )
    print(line)
    print(cpu.per(alerts_s * args.seconds, "alert"))
    if am_rps:
        print(
            f"   Alertmanager 0.25 same load: {am_rps * 100:,.0f} alerts/s; "
            f"Watchkeeper/Alertmanager = {alerts_s / (am_rps * 100):.2f}"
        )


def bench_repeats(path: str, args: argparse.Namespace, server_pid: int, on_postgres: bool) -> None:
    """Prometheus' usual traffic: the same firing alerts, sent again and again."""
    cycle = {"RUN": "repeat", "SLOTS": "20"}  # 20 batches per wrk thread, over and over
    wrk(path, "prom_batch.lua", 2, cycle)  # opens them: the first round
    with CpuMeter(server_pid, postgres=on_postgres) as cpu:
        result = wrk(path, "prom_batch.lua", args.seconds, cycle)
    alerts_s = result["rps"] * 100
    print(
        f"prometheus endpoint, 100 firing alerts sent again/request, 8 senders: "
        f"{alerts_s:,.0f} alerts/s ({result['rps']:,.0f} req/s, "
        f"p50 {result.get('p50_ms', 0):.1f} ms, p99 {result.get('p99_ms', 0):.1f} ms, "
        f"non-2xx {result['non2xx']:.0f})"
    )
    print(cpu.per(alerts_s * args.seconds, "alert"))


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--db", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--million", action="store_true")
    parser.add_argument(
        "--workers",
        default="1,2",
        help="server processes on PostgreSQL, a run for each (default 1,2)",
    )
    parser.add_argument("--no-alertmanager", action="store_true")
    parser.add_argument(
        "--loads",
        default="prom,repeat,pd,paced",
        help="which loads, run in this order on one server: prom, repeat, pd, paced "
        "(default all; pd alone measures single events on a fresh database)",
    )
    args = parser.parse_args()
    args.loads = set(args.loads.split(","))
    if not args.loads <= {"prom", "repeat", "pd", "paced"}:
        raise SystemExit("--loads takes prom, repeat, pd and paced, comma-separated")
    if not shutil.which("wrk"):
        raise SystemExit("wrk is not installed (apt-get install wrk)")
    print(describe("before"))
    am_rps = None
    if (
        "prom" in args.loads
        and not args.no_alertmanager
        and Path("/usr/bin/prometheus-alertmanager").exists()
    ):
        with tempfile.TemporaryDirectory() as tmp, alertmanager(Path(tmp)) as am:
            wrk(f"{am}/api/v2/alerts", "prom_batch.lua", 2, {"RUN": "amwarm"})
            am_rps = wrk(f"{am}/api/v2/alerts", "prom_batch.lua", args.seconds, {"RUN": "am"})[
                "rps"
            ]
    if args.db in ("sqlite", "both"):
        with tempfile.TemporaryDirectory() as tmp:
            bench_db("SQLite", f"sqlite:///{tmp}/bench.db", args, am_rps, 1)
    if args.db in ("postgres", "both"):
        for workers in (int(n) for n in args.workers.split(",")):
            with postgres_database("wk_bench") as url:
                bench_db("PostgreSQL", url, args, am_rps, workers)
    print(describe("after"))


if __name__ == "__main__":
    main()
