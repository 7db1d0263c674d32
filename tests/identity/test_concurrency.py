"""Concurrent writers through the API never see 'database is locked' or lose a write."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import httpx
from fastapi import FastAPI

from tests.conftest import Account
from tests.live import serve_in_thread

THREADS = 8
WRITES_PER_THREAD = 25


def test_eight_threads_write_concurrently(app: FastAPI, admin: Account) -> None:
    with serve_in_thread(app) as base:

        def writer(n: int) -> list[int]:
            statuses = []
            with httpx.Client(base_url=base, headers=admin.headers, timeout=60) as http:
                for i in range(WRITES_PER_THREAD):
                    # Each write reads (token lookup), then writes: the pattern that
                    # fails with SQLITE_BUSY when transactions upgrade lazily.
                    response = http.post("/api/v1/teams", json={"name": f"t{n}-{i}"})
                    statuses.append(response.status_code)
                    assert response.status_code == 201, response.text
            return statuses

        with ThreadPoolExecutor(THREADS) as pool:
            results = list(pool.map(writer, range(THREADS)))
        with httpx.Client(base_url=base, headers=admin.headers) as http:
            teams = http.get("/api/v1/teams").json()["items"]
    assert all(code == 201 for codes in results for code in codes)
    names = {t["name"] for t in teams}
    assert names == {f"t{n}-{i}" for n in range(THREADS) for i in range(WRITES_PER_THREAD)}
