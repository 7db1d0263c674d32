"""What the benches share: free ports, a throwaway PostgreSQL database, and
what the machine was like during a run, printed beside the figures.

The shared 2-core machines these benches run on are not always equally fast:
the same Python loop has taken 1.4 s and, an hour later, 2.4 s (a 70 % swing). Every bench
prints this reference before and after its figures, so a slow figure from a
slow moment can be told apart from a regression.
"""

from __future__ import annotations

import os
import socket
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager

PG_ADMIN = os.environ.get("WATCHKEEPER_BENCH_POSTGRES", "postgresql://postgres@127.0.0.1:5432/test")

QUIET_SECONDS = 0.6  # seen for this loop on a quiet machine of this kind


def cpu_reference() -> float:
    """Seconds one core takes for a fixed 20-million-step Python loop."""
    started = time.perf_counter()
    total = 0
    for step in range(20_000_000):
        total += step
    return time.perf_counter() - started


def describe(when: str) -> str:
    seconds = cpu_reference()
    return (
        f"machine ({when}): {os.cpu_count()} cores; python {sys.version.split()[0]}; "
        f"CPU reference loop {seconds:.2f} s ({seconds / QUIET_SECONDS:.1f}x a quiet machine)"
    )


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def postgres_database(prefix: str) -> Iterator[str]:
    """A fresh PostgreSQL database next to PG_ADMIN's, dropped afterwards."""
    import psycopg

    name = f"{prefix}_{os.getpid()}"
    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield PG_ADMIN.rsplit("/", 1)[0] + "/" + name
    finally:
        with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


_TICK = os.sysconf("SC_CLK_TCK")


def _process_seconds(pid: int) -> float:
    """User and system CPU seconds of a process, all its threads."""
    try:
        stat = open(f"/proc/{pid}/stat").read()  # noqa: SIM115 - a tiny read
    except OSError:  # gone meanwhile
        return 0.0
    fields = stat[stat.rindex(")") + 2 :].split()
    return (int(fields[11]) + int(fields[12])) / _TICK


def _children(pid: int) -> list[int]:
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as f:
            return [int(child) for child in f.read().split()]
    except OSError:
        return []


def _postgres_pids() -> list[int]:
    pids = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/comm") as f:
                    if f.read().strip() == "postgres":
                        pids.append(int(entry))
            except OSError:
                continue
    return pids


def _machine_busy_seconds() -> tuple[float, float]:
    """Busy and total CPU seconds of the whole machine since boot (all cores)."""
    with open("/proc/stat") as f:
        values = [int(v) for v in f.readline().split()[1:]]
    idle = values[3] + values[4]  # idle + iowait
    return (sum(values) - idle) / _TICK, sum(values) / _TICK


class CpuMeter:
    """CPU spent during a load by the server (with its worker processes), by
    PostgreSQL (every postgres process: backends, WAL writer, autovacuum) and
    by the machine as a whole.

    CPU per event moves less with the machine's mood than throughput does, and
    says where a change saved work even when the throughput figure cannot.
    """

    def __init__(self, server_pid: int, *, postgres: bool) -> None:
        self.server_pid = server_pid
        # On SQLite PostgreSQL's own background work is not the load's.
        self.postgres = postgres

    def _sample(self) -> dict[str, float]:
        server = [self.server_pid, *_children(self.server_pid)]
        busy, total = _machine_busy_seconds()
        return {
            "server": sum(_process_seconds(pid) for pid in server),
            "postgres": (
                sum(_process_seconds(pid) for pid in _postgres_pids()) if self.postgres else 0.0
            ),
            "busy": busy,
            "total": total,
        }

    def __enter__(self) -> CpuMeter:
        self._start = self._sample()
        return self

    def __exit__(self, *_: object) -> None:
        end = self._sample()
        self.used = {key: end[key] - self._start[key] for key in end}

    def per(self, count: float, unit: str) -> str:
        """The CPU of the load per ``count`` things done, as one line."""
        used = self.used
        busy = 100 * used["busy"] / used["total"] * (os.cpu_count() or 1) if used["total"] else 0
        line = f"   CPU per {unit}: Watchkeeper {1e6 * used['server'] / count:,.0f} µs"
        if self.postgres:
            line += f", PostgreSQL {1e6 * used['postgres'] / count:,.0f} µs"
        return line + f"; machine busy {busy:.0f} % of {(os.cpu_count() or 1) * 100} %"
