"""HTTP API: login, health, occupancy, audit, visits, documents, metrics."""

from __future__ import annotations

import asyncio
import contextlib
import csv
import io
import json
import logging
import re
import time
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from booth_server.config import AppConfig, UserConfig
from booth_server.core import events as ev
from booth_server.core.dispatcher import Result
from booth_server.core.model import DOCUMENT_KINDS, AuditEntry
from booth_server.documents.images import check_image
from booth_server.documents.vault import DocumentMeta, DocumentVault
from booth_server.errors import ApiError, ErrorCode
from booth_server.payloads import LoginPayload, parse
from booth_server.security import Claims, LoginThrottle, SecretVerifier, issue_token, verify_token
from booth_server.service import BoothService
from booth_server.transport.occupancy import occupancy

log = logging.getLogger("lapak.http")

DOCUMENT_ID = re.compile(r"^d-[0-9a-f]{24}$")
SESSION_ID = re.compile(r"^[A-Za-z0-9_.:-]{1,64}$")

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@web.middleware
async def error_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Every failure answers with the contract's JSON error body and a matching status."""
    try:
        return await handler(request)
    except ApiError as exc:
        return web.json_response({"error": exc.body()}, status=exc.status)
    except web.HTTPRequestEntityTooLarge:
        return web.json_response(
            {"error": {"code": "too_large", "message": "body: too large"}}, status=413
        )
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        code = {401: "unauthorized", 403: "forbidden", 404: "not_found", 405: "invalid",
                413: "too_large", 429: "rate_limited"}.get(exc.status, "invalid")
        return web.json_response(
            {"error": {"code": code, "message": exc.reason or "request refused"}},
            status=exc.status,
        )
    except Exception:
        log.exception("request failed", extra={"path": request.path})
        return web.json_response(
            {"error": {"code": "unavailable", "message": "internal error"}}, status=500
        )


