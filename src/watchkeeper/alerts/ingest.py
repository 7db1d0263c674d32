"""The front door: HTTP endpoints senders post to, and the accept path behind them.

An accepted alert is never lost: the raw body and the normalized alerts are
committed in one transaction before the sender gets its 2xx. When the
database is down the sender gets 503 and retries (Alertmanager, Prometheus
and PagerDuty clients all do).
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass
from typing import Any

import orjson
from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DBAPIError
from starlette.concurrency import run_in_threadpool

from watchkeeper.alerts import integrations as svc
from watchkeeper.alerts import store
from watchkeeper.alerts.adapters import parse_payload
from watchkeeper.alerts.models import Integration
from watchkeeper.alerts.normalized import PayloadError
from watchkeeper.alerts.ratelimit import TokenBuckets
from watchkeeper.alerts.writer import IngestJob, IngestWriter
from watchkeeper.api.context import AppContext
from watchkeeper.api.deps import get_context
from watchkeeper.api.errors import refused_value_message
from watchkeeper.db.engine import REFUSED, UNAVAILABLE
from watchkeeper.errors import BadRequest, DomainError, NotFound, PayloadTooLarge, RateLimited

log = logging.getLogger("watchkeeper.ingest")
router = APIRouter(tags=["ingest"])

# Integration rows are read on every request; caching them briefly saves a
# query per request. Changes made in this process invalidate the entry at
# once; other processes see them within this many seconds.
INTEGRATION_CACHE_SECONDS = 5.0


@dataclass(frozen=True)
class CachedIntegration:
    row: Integration
    loaded_at: float


class IngestGate:
    """Per-process state of the front door: integration cache and rate limits."""

    def __init__(self, ctx: AppContext) -> None:
        self.ctx = ctx
        self.cache: dict[str, CachedIntegration] = {}
        self.buckets = TokenBuckets()
        self.writer = IngestWriter(ctx)

    def cached(self, token: str) -> Integration | None:
        cached = self.cache.get(token)
        if cached and time.monotonic() - cached.loaded_at < INTEGRATION_CACHE_SECONDS:
            return cached.row
        return None

    async def integration_async(self, token: str) -> Integration:
        cached = self.cached(token)
        if cached is not None:
            return cached
        return await run_in_threadpool(self.integration, token)

    def integration(self, token: str) -> Integration:
        cached = self.cached(token)
        if cached is not None:
            return cached
        with self.ctx.db.read() as session:
            row = svc.find_by_token(session, token=token)
            if row is not None:
                session.expunge(row)
        if row is None:
            self.cache.pop(token, None)
            raise NotFound("no integration has this token; copy the ingest URL again")
        self.cache[token] = CachedIntegration(row, time.monotonic())
        return row

    def forget(self, token: str) -> None:
        self.cache.pop(token, None)

    def check_rate(self, integration: Integration) -> None:
        limit = integration.rate_limit_per_minute or self.ctx.settings.ingest_rate_limit_per_minute
        wait = self.buckets.take(integration.id, limit)
        if wait:
            raise RateLimited(
                f"integration {integration.name!r} is over its limit of {limit} requests "
                f"per minute; retry in {wait} s",
                retry_after=wait,
            )

    def parse(self, integration: Integration, payload: object, raw: str) -> IngestJob:
        """Normalize a payload; PayloadError when it has the wrong shape."""
        parsed = parse_payload(
            integration.kind,
            payload,
            templates=svc.templates_of(integration),
            now=self.ctx.clock.now(),
            options=integration.options,
        )
        if parsed.template_errors:
            self.forget(integration.token)
        return IngestJob(integration, parsed.alerts, raw, parsed.template_errors)

    def accept(self, integration: Integration, payload: object, raw: str) -> store.IngestResult:
        """Parse and commit one payload, blocking until it is committed."""
        return self.writer.submit(self.parse(integration, payload, raw)).result()

    async def accept_async(
        self, integration: Integration, payload: object, raw: str
    ) -> store.IngestResult:
        """Parse here, commit on the writer thread, return once committed."""
        job = self.parse(integration, payload, raw)
        if not self.writer.running:
            return await run_in_threadpool(lambda: self.writer.submit(job).result())
        return await self.writer.submit_async(job)

    def ping(self, integration: Integration) -> None:
        """Record a heartbeat ping; resolve the missed-heartbeat alert if it fired."""
        now = self.ctx.clock.now()
        with self.ctx.db.write() as session:
            row = session.get(Integration, integration.id, with_for_update=True)
            if row is None:
                raise NotFound("integration was deleted")
            row.last_heartbeat_at = now
            if row.heartbeat_expired:
                row.heartbeat_expired = False
                store.ingest(
                    session,
                    integration=row,
                    alerts=[svc.heartbeat_alert(row, action="resolve", now=now)],
                    raw_body='{"heartbeat": "ping"}',
                    now=now,
                )


def gate_of(request: Request) -> IngestGate:
    gate = get_context(request).services["ingest"]
    assert isinstance(gate, IngestGate)
    return gate


@dataclass(frozen=True)
class Reply:
    """An HTTP answer independent of the framework that sends it."""

    status: int
    body: dict[str, Any] | None
    headers: tuple[tuple[str, str], ...] = ()

    def encode(self) -> bytes:
        if self.body is None:
            return b""
        try:
            return orjson.dumps(self.body)
        except TypeError:  # a lone surrogate echoed from the payload: escaped instead
            return json.dumps(self.body).encode()


def error_reply(exc: Exception) -> Reply:
    """Map an error to the one error shape (503 for a database that does not answer)."""
    if isinstance(exc, DomainError):
        headers = (("retry-after", str(exc.retry_after)),) if isinstance(exc, RateLimited) else ()
        return Reply(exc.status_code, _error(exc.code, exc.message), headers)
    if isinstance(exc, PayloadError):
        return Reply(400, _error("bad_request", exc.message))
    if isinstance(exc, REFUSED):
        log.error("ingest: the database refused a value: %s", exc)
        return Reply(400, _error("bad_request", refused_value_message(exc)))
    if isinstance(exc, (*UNAVAILABLE, DBAPIError)):
        log.error("ingest: database unavailable: %s", exc)
        return Reply(
            503,
            _error("unavailable", "the database is unavailable; nothing was stored, retry later"),
            (("retry-after", "5"),),
        )
    log.exception("ingest failed", exc_info=exc)
    return Reply(500, _error("internal_error", "internal error; see the server log"))


def _error(code: str, message: str) -> dict[str, Any]:
    return {"error": {"code": code, "message": message}}


def decode_json(body: bytes) -> tuple[object, str]:
    """The decoded body and its text; 400 when empty or not JSON.

    Characters no database can store come back replaced, so that an alert
    is never refused (or lost to a 500) for one, and the same on SQLite and
    PostgreSQL so identities do not depend on the database: NUL ("\\u0000",
    which PostgreSQL stores in neither text nor jsonb) as U+FFFD, a lone
    surrogate ("\\ud800", which no UTF-8 column takes) as "?".
    """
    if not body.strip():
        raise BadRequest("request body is empty; send a JSON payload")
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise BadRequest(f"request body is not valid JSON: {exc}") from exc
    try:
        payload = orjson.loads(body)
        # orjson refuses lone surrogates, so only a NUL can need replacing.
        unstorable = b"\\u0000" in body
    except orjson.JSONDecodeError:
        # The standard parser accepts a little more (NaN, huge ints, lone surrogates).
        try:
            payload = json.loads(text)
        except ValueError as exc:
            raise BadRequest(f"request body is not valid JSON: {exc}") from exc
        unstorable = True
    if unstorable:  # rare: only then walk the payload
        try:
            payload = _storable(payload)
        except RecursionError:
            raise BadRequest("request body is nested too deeply") from None
    return payload, text


def _storable(value: object) -> object:
    if isinstance(value, str):
        value = value.replace("\x00", "\ufffd")
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:  # lone surrogates
            value = value.encode("utf-8", "replace").decode("utf-8")
        return value
    if isinstance(value, list):
        return [_storable(item) for item in value]
    if isinstance(value, dict):
        return {_storable(k): _storable(v) for k, v in value.items()}
    return value


def too_large(limit: int) -> PayloadTooLarge:
    return PayloadTooLarge(f"request body is over the {limit}-byte limit")


async def request_body(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise too_large(limit)
    chunks = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise too_large(limit)
        chunks.append(chunk)
    return b"".join(chunks)


def _summary(integration: Integration, result: store.IngestResult) -> dict[str, Any]:
    return {
        "status": "accepted",
        "integration_id": integration.id,
        "new_alerts": result.new_alerts,
        "repeated_alerts": result.repeated_alerts,
        "resolved_alerts": result.resolved_alerts,
        "groups_created": len(result.created_group_ids),
    }


async def reply_ingest(gate: IngestGate, token: str, body: bytes) -> Reply:
    """POST /ingest/{token}: the integration's kind decides the format."""
    try:
        integration = await gate.integration_async(token)
        if integration.kind == "pagerduty":
            return await reply_enqueue(gate, token, body)
        gate.check_rate(integration)
        if integration.kind == "heartbeat":
            await run_in_threadpool(gate.ping, integration)
            return Reply(200, {"status": "ok", "heartbeat": integration.name})
        payload, raw = decode_json(body)
        result = await gate.accept_async(integration, payload, raw)
        return Reply(202, _summary(integration, result))
    except Exception as exc:
        return error_reply(exc)


