"""A fake Prometheus HTTP API for tests, served from 127.0.0.1, and the test spec folder."""

from __future__ import annotations

import json
import re
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlparse

SPECS = Path(__file__).parent / "specs"
WINDOW = re.compile(r"\[([0-9a-z]+)\]")


@dataclass
class FakePrometheus:
    """Answers instant queries with an error ratio chosen by the query's range window."""

    url: str = ""
    ratios: dict[str, float] = field(default_factory=dict)
    default_ratio: float = 0.0
    error: tuple[int, dict[str, str]] | None = None
    # query_range answers: expression substring -> list of (unix seconds, value)
    ranges: dict[str, list[tuple[float, float]]] = field(default_factory=dict)
    requests: list[tuple[str, dict[str, list[str]], str | None]] = field(default_factory=list)


def _handler(state: FakePrometheus) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: object) -> None:
            pass

        def do_GET(self) -> None:
            parsed = urlparse(self.path)
            params = parse_qs(parsed.query)
            state.requests.append((parsed.path, params, self.headers.get("Authorization")))
            if state.error is not None:
                status, body = state.error
                self._send(status, {"status": "error", **body})
                return
            query = params.get("query", [""])[0]
            if parsed.path == "/api/v1/query":
                windows = WINDOW.findall(query)
                ratio = state.ratios.get(windows[0], state.default_ratio) if windows else 0.0
                result = [{"metric": {}, "value": [float(params["time"][0]), repr(ratio)]}]
                self._send(
                    200, {"status": "success", "data": {"resultType": "vector", "result": result}}
                )
            elif parsed.path == "/api/v1/query_range":
                start, end = float(params["start"][0]), float(params["end"][0])
                values = next((v for key, v in state.ranges.items() if key in query), [])
                points = [[t, repr(v)] for t, v in values if start <= t <= end]
                result = [{"metric": {}, "values": points}] if points else []
                self._send(
                    200, {"status": "success", "data": {"resultType": "matrix", "result": result}}
                )
            else:
                self._send(
                    404, {"status": "error", "errorType": "not_found", "error": "no such path"}
                )

        def _send(self, status: int, body: object) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

    return Handler


def serve(state: FakePrometheus) -> ThreadingHTTPServer:
    """Start serving `state` on a free port of 127.0.0.1 in a daemon thread."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(state))
    state.url = f"http://127.0.0.1:{server.server_address[1]}"
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server
