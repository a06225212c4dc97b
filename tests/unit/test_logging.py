"""Structured logging never prints a secret."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator

import pytest

from booth_server.logging_setup import configure_logging

JWT = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJjc28xIn0.c2lnbmF0dXJlLXNpZ25hdHVyZQ"


@pytest.fixture
def root_restored() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    quiet = {name: logging.getLogger(name).level for name in ("engineio.server", "socketio.server")}
    yield
    for name, old in quiet.items():
        logging.getLogger(name).setLevel(old)
    for handler in list(root.handlers):
        if handler not in handlers:
            root.removeHandler(handler)
    root.setLevel(level)


def _configure(json_lines: bool = False, level: str = "INFO") -> io.StringIO:
    stream = io.StringIO()
    configure_logging(level, json=json_lines, stream=stream)
    return stream


@pytest.mark.usefixtures("root_restored")
def test_key_value_lines_with_extra_fields() -> None:
    stream = _configure()
    logging.getLogger("booth_server.test").info(
        "booth %s ready", "langsa-01", extra={"booth_id": "langsa-01", "queue_len": 3}
    )
    line = stream.getvalue().strip()
    assert "level=info" in line and "logger=booth_server.test" in line
    assert 'msg="booth langsa-01 ready"' in line
    assert "booth_id=langsa-01" in line and "queue_len=3" in line
    assert line.startswith("ts=") and "\n" not in line


@pytest.mark.usefixtures("root_restored")
def test_secret_fields_in_extra_are_redacted() -> None:
    stream = _configure()
    logging.getLogger("booth_server.test").warning(
        "login failed",
        extra={
            "token": "demo-token-langsa-01",
            "password": "hunter2",
            "turn_secret": "coturn-s3cret",
            "credential": "TWMHBUA4u2Hu",
            "auth": {"booth_id": "langsa-01", "token": "demo-token-langsa-02"},
            "headers": {"Authorization": f"Bearer {JWT}", "X-Booth-Id": "langsa-01"},
            "token_ttl_s": 3600,
        },
    )
    text = stream.getvalue()
    for secret in ("demo-token", "hunter2", "coturn-s3cret", "TWMHBUA4u2Hu", JWT[-20:]):
        assert secret not in text
    assert "X-Booth-Id" in text and "langsa-01" in text and "token_ttl_s=3600" in text


@pytest.mark.usefixtures("root_restored")
def test_message_args_and_tracebacks_are_scrubbed() -> None:
    stream = _configure()
    log = logging.getLogger("some.library")
    log.info("connect auth=%s", {"token": "demo-token-langsa-03"})
    log.info("Authorization: Bearer %s", JWT)
    log.info("redis at redis://:p4ssw0rd@redis.internal:6379/0")
    try:
        raise RuntimeError("bad password=hunter2")
    except RuntimeError:
        log.exception("login crashed")
    text = stream.getvalue()
    for secret in ("demo-token-langsa-03", JWT[-20:], "p4ssw0rd", "hunter2"):
        assert secret not in text
    assert "RuntimeError" in text and "redis.internal" in text


@pytest.mark.usefixtures("root_restored")
def test_json_lines() -> None:
    stream = _configure(json_lines=True)
    log = logging.getLogger("booth_server.test")
    log.info("offer sent", extra={"session_id": "s1", "officer_id": "cso1", "secret": "x" * 20})
    log.error('quote " and\nnewline')
    records = [json.loads(line) for line in stream.getvalue().splitlines()]
    assert records[0]["msg"] == "offer sent" and records[0]["session_id"] == "s1"
    assert records[0]["level"] == "info" and records[0]["officer_id"] == "cso1"
    assert "x" * 20 not in records[0]["secret"]
    assert records[1]["msg"] == 'quote " and\nnewline'


@pytest.mark.usefixtures("root_restored")
def test_configure_is_idempotent_and_sets_level() -> None:
    before = len(logging.getLogger().handlers)
    _configure(level="WARNING")
    stream = _configure(level="warning")
    assert len(logging.getLogger().handlers) == before + 1
    logging.getLogger("booth_server.test").info("hidden")
    logging.getLogger("booth_server.test").warning("shown")
    assert "hidden" not in stream.getvalue() and "shown" in stream.getvalue()


def test_unknown_level() -> None:
    with pytest.raises(ValueError, match="unknown log level"):
        configure_logging("LOUD")