class HttpApi:
    def __init__(
        self,
        cfg: AppConfig,
        service: BoothService,
        vault: DocumentVault,
        verifier: SecretVerifier,
        dummy_hash: str,
    ) -> None:
        self.cfg = cfg
        self.service = service
        self.vault = vault
        self.verifier = verifier
        self.dummy_hash = dummy_hash
        self.throttle = LoginThrottle(cfg.limits.login_max_failures, cfg.limits.login_window_s)

    def routes(self) -> list[web.RouteDef]:
        return [
            web.post("/api/login", self.login),
            web.get("/api/health", self.health),
            web.get("/api/occupancy", self.get_occupancy),
            web.get("/api/audit", self.audit),
            web.get("/api/visits", self.visits),
            web.get("/api/visits.csv", self.visits_csv),
            web.post("/api/sessions/{session_id}/documents", self.upload_document),
            web.get("/api/documents/{document_id}", self.get_document),
            web.get("/metrics", self.metrics),
        ]

    # ------------------------------------------------------------------ auth helpers

    def _claims(self, request: web.Request) -> tuple[Claims, UserConfig]:
        header = request.headers.get("Authorization", "")
        if not header.startswith("Bearer "):
            raise ApiError(ErrorCode.UNAUTHORIZED, "Authorization: expected 'Bearer TOKEN'")
        claims = verify_token(
            self.cfg.server.secret.get_secret_value(), header[7:].strip(), self.service.clock()
        )
        user = self.cfg.user(claims.subject) if claims else None
        if claims is None or user is None:
            raise ApiError(ErrorCode.UNAUTHORIZED, "Authorization: invalid or expired token")
        return claims, user

    def _user(self, request: web.Request, *roles: str) -> UserConfig:
        _, user = self._claims(request)
        if user.role not in roles:
            raise ApiError(ErrorCode.FORBIDDEN, f"role: needs {' or '.join(roles)}")
        return user

    async def _booth(self, request: web.Request) -> str:
        header = request.headers.get("Authorization", "")
        booth_id = request.headers.get("X-Booth-Id", "")
        if not header.startswith("Bearer ") or not booth_id:
            raise ApiError(ErrorCode.UNAUTHORIZED,
                           "Authorization, X-Booth-Id: booth credentials required")
        booth = self.cfg.booth(booth_id)
        ok = await asyncio.to_thread(
            self.verifier.verify, booth.token_hash if booth else self.dummy_hash,
            header[7:].strip(),
        )
        if booth is None or not ok:
            raise ApiError(ErrorCode.UNAUTHORIZED, "Authorization: unknown booth or wrong token")
        return booth.id

    def _branch_param(self, request: web.Request, user: UserConfig) -> str | None:
        """The `branch` query parameter (`all` or absent: every branch the user sees)."""
        branch = request.query.get("branch", "all")
        if branch == "all":
            return user.branch
        if branch not in self.service.branch_ids:
            raise ApiError(ErrorCode.INVALID, f"branch: no branch {branch[:32]!r}")
        if user.branch is not None and branch != user.branch:
            raise ApiError(ErrorCode.FORBIDDEN, "branch: not one of your branches")
        return branch

    # ------------------------------------------------------------------ endpoints

    async def login(self, request: web.Request) -> web.Response:
        try:
            raw = await request.json()
        except (json.JSONDecodeError, UnicodeDecodeError):
            raise ApiError(ErrorCode.INVALID, "body: expected JSON {username, password}") from None
        p = parse(LoginPayload, raw)
        now = time.monotonic()
        peer = request.remote or "?"
        keys = (f"user:{p.username}", f"addr:{peer}")
        if not all(self.throttle.allowed(k, now) for k in keys):
            wait = max(self.throttle.retry_after(k, now) for k in keys)
            return web.json_response(
                {"error": {"code": "rate_limited",
                           "message": "too many failed logins; try again later"}},
                status=429, headers={"Retry-After": str(int(wait) + 1)},
            )
        user = self.cfg.user(p.username)
        ok = await asyncio.to_thread(
            self.verifier.verify, user.password_hash if user else self.dummy_hash, p.password
        )
        if user is None or not ok:
            for key in keys:
                self.throttle.record_failure(key, now)
            log.info("login refused", extra={"username": p.username[:64], "peer": peer})
            raise ApiError(ErrorCode.UNAUTHORIZED, "username or password is wrong")
        self.throttle.reset(keys[0])
        ttl = self.cfg.server.token_ttl_s
        token = issue_token(self.cfg.server.secret.get_secret_value(), user.id, user.role, ttl,
                            self.service.clock())
        body: dict[str, Any] = {"token": token, "role": user.role, "expires_in_s": ttl,
                                "name": user.name}
        if user.role == "officer":
            body["officer_id"] = user.id
            body["branch"] = user.branch
        log.info("login", extra={"username": user.id, "role": user.role})
        return web.json_response(body)

    async def health(self, request: web.Request) -> web.Response:
        up = await self.service.store.healthy()
        self.service.metrics.store_up.set(1 if up else 0)
        body = {"status": "ok" if up else "degraded", "store": self.service.store.kind,
                "store_ok": up}
        return web.json_response(body, status=200 if up else 503)

    async def get_occupancy(self, request: web.Request) -> web.Response:
        user = self._user(request, "officer", "ops")
        branches = None if user.branch is None else [user.branch]
        return web.json_response(await occupancy(self.service, branches))

    async def audit(self, request: web.Request) -> web.Response:
        user = self._user(request, "ops")
        branch = self._branch_param(request, user)
        try:
            since = float(request.query["since"]) if "since" in request.query else None
            limit = min(10_000, int(request.query.get("limit", "1000")))
        except ValueError:
            raise ApiError(ErrorCode.INVALID, "since, limit: expected numbers") from None
        rows = await self.service.store.audit(branch, since=since, limit=limit)
        return web.json_response({"entries": [r.to_dict() for r in rows]})

    async def _visits(self, request: web.Request) -> list[dict[str, Any]]:
        user = self._user(request, "ops")
        try:
            since = float(request.query.get("since", "0"))
        except ValueError:
            raise ApiError(ErrorCode.INVALID, "since: expected a number") from None
        branch = self._branch_param(request, user)
        rows = await self.service.store.visits(branch, since=since)
        out = []
        for v in rows:
            d = v.to_dict()
            d["wait_s"] = v.wait_s
            d["handle_s"] = v.handle_s
            out.append(d)
        return out

    async def visits(self, request: web.Request) -> web.Response:
        return web.json_response({"visits": await self._visits(request)})

    async def visits_csv(self, request: web.Request) -> web.Response:
        rows = await self._visits(request)
        buffer = io.StringIO()
        fields = ["session_id", "branch", "booth_id", "officer_id", "ticket", "kind",
                  "created_at", "started_at", "ended_at", "wait_s", "handle_s", "outcome",
                  "reason", "note"]
        writer = csv.DictWriter(buffer, fieldnames=fields, extrasaction="ignore")
        writer.writeheader()
        for row in rows:
            for key in ("created_at", "started_at", "ended_at"):
                if row.get(key) is not None:
                    row[key] = time.strftime("%Y-%m-%dT%H:%M:%S%z", time.localtime(row[key]))
            writer.writerow(row)
        return web.Response(
            text=buffer.getvalue(), content_type="text/csv",
            headers={"Content-Disposition": 'attachment; filename="visits.csv"'},
        )

    async def metrics(self, request: web.Request) -> web.Response:
        # Store down: the gauges keep their last values and lapak_store_up says why.
        with contextlib.suppress(ApiError):
            await occupancy(self.service)
        return web.Response(
            body=self.service.metrics.exposition(),
            headers={"Content-Type": "text/plain; version=0.0.4; charset=utf-8"},
        )

    async def upload_document(self, request: web.Request) -> web.Response:
        booth_id = await self._booth(request)
        session_id = request.match_info["session_id"]
        if not SESSION_ID.match(session_id):
            raise ApiError(ErrorCode.INVALID, "session_id: malformed")
        kind = request.query.get("kind", "")
        limits = self.cfg.documents
        if request.content_length is not None and request.content_length > limits.max_bytes:
            raise ApiError(ErrorCode.TOO_LARGE, f"body: larger than {limits.max_bytes} bytes")
        data = await _read_limited(request, limits.max_bytes)
        branch = self.service.branch_of_booth(booth_id)
        state = await self.service.snapshot(branch)
        session = state.sessions.get(session_id)
        if session is None or session.booth_id != booth_id:
            raise ApiError(ErrorCode.FORBIDDEN, "session_id: not a session of this booth")
        checked = await asyncio.to_thread(
            check_image, data, request.content_type, max_bytes=limits.max_bytes,
            max_pixels=limits.max_pixels,
        )
        if kind not in DOCUMENT_KINDS:
            raise ApiError(ErrorCode.INVALID, f"kind: expected one of {', '.join(DOCUMENT_KINDS)}")
        if session.state != "active":
            raise ApiError(ErrorCode.CONFLICT, "session_id: the session has no officer now")
        document_id = self.vault.new_id()
        meta = DocumentMeta(
            document_id=document_id, branch=branch, session_id=session_id, booth_id=booth_id,
            officer_id=session.officer_id, kind=kind, content_type=request.content_type,
            sha256=self.vault.sha256(data), width=checked.width, height=checked.height,
            quality=checked.quality, created_at=self.service.clock(),
        )
        # Stored before the officer is told, so `document_ready` never points at nothing;
        # removed again if the session ended in between.
        await self.vault.put(meta, data)
        event = ev.DocumentUploaded(booth_id, session_id, document_id, kind,
                                    dict(checked.quality))
        try:
            await self.service.apply(branch, event)
        except ApiError:
            await self.vault.delete(document_id)
            raise
        self.service.metrics.documents.labels(kind).inc()
        return web.json_response(
            {"document_id": document_id, "sha256": meta.sha256, "width": checked.width,
             "height": checked.height, "quality": checked.quality},
            status=201,
        )

    async def get_document(self, request: web.Request) -> web.Response:
        _, user = self._claims(request)
        document_id = request.match_info["document_id"]
        if not DOCUMENT_ID.match(document_id):
            raise ApiError(ErrorCode.NOT_FOUND, "document_id: no such document")
        meta = await self.vault.meta(document_id)
        if meta is None:
            raise ApiError(ErrorCode.NOT_FOUND, "document_id: no such document (or expired)")
        allowed = False
        if user.role == "ops":
            allowed = user.branch is None or user.branch == meta.branch
        elif user.role == "officer" and user.branch == meta.branch:
            state = await self.service.snapshot(meta.branch)
            session = state.sessions.get(meta.session_id)
            current = session.officer_id if session is not None else None
            allowed = user.id in (current, meta.officer_id)
        await self._audit_read(meta, user.id, allowed)
        if not allowed:
            raise ApiError(ErrorCode.FORBIDDEN, "document_id: only the session's officer or ops")
        data = await self.vault.get(document_id)
        if data is None:
            raise ApiError(ErrorCode.NOT_FOUND, "document_id: no such document (or expired)")
        return web.Response(
            body=data, content_type=meta.content_type,
            headers={"Cache-Control": "no-store", "X-Content-Type-Options": "nosniff"},
        )

    async def _audit_read(self, meta: DocumentMeta, actor: str, allowed: bool) -> None:
        entry = AuditEntry(
            at=self.service.clock(), branch=meta.branch, actor=actor,
            event="document_read" if allowed else "document_read_refused",
            session_id=meta.session_id, from_state=None, to_state=None,
            reason=meta.document_id, booth_id=meta.booth_id, officer_id=meta.officer_id,
        )
        await self.service.store.transact(meta.branch, lambda _state: Result(audit=[entry]))


async def _read_limited(request: web.Request, limit: int) -> bytes:
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.content.iter_chunked(65536):
        size += len(chunk)
        if size > limit:
            raise ApiError(ErrorCode.TOO_LARGE, f"body: larger than {limit} bytes")
        chunks.append(chunk)
    return b"".join(chunks)
