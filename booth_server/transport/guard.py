"""The common front door of every Socket.IO namespace: size, rate and error handling.

Each event is looked up in the namespace's handler table; unknown events, oversized payloads,
clients over their rate and invalid payloads get an error ack, and no handler failure can reach
python-socketio (which would drop the event without an ack) or other clients.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import socketio

from booth_server.config import AppConfig, UserConfig
from booth_server.errors import ApiError, ErrorCode, error_ack
from booth_server.payloads import TokenAuth, parse, payload_size
from booth_server.security import RateLimiter, verify_token
from booth_server.service import BoothService

log = logging.getLogger("lapak.transport")

Handler = Callable[["Party", Any], Awaitable[dict[str, Any]]]


@dataclass
class Party:
    sid: str
    role: str  # "booth", "officer" or "ops"
    id: str
    branch: str | None


class GuardedNamespace(socketio.AsyncNamespace):  # type: ignore[misc]
    role = "client"

    def __init__(self, namespace: str, cfg: AppConfig, service: BoothService) -> None:
        super().__init__(namespace)
        self.cfg = cfg
        self.service = service
        self.metrics = service.metrics
        self.max_event_bytes = cfg.limits.max_event_bytes
        self.limiter = RateLimiter(cfg.limits.rate_per_s, cfg.limits.rate_burst)
        self.parties: dict[str, Party] = {}
        self.handlers: dict[str, Handler] = {}

    def authenticate_user(self, auth: Any, role: str) -> UserConfig:
        """The configured user behind a bearer token in `auth`, if it has `role`."""
        try:
            creds = parse(TokenAuth, auth)
        except ApiError:
            raise refuse(ErrorCode.UNAUTHORIZED, "auth: expected {token}") from None
        claims = verify_token(
            self.cfg.server.secret.get_secret_value(), creds.token, self.service.clock()
        )
        user = self.cfg.user(claims.subject) if claims else None
        if user is None:
            raise refuse(ErrorCode.UNAUTHORIZED, "auth: invalid or expired token")
        if user.role != role:
            raise refuse(ErrorCode.FORBIDDEN, f"role: the {self.namespace} namespace is for "
                                              f"{role} users")
        return user

    async def trigger_event(self, event: str, *args: Any) -> Any:
        if event in ("connect", "disconnect"):
            return await super().trigger_event(event, *args)
        sid = args[0]
        data = args[1] if len(args) > 1 else None
        ack = await self._handle(event, sid, data, extra=len(args) > 2)
        ok = "ok" if ack.get("ok") else ack["error"]["code"]
        self.metrics.events.labels(self.namespace, event if event in self.handlers else "?",
                                   ok).inc()
        return ack

    async def _handle(self, event: str, sid: str, data: Any, *, extra: bool) -> dict[str, Any]:
        party = self.parties.get(sid)
        if party is None:
            return error_ack(ErrorCode.UNAUTHORIZED, "not connected to this namespace")
        if not self.limiter.allow(sid, time.monotonic()):
            return error_ack(ErrorCode.RATE_LIMITED, "too many events: slow down")
        handler = self.handlers.get(event)
        if handler is None:
            return error_ack(ErrorCode.NOT_FOUND, f"event: unknown event {event[:64]!r}")
        if extra:
            return error_ack(ErrorCode.INVALID, "payload: expected a single JSON object")
        if payload_size(data) > self.max_event_bytes:
            return error_ack(
                ErrorCode.TOO_LARGE, f"payload: larger than {self.max_event_bytes} bytes"
            )
        try:
            return await handler(party, data)
        except ApiError as exc:
            return exc.ack()
        except Exception:
            log.exception("handler failed", extra={"event": event, "role": party.role})
            return error_ack(ErrorCode.UNAVAILABLE, "internal error; the event was not applied")

    def forget(self, sid: str) -> Party | None:
        self.limiter.forget(sid)
        return self.parties.pop(sid, None)


def refuse(code: ErrorCode, message: str) -> socketio.exceptions.ConnectionRefusedError:
    """A refused connection: the client's connect_error carries {code, message}."""
    return socketio.exceptions.ConnectionRefusedError({"code": str(code), "message": message})
