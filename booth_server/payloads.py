"""Validation of every client-to-server payload of the wire contract.

Each model forbids unknown fields and bounds every string, so a typo or an oversized value is
answered with an `invalid` error naming the field instead of reaching the dispatcher.
"""

from __future__ import annotations

import json
from typing import Annotated, Any, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError

from booth_server.errors import ApiError, ErrorCode

Id = Annotated[str, StringConstraints(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.:-]+$")]
Reason = Annotated[str, StringConstraints(max_length=200)]
DocumentKind = Literal["ktp", "kpj", "kk", "paklaring", "bank_book", "npwp", "other"]


class _Payload(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ReadyPayload(_Payload):
    ticket: Annotated[str, StringConstraints(max_length=32)] | None = None
    kind: Literal["individual", "collective"] = "individual"
    priority: Annotated[int, Field(ge=0, le=9, strict=True)] = 0


class SessionDescription(_Payload):
    type: Literal["offer", "answer"]
    sdp: str


class IceCandidate(_Payload):
    candidate: Annotated[str, StringConstraints(max_length=2048)]
    sdpMid: Annotated[str, StringConstraints(max_length=64)] | None = None
    sdpMLineIndex: Annotated[int, Field(ge=0, le=64)] | None = None
    usernameFragment: Annotated[str, StringConstraints(max_length=256)] | None = None


class SignalPayload(_Payload):
    session_id: Id
    description: SessionDescription | None = None
    candidate: IceCandidate | None = None


class CancelPayload(_Payload):
    session_id: Id
    reason: Reason | None = None


class HealthPayload(_Payload):
    camera: Literal["ok", "fault"]
    document_camera: Literal["ok", "fault", "absent"] | None = None


class SetStatusPayload(_Payload):
    status: Literal["available", "paused"]


class SessionPayload(_Payload):
    session_id: Id


class DeclinePayload(_Payload):
    session_id: Id
    reason: Reason | None = None


class FocusPayload(_Payload):
    session_id: Id | None


class RequestDocumentPayload(_Payload):
    session_id: Id
    kind: DocumentKind


class ReviewDocumentPayload(_Payload):
    document_id: Id
    status: Literal["approved", "rejected"]
    reason: Reason | None = None


class CompletePayload(_Payload):
    session_id: Id
    outcome: Literal["claim_submitted", "incomplete_documents", "referred", "other"]
    note: Annotated[str, StringConstraints(max_length=2000)] | None = None


class TransferPayload(_Payload):
    session_id: Id
    officer_id: Id | None = None


class OutOfServicePayload(_Payload):
    booth_id: Id
    out_of_service: Annotated[bool, Field(strict=True)]
    reason: Reason | None = None


class OfficerStatusPayload(_Payload):
    officer_id: Id
    status: Literal["available", "paused"]


class EmptyPayload(_Payload):
    """Events that take no fields: anything sent along is a mistake worth reporting."""


class BoothAuth(_Payload):
    booth_id: Id
    token: Annotated[str, StringConstraints(min_length=1, max_length=512)]


class TokenAuth(_Payload):
    token: Annotated[str, StringConstraints(min_length=1, max_length=4096)]


class LoginPayload(_Payload):
    username: Annotated[str, StringConstraints(min_length=1, max_length=64)]
    password: Annotated[str, StringConstraints(min_length=1, max_length=256)]


P = TypeVar("P", bound=BaseModel)


def describe_validation_error(exc: ValidationError) -> str:
    parts = []
    for error in exc.errors()[:3]:
        loc = ".".join(str(x) for x in error["loc"]) or "payload"
        parts.append(f"{loc}: {error['msg']}")
    return "; ".join(parts)


def parse(model: type[P], data: Any) -> P:
    """The payload as `model`, or an `invalid` ApiError naming the offending field."""
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ApiError(ErrorCode.INVALID, "payload: expected a JSON object")
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise ApiError(ErrorCode.INVALID, describe_validation_error(exc)) from None


def payload_size(data: Any) -> int:
    """Size of a payload as it travels (JSON), for the per-event limit."""
    try:
        return len(json.dumps(data, separators=(",", ":"), ensure_ascii=False).encode())
    except (TypeError, ValueError):
        return 0
