"""Start real peer processes (Alertmanager, Prometheus) on 127.0.0.1 for end-to-end tests."""

from __future__ import annotations

import shutil
import subprocess
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from tests.live import free_port


def require_binary(path: str) -> str:
    if not Path(path).exists() and shutil.which(Path(path).name) is None:
        pytest.skip(f"{path} is not installed (.ci/run installs it)")
    return path if Path(path).exists() else str(shutil.which(Path(path).name))


@contextmanager
def process(args: list[str], ready_url: str, log: Path) -> Iterator[subprocess.Popen[bytes]]:
    with log.open("wb") as out:
        proc = subprocess.Popen(args, stdout=out, stderr=subprocess.STDOUT)
        try:
            wait_until(lambda: _ok(ready_url), timeout=20, what=f"{args[0]} to get ready")
            yield proc
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()


def healthy(base: str) -> bool:
    """True when a Watchkeeper server at ``base`` answers /healthz with 200."""
    return _ok(f"{base}/healthz")


def _ok(url: str) -> bool:
    try:
        return httpx.get(url, timeout=1).status_code == 200
    except httpx.TransportError:
        return False


def wait_until(check: Callable[[], bool], *, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.2)


__all__ = ["free_port", "healthy", "process", "require_binary", "wait_until"]