async def reply_prometheus(gate: IngestGate, token: str, body: bytes) -> Reply:
    """POST /ingest/{token}/api/v2/alerts: 200 with no body, as Alertmanager answers."""
    try:
        integration = await gate.integration_async(token)
        gate.check_rate(integration)
        payload, raw = decode_json(body)
        await gate.accept_async(integration, payload, raw)
        return Reply(200, None)
    except Exception as exc:
        return error_reply(exc)


def _pd_error(status: int, code: str, message: str, errors: list[str]) -> Reply:
    return Reply(
        status,
        {
            "status": "invalid event" if status == 400 else "error",
            "message": message,
            "errors": errors,
            "error": {"code": code, "message": "; ".join(errors) or message},
        },
    )


async def reply_enqueue(gate: IngestGate, token: str | None, body: bytes) -> Reply:
    """PagerDuty Events API v2, with PagerDuty's answers and error shape."""
    try:
        payload, raw = decode_json(body)
    except BadRequest as exc:
        return _pd_error(400, "bad_request", "Event object is invalid", [exc.message])
    if token is None:
        key = payload.get("routing_key") if isinstance(payload, dict) else None
        if not isinstance(key, str) or not key:
            return _pd_error(
                400, "bad_request", "Event object is invalid", ["'routing_key' is missing."]
            )
        token = key
    try:
        integration = await gate.integration_async(token)
    except NotFound:
        return _pd_error(
            404,
            "not_found",
            "Invalid routing key",
            ["no pagerduty integration has this routing_key"],
        )
    except Exception as exc:
        return error_reply(exc)
    if integration.kind != "pagerduty":
        return _pd_error(
            404,
            "not_found",
            "Invalid routing key",
            ["this routing_key is not a pagerduty integration"],
        )
    try:
        gate.check_rate(integration)
        result = await gate.accept_async(integration, payload, raw)
    except PayloadError as exc:
        return _pd_error(400, "bad_request", "Event object is invalid", list(exc.errors))
    except Exception as exc:
        return error_reply(exc)
    return Reply(
        202,
        {
            "status": "success",
            "message": "Event processed",
            "dedup_key": _dedup_key(payload, result),
        },
    )


