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
