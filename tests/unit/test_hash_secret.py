"""`lapak-asik hash-secret`."""

from __future__ import annotations

import base64
import io
import re
import subprocess
import sys

import pytest

from booth_server.config import DocumentsConfig
from booth_server.hash_secret import main
from booth_server.security import verify_secret


def test_stdin_prints_a_verifying_hash(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(sys, "stdin", io.StringIO("correct horse battery\nsecond line\n"))
    assert main(["--stdin"]) == 0
    out = capsys.readouterr()
    stored = out.out.strip()
    assert stored.startswith("$argon2id$") and "\n" not in stored
    assert verify_secret(stored, "correct horse battery")
    assert "correct horse" not in out.out + out.err


def test_stdin_empty_is_refused(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(sys, "stdin", io.StringIO("\n"))
    assert main(["--stdin"]) == 1
    out = capsys.readouterr()
    assert out.out == "" and "empty" in out.err


def test_short_secret_warns_but_hashes(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(sys, "stdin", io.StringIO("demo\r\n"))
    assert main(["--stdin"]) == 0
    out = capsys.readouterr()
    assert "warning" in out.err
    assert out.out.startswith("$argon2id$")


def test_prompt_twice_mismatch(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    answers = iter(["first-password", "second-password"])
    monkeypatch.setattr("getpass.getpass", lambda prompt="": next(answers))
    assert main([]) == 1
    out = capsys.readouterr()
    assert out.out == "" and "differ" in out.err


def test_prompt_cancelled(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def cancel(prompt: str = "") -> str:
        raise KeyboardInterrupt

    monkeypatch.setattr("getpass.getpass", cancel)
    assert main([]) == 1
    assert "cancelled" in capsys.readouterr().err


def test_generate_token_prints_token_and_matching_hash(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--generate-token"]) == 0
    out = capsys.readouterr().out
    token = re.search(r'^token = "([^"]+)"', out, re.M)
    stored = re.search(r'^token_hash = "([^"]+)"', out, re.M)
    assert token and stored
    assert len(token.group(1)) >= 40
    assert verify_secret(stored.group(1), token.group(1))


def test_generate_key_is_a_valid_document_key(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--generate-key"]) == 0
    first = capsys.readouterr().out.strip()
    assert len(base64.b64decode(first, validate=True)) == 32
    DocumentsConfig.model_validate({"key": first})
    main(["--generate-key"])
    assert capsys.readouterr().out.strip() != first


def test_modes_are_exclusive(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(["--stdin", "--generate-key"])
    assert info.value.code == 2


def test_runs_as_a_module() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "booth_server.hash_secret", "--generate-key"],
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    assert len(base64.b64decode(done.stdout.strip())) == 32
