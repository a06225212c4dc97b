"""Structured logging without secrets.

One line per record, either ``key=value`` (logfmt, for people) or JSON (for collectors). Fields
given with ``extra=`` become keys of the line. A filter on the handler removes credentials from
every record, whichever library logged it: ``extra`` fields whose name says token, password,
secret, credential, authorization or key are replaced, and bearer tokens, JWTs, ``token=...``
pairs and URL passwords are scrubbed from the message and the traceback.

    log.info("booth connected", extra={"booth_id": "langsa-01", "token": token})
    -> ts=2024-05-01T08:00:00.123Z level=info logger=booth_server.transport.booth
       msg="booth connected" booth_id=langsa-01 token=<redacted:1f0c2a9b>
"""

from __future__ import annotations

import json as jsonlib
import logging
import re
import sys
import time
from collections.abc import Mapping
from typing import Any, TextIO

from .security import redact, scrub

__all__ = ["RedactingFilter", "configure_logging", "record_fields"]

# Attributes every LogRecord has; anything else on a record came from ``extra=``.
_RESERVED = frozenset(vars(logging.LogRecord("x", logging.INFO, "x", 0, "x", None, None))) | {
    "message",
    "asctime",
    "taskName",
}

_SECRET_FIELD = re.compile(
    r"(?i)(token|passw(or)?d|secret|credential|authorization|cookie|(^|_)key$|^auth$)"
)
_HANDLER_MARK = "_lapak_asik_handler"


def _is_secret_field(name: str) -> bool:
    return bool(_SECRET_FIELD.search(name))


def _clean(name: str, value: Any, depth: int = 0) -> Any:
    """``value`` of field ``name`` with secrets replaced (nested dicts/lists too)."""
    if _is_secret_field(name):
        if value is None or isinstance(value, bool | int | float):
            return value  # a count or a flag (token_ttl_s, has_password), not a secret
        if isinstance(value, str):
            return redact(value)
        if isinstance(value, Mapping) and depth < 4:
            return {str(k): _clean(str(k), v, depth + 1) for k, v in value.items()}
        return "<redacted>"
    if isinstance(value, str):
        return scrub(value)
    if depth >= 4:
        return value
    if isinstance(value, Mapping):
        return {str(k): _clean(str(k), v, depth + 1) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_clean(name, v, depth + 1) for v in value]
    return value


class RedactingFilter(logging.Filter):
    """Removes credentials from a record in place (attach it to handlers, not loggers)."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a bad format string must not lose the record
            message = f"{record.msg!s} {record.args!r}"
        record.msg = scrub(message)
        record.args = None
        for name in list(vars(record)):
            if name not in _RESERVED and not name.startswith("_"):
                setattr(record, name, _clean(name, getattr(record, name)))
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = scrub(record.exc_text)
        if record.stack_info:
            record.stack_info = scrub(record.stack_info)
        return True


def record_fields(record: logging.LogRecord) -> dict[str, Any]:
    """The ``extra`` fields of a record."""
    return {k: v for k, v in vars(record).items() if k not in _RESERVED and not k.startswith("_")}


def _timestamp(record: logging.LogRecord) -> str:
    seconds = int(record.created)
    millis = int((record.created - seconds) * 1000)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds)) + f".{millis:03d}Z"


def _base(record: logging.LogRecord) -> dict[str, Any]:
    return {
        "ts": _timestamp(record),
        "level": record.levelname.lower(),
        "logger": record.name,
        "msg": record.getMessage(),
    }


def _trailer(record: logging.LogRecord) -> str | None:
    text = record.exc_text
    if record.exc_info and not text:
        text = logging.Formatter().formatException(record.exc_info)
    if record.stack_info:
        text = f"{text}\n{record.stack_info}" if text else record.stack_info
    return text


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line = _base(record)
        for key, value in record_fields(record).items():
            line.setdefault(key, value)
        trailer = _trailer(record)
        if trailer:
            line["exc"] = trailer
        return jsonlib.dumps(line, default=str, ensure_ascii=False)


_BARE = re.compile(r"^[^\s\"=\\]+$")


def _logfmt_value(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    text = value if isinstance(value, str) else jsonlib.dumps(value, default=str)
    if _BARE.match(text):
        return text
    return jsonlib.dumps(text, ensure_ascii=False)


class KeyValueFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        fields = _base(record)
        for key, value in record_fields(record).items():
            fields.setdefault(key, value)
        line = " ".join(f"{k}={_logfmt_value(v)}" for k, v in fields.items())
        trailer = _trailer(record)
        if trailer:
            line += "\n" + trailer
        return line


def configure_logging(
    level: str = "INFO", json: bool = False, stream: TextIO | None = None
) -> logging.Handler:
    """Install one redacting, structured handler on the root logger (idempotent).

    Returns the handler (tests attach to it; ``stream`` defaults to stderr).
    """
    numeric = logging.getLevelName(level.upper())
    if not isinstance(numeric, int):
        raise ValueError(
            f"unknown log level {level!r} (expected DEBUG, INFO, WARNING, ERROR or CRITICAL)"
        )
    root = logging.getLogger()
    for old in list(root.handlers):
        if getattr(old, _HANDLER_MARK, False):
            root.removeHandler(old)
            old.close()
    handler = logging.StreamHandler(stream if stream is not None else sys.stderr)
    setattr(handler, _HANDLER_MARK, True)
    handler.addFilter(RedactingFilter())
    handler.setFormatter(JsonFormatter() if json else KeyValueFormatter())
    root.addHandler(handler)
    root.setLevel(numeric)
    # Socket.IO / Engine.IO packet logging would print auth payloads; keep them quiet unless
    # explicitly debugging (the filter would still scrub them).
    for noisy in ("engineio.server", "socketio.server"):
        logging.getLogger(noisy).setLevel(max(numeric, logging.WARNING))
    return handler