def _dedup_key(payload: object, result: store.IngestResult) -> str | None:
    if isinstance(payload, dict) and isinstance(payload.get("dedup_key"), str):
        return str(payload["dedup_key"])
    return result.fingerprints[0] if result.fingerprints else None


def _response(reply: Reply) -> Response:
    media = "application/json" if reply.body is not None else None
    return Response(reply.encode(), reply.status, dict(reply.headers), media_type=media)


async def _body_or_reply(request: Request) -> bytes | Reply:
    try:
        return await request_body(request, gate_of(request).ctx.settings.ingest_max_body_bytes)
    except PayloadTooLarge as exc:
        return error_reply(exc)


# The FastAPI routes document the endpoints and serve them when the fast path
# below is not installed; both call the same reply_* functions.


@router.post(
    "/ingest/{token}",
    summary="Send alerts to an integration (format depends on its kind)",
    status_code=202,
)
async def ingest(token: str, request: Request) -> Response:
    body = await _body_or_reply(request)
    if isinstance(body, Reply):
        return _response(body)
    return _response(await reply_ingest(gate_of(request), token, body))


@router.get("/ingest/{token}", summary="Heartbeat ping (heartbeat integrations)")
async def heartbeat_get(token: str, request: Request) -> Response:
    gate = gate_of(request)
    integration = await gate.integration_async(token)
    if integration.kind != "heartbeat":
        raise NotFound("GET is only for heartbeat integrations; POST alerts to this URL")
    gate.check_rate(integration)
    await run_in_threadpool(gate.ping, integration)
    return JSONResponse({"status": "ok", "heartbeat": integration.name})


@router.post(
    "/ingest/{token}/api/v2/alerts",
    summary="Alertmanager API v2: Prometheus posts here when path_prefix is the ingest path",
)
async def prometheus_alerts(token: str, request: Request) -> Response:
    body = await _body_or_reply(request)
    if isinstance(body, Reply):
        return _response(body)
    return _response(await reply_prometheus(gate_of(request), token, body))


@router.post(
    "/v2/enqueue",
    summary="PagerDuty Events API v2; routing_key is the token of a pagerduty integration",
    status_code=202,
)
async def enqueue(request: Request) -> Response:
    body = await _body_or_reply(request)
    if isinstance(body, Reply):
        return _response(body)
    return _response(await reply_enqueue(gate_of(request), None, body))
