"""Configuration: the embedded demo, every validation error path, env overrides, --production."""

from __future__ import annotations

import base64
import copy
import secrets
import tomllib
from pathlib import Path
from typing import Any

import pytest
from argon2 import PasswordHasher

from booth_server.config import (
    DEMO_DOCUMENT_KEY,
    DEMO_SECRET,
    AppConfig,
    ConfigError,
    DocumentsConfig,
    default_config_path,
    load_config,
    parse_config,
    production_problems,
)
from booth_server.security import verify_secret

REPO = Path(__file__).resolve().parents[2]
# Cheap argon2 parameters: verification reads them from the hash, so tests stay fast while
# exercising the same code path as production hashes.
_CHEAP = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)
GOOD_SECRET = "x" * 40
GOOD_KEY = base64.b64encode(b"k" * 32).decode()
SOURCE = Path("test.toml")


def cheap_hash(plain: str) -> str:
    return _CHEAP.hash(plain)


_BOOTH_HASH = cheap_hash("booth-token-not-demo")
_USER_HASH = cheap_hash("a-real-password")


def base_doc() -> dict[str, Any]:
    return {
        "server": {"secret": GOOD_SECRET},
        "documents": {"key": GOOD_KEY},
        "branches": [{"id": "langsa", "name": "Langsa"}],
        "booths": [
            {"id": "langsa-01", "branch": "langsa", "label": "Bilik 01", "token_hash": _BOOTH_HASH},
            {"id": "langsa-02", "branch": "langsa", "label": "Bilik 02", "token_hash": _BOOTH_HASH},
        ],
        "users": [
            {"id": "cso1", "name": "Petugas Satu", "branch": "langsa", "password_hash": _USER_HASH},
            {"id": "ops", "name": "Ops", "role": "ops", "password_hash": _USER_HASH},
        ],
    }


def problems_of(doc: dict[str, Any], env: dict[str, str] | None = None) -> list[str]:
    with pytest.raises(ConfigError) as info:
        parse_config(doc, source=SOURCE, env=env or {})
    text = str(info.value)
    lines = text.splitlines()
    assert lines == [f"{SOURCE}: {p}" for p in info.value.problems]
    return lines


# --------------------------------------------------------------------------- the embedded demo


@pytest.fixture(scope="module")
def demo() -> AppConfig:
    return load_config(default_config_path(), env={})


@pytest.fixture(scope="module")
def demo_problems(demo: AppConfig) -> list[str]:
    return production_problems(demo)


def test_default_config_path_is_the_repo_file() -> None:
    assert default_config_path() == REPO / "config" / "default.toml"


def test_default_toml_is_the_contract_demo(demo: AppConfig) -> None:
    assert [b.id for b in demo.branches] == ["langsa"]
    assert demo.branches[0].name == "Langsa"
    assert [b.id for b in demo.booths] == [f"langsa-{i:02d}" for i in range(1, 13)]
    assert all(b.branch == "langsa" and b.label.endswith(b.id[-2:]) for b in demo.booths)
    officers = demo.officers_of("langsa")
    assert [u.id for u in officers] == ["cso1", "cso2", "cso3"]
    assert all(u.capacity == 5 and u.role == "officer" for u in officers)
    ops = demo.user("ops")
    assert ops is not None and ops.role == "ops" and ops.branch is None
    assert demo.server.host == "127.0.0.1" and demo.server.port == 8080
    assert demo.server.secret.get_secret_value() == DEMO_SECRET
    assert demo.documents.key.get_secret_value() == DEMO_DOCUMENT_KEY
    assert demo.documents.key_bytes() == b"LAPAK-ASIK-DEMO-DOCUMENT-KEY-32B"
    assert demo.redis.url is None
    assert demo.dispatch.offer_timeout_s == 15 and demo.dispatch.officer_grace_s == 20


def test_default_toml_stores_only_argon2id_hashes() -> None:
    data = tomllib.loads((REPO / "config" / "default.toml").read_text())

    def strings(node: Any) -> list[str]:
        if isinstance(node, str):
            return [node]
        if isinstance(node, dict):
            return [s for v in node.values() for s in strings(v)]
        if isinstance(node, list):
            return [s for v in node for s in strings(v)]
        return []

    values = strings(data)
    assert not any("demo-token" in v or v == "demo" for v in values)
    hashes = [b["token_hash"] for b in data["booths"]] + [u["password_hash"] for u in data["users"]]
    assert all(h.startswith("$argon2id$") for h in hashes)
    assert len(set(hashes)) == len(hashes)  # salted: each hash is different


def test_demo_hashes_verify_the_demo_credentials(demo: AppConfig, demo_problems: list[str]) -> None:
    # production_problems verifies every booth against demo-token-<id> and every user against
    # "demo", so the demo config must be flagged once per booth and user.
    for i, booth in enumerate(demo.booths):
        assert any(p.startswith(f"booths[{i}].token_hash") and booth.id in p for p in demo_problems)
    for i, user in enumerate(demo.users):
        assert any(
            p.startswith(f"users[{i}].password_hash") and user.id in p for p in demo_problems
        )
    # and nothing else verifies: a neighbour's token, a different case
    booth7, cso2 = demo.booth("langsa-07"), demo.user("cso2")
    assert booth7 is not None and cso2 is not None
    assert not verify_secret(booth7.token_hash, "demo-token-langsa-08")
    assert not verify_secret(cso2.password_hash, "Demo")


def test_production_problems_flags_demo_secret_and_key(demo_problems: list[str]) -> None:
    assert any(p.startswith("server.secret") for p in demo_problems)
    assert any(p.startswith("documents.key") for p in demo_problems)
    # loopback host: no TLS complaint for the demo
    assert not any("tls" in p for p in demo_problems)
    assert len(demo_problems) == 2 + 12 + 4


def test_lookup_helpers(demo: AppConfig) -> None:
    assert demo.booth("langsa-12") is not None
    assert demo.booth("langsa-13") is None
    assert demo.user("nobody") is None
    assert len(demo.booths_of("langsa")) == 12
    assert demo.booths_of("elsewhere") == [] and demo.officers_of("elsewhere") == []
    assert demo.branch("langsa") is not None and demo.branch("x") is None
    # a copy with other booths must not answer from the original's index
    fewer = demo.model_copy(update={"booths": demo.booths[:1]})
    assert fewer.booth("langsa-12") is None and fewer.booth("langsa-01") is not None
    assert demo.booth("langsa-12") is not None


def test_config_is_immutable(demo: AppConfig) -> None:
    with pytest.raises(ValueError):
        demo.server.port = 1  # type: ignore[misc]


# --------------------------------------------------------------------------- validation errors


def _set(doc: dict[str, Any], dotted: str, value: Any) -> None:
    node: Any = doc
    parts = dotted.replace("]", "").replace("[", ".").split(".")
    for part in parts[:-1]:
        node = node[int(part)] if part.isdigit() else node.setdefault(part, {})
    last = parts[-1]
    if value is _DELETE:
        del node[int(last) if last.isdigit() else last]
    elif last.isdigit():
        node[int(last)] = value
    else:
        node[last] = value


_DELETE = object()

# (dotted key to set, value, expected problem line after the file name)
INVALID: list[tuple[str, Any, str]] = [
    ("surprise", 1, "surprise: unknown key (expected one of: server, dispatch, limits, ice,"),
    ("users[0].capacityy", 3, "users[0].capacityy: unknown key (expected one of: id, name, role,"),
    ("server.tls", True, "server.tls: unknown key (expected one of: host, port, secret,"),
    ("ice.servers", [{"urls": ["stun:a"], "user": "x"}], "ice.servers[0].user: unknown key"),
    ("server.port", 70000, "server.port: expected a value ≤ 65535, got 70000"),
    ("server.port", 0, "server.port: expected a value ≥ 1, got 0"),
    ("server.port", "8080", "server.port: expected a whole number, got '8080'"),
    ("server.host", "", "server.host: expected a non-empty value"),
    (
        "server.secret",
        _DELETE,
        "server.secret: missing (expected a value here or in the "
        "environment variable LAPAK_SECRET)",
    ),
    ("server.secret", "short-secret", "server.secret: expected a secret of at least 16 characters"),
    ("server.token_ttl_s", 0, "server.token_ttl_s: expected a value > 0, got 0"),
    (
        "server.tls_cert",
        "/nonexistent/cert.pem",
        "server.tls_cert: expected an existing file, '/nonexistent/cert.pem' is not one",
    ),
    ("dispatch", 5, "dispatch: expected a table, got 5"),
    ("dispatch.offer_timeout_s", 0, "dispatch.offer_timeout_s: expected a value > 0, got 0"),
    ("dispatch.booth_grace_s", -1.5, "dispatch.booth_grace_s: expected a value > 0, got -1.5"),
    ("dispatch.wait_alert_s", "ten", "dispatch.wait_alert_s: expected a number, got 'ten'"),
    ("limits.rate_burst", 0, "limits.rate_burst: expected a value ≥ 1, got 0"),
    (
        "limits.max_sdp_bytes",
        300000,
        "limits.max_sdp_bytes: expected at most max_event_bytes (262144)",
    ),
    ("ice.servers", [{"urls": []}], "ice.servers[0].urls: expected a non-empty value"),
    (
        "ice.servers",
        [{"urls": ["http://stun.example.org"]}],
        "ice.servers[0].urls: expected URLs starting with stun:, stuns:, turn: or turns:",
    ),
    (
        "ice.servers",
        [{"urls": ["turn:turn.example.org"]}],
        "ice.servers[0].username: expected username and credential for a turn:/turns: server",
    ),
    (
        "ice.servers",
        [{"urls": ["turn:t.example.org"], "username": "u"}],
        "ice.servers[0].credential: expected username and credential",
    ),
    (
        "ice.turn_urls",
        ["turn:turn.example.org"],
        "ice.turn_secret: expected the coturn static-auth-secret",
    ),
    (
        "ice.turn_urls",
        ["stun:stun.example.org"],
        "ice.turn_urls: expected URLs starting with turn: or turns:, got 'stun:stun.example.org'",
    ),
    ("ice.turn_ttl_s", 0, "ice.turn_ttl_s: expected a value > 0"),
    ("documents.key", "not base64!", "documents.key: expected standard base64 of a 32-byte key"),
    (
        "documents.key",
        base64.b64encode(b"x" * 16).decode(),
        "documents.key: expected base64 of exactly 32 bytes, it decodes to 16",
    ),
    (
        "documents.key",
        _DELETE,
        "documents.key: missing (expected a value here or in the "
        "environment variable LAPAK_DOCUMENT_KEY)",
    ),
    ("documents.max_pixels", 0, "documents.max_pixels: expected a value > 0"),
    (
        "redis.url",
        "http://localhost:6379",
        "redis.url: expected a URL starting with redis://, rediss:// or unix://",
    ),
    ("branches", [], "branches: expected a non-empty value"),
    ("branches[0].id", "Langsa!", "branches[0].id: expected an id of 1-32 characters a-z, 0-9"),
    ("branches[0].name", _DELETE, "branches[0].name: missing (expected a value for this"),
    ("booths[1].id", "x" * 33, "booths[1].id: expected an id of 1-32 characters"),
    (
        "booths[0].token_hash",
        "demo-token-langsa-01",
        "booths[0].token_hash: expected an argon2 hash starting with '$argon2'",
    ),
    (
        "booths[1].branch",
        "nowhere",
        "booths[1].branch: expected one of the configured branches (langsa), got 'nowhere'",
    ),
    (
        "booths[1].id",
        "langsa-01",
        "booths[1].id: expected a unique id, 'langsa-01' is already booths[0]",
    ),
    ("booths", "langsa-01", "booths: expected a list, got 'langsa-01'"),
    ("users[0].capacity", 7, "users[0].capacity: expected a value ≤ 6, got 7"),
    ("users[0].capacity", 0, "users[0].capacity: expected a value ≥ 1, got 0"),
    ("users[0].role", "admin", "users[0].role: expected one of 'officer' or 'ops', got 'admin'"),
    ("users[0].branch", _DELETE, "users[0].branch: expected the branch id an officer works for"),
    (
        "users[1].branch",
        "atlantis",
        "users[1].branch: expected one of the configured branches (langsa), got 'atlantis'",
    ),
    ("users[0].auto_accept", "yes", "users[0].auto_accept: expected true or false, got 'yes'"),
    ("users[0].id", "Budi Santoso", "users[0].id: expected a username of 1-32 characters"),
    ("users[1].id", "cso1", "users[1].id: expected a unique id, 'cso1' is already users[0]"),
    ("users[0].password_hash", "demo", "users[0].password_hash: expected an argon2 hash"),
]


@pytest.mark.parametrize(("key", "value", "expected"), INVALID, ids=[c[0] for c in INVALID])
def test_each_invalid_value_names_file_key_and_expectation(
    key: str, value: Any, expected: str
) -> None:
    doc = base_doc()
    _set(doc, key, value)
    lines = problems_of(doc)
    assert any(line.startswith(f"{SOURCE}: {expected}") for line in lines), lines


def test_secret_values_are_never_echoed() -> None:
    doc = base_doc()
    doc["server"]["secret"] = "tiny-secret"
    doc["documents"]["key"] = "c2VjcmV0LWtleQ=="
    doc["ice"] = {"servers": [{"urls": ["turn:t"], "username": "u", "credential": 5}]}
    text = "\n".join(problems_of(doc))
    assert "tiny-secret" not in text and "c2VjcmV0LWtleQ" not in text
    assert "ice.servers[0].credential: expected a string" in text


def test_one_line_per_problem() -> None:
    doc = base_doc()
    doc["server"]["port"] = 99999
    doc["users"][0]["capacity"] = 9
    doc["booths"][1]["branch"] = "nowhere"
    doc["extra"] = {}
    lines = problems_of(doc)
    assert len(lines) == 3  # cross-references are checked once the sections themselves are valid
    doc["server"]["port"] = 80
    doc["users"][0]["capacity"] = 1
    del doc["extra"]
    doc["users"][1]["branch"] = "nowhere"
    assert len(problems_of(doc)) == 2


def test_tls_needs_both_files(tmp_path: Path) -> None:
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert.write_text("cert")
    key.write_text("key")
    doc = base_doc()
    doc["server"]["tls_cert"] = str(cert)
    lines = problems_of(doc)
    assert lines == [
        f"{SOURCE}: server.tls_key: expected tls_cert and tls_key together, or neither"
    ]
    doc["server"]["tls_key"] = str(key)
    cfg = parse_config(doc, source=SOURCE, env={})
    assert cfg.server.tls_enabled and cfg.server.tls_cert == cert


def test_valid_document_with_defaults() -> None:
    cfg = parse_config(base_doc(), source=SOURCE, env={})
    assert cfg.limits.max_event_bytes == 262144 and cfg.limits.max_sdp_bytes == 65536
    assert cfg.ice.servers == [] and cfg.ice.turn_ttl_s == 3600
    assert cfg.documents.storage_dir == Path("var/documents")
    assert cfg.users[0].capacity == 5 and cfg.users[0].auto_accept is False
    assert cfg.dispatch.unfocused_alert_s == 90


# --------------------------------------------------------------------------- files


def test_missing_file_names_it(tmp_path: Path) -> None:
    path = tmp_path / "nope.toml"
    with pytest.raises(ConfigError) as info:
        load_config(path, env={})
    assert str(info.value) == f"{path}: file not found (expected a TOML configuration file)"


def test_directory_is_not_a_config(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="is a directory"):
        load_config(tmp_path, env={})


def test_toml_syntax_error_names_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "broken.toml"
    path.write_text('[server]\nport = 8080\nsecret = "unterminated\n')
    with pytest.raises(ConfigError) as info:
        load_config(path, env={})
    message = str(info.value)
    assert message.startswith(f"{path}: line 3: TOML syntax error")


def test_not_utf8(tmp_path: Path) -> None:
    path = tmp_path / "latin1.toml"
    path.write_bytes(b'[server]\nhost = "\xe9"\n')
    with pytest.raises(ConfigError, match="expected UTF-8"):
        load_config(path, env={})


def test_file_errors_name_the_file_and_dotted_key(tmp_path: Path) -> None:
    text = (REPO / "config" / "default.toml").read_text()
    path = tmp_path / "edited.toml"
    path.write_text(
        text.replace(
            'id = "cso3"\nname = "Petugas Tiga"\nrole = "officer"\nbranch = "langsa"\ncapacity = 5',
            'id = "cso3"\nname = "Petugas Tiga"\nrole = "officer"\nbranch = "langsa"\ncapacity = 8',
            1,
        )
    )
    with pytest.raises(ConfigError) as info:
        load_config(path, env={})
    assert str(info.value) == f"{path}: users[2].capacity: expected a value ≤ 6, got 8"


# --------------------------------------------------------------------------- environment


def test_env_overrides_secrets_and_deployment() -> None:
    key = base64.b64encode(secrets.token_bytes(32)).decode()
    doc = base_doc()
    doc["ice"] = {"turn_urls": ["turns:turn.example.org:5349"]}
    env = {
        "LAPAK_SECRET": "s" * 48,
        "LAPAK_DOCUMENT_KEY": key,
        "LAPAK_TURN_SECRET": "coturn-shared",
        "LAPAK_REDIS_URL": "redis://:pw@redis.internal:6379/0",
        "LAPAK_HOST": "0.0.0.0",
        "LAPAK_PORT": "9443",
        "UNRELATED": "x",
    }
    cfg = parse_config(doc, source=SOURCE, env=env)
    assert cfg.server.secret.get_secret_value() == "s" * 48
    assert cfg.documents.key.get_secret_value() == key
    assert cfg.ice.turn_secret is not None
    assert cfg.ice.turn_secret.get_secret_value() == "coturn-shared"
    assert cfg.redis.url == "redis://:pw@redis.internal:6379/0"
    assert cfg.server.host == "0.0.0.0" and cfg.server.port == 9443


def test_env_fills_missing_sections_and_empty_vars_are_unset() -> None:
    doc = base_doc()
    del doc["server"]
    cfg = parse_config(doc, source=SOURCE, env={"LAPAK_SECRET": "e" * 20, "LAPAK_REDIS_URL": ""})
    assert cfg.server.secret.get_secret_value() == "e" * 20 and cfg.redis.url is None


def test_env_errors_name_the_variable() -> None:
    lines = problems_of(base_doc(), env={"LAPAK_PORT": "http"})
    assert lines == [f"{SOURCE}: server.port (from LAPAK_PORT): expected a whole number 1..65535"]
    lines = problems_of(base_doc(), env={"LAPAK_PORT": "70000"})
    assert lines == [
        f"{SOURCE}: server.port (from LAPAK_PORT): expected a value ≤ 65535, got 70000"
    ]
    lines = problems_of(base_doc(), env={"LAPAK_SECRET": "short"})
    assert lines[0].startswith(f"{SOURCE}: server.secret (from LAPAK_SECRET): expected a secret")
    assert "short" not in lines[0].split("expected")[1]
    lines = problems_of(base_doc(), env={"LAPAK_DOCUMENT_KEY": "abc"})
    assert lines[0].startswith(f"{SOURCE}: documents.key (from LAPAK_DOCUMENT_KEY): expected")


def test_env_defaults_to_os_environ(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("LAPAK_PORT", "8181")
    monkeypatch.setenv("LAPAK_HOST", "localhost")
    cfg = load_config(default_config_path())
    assert cfg.server.port == 8181 and cfg.server.host == "localhost"


def test_command_line_overrides_beat_env() -> None:
    cfg = parse_config(
        base_doc(),
        source=SOURCE,
        env={"LAPAK_PORT": "9000"},
        overrides={"server.port": 9001, "server.host": None, "redis.url": "redis://r:6379/0"},
    )
    assert cfg.server.port == 9001 and cfg.server.host == "127.0.0.1"
    assert cfg.redis.url == "redis://r:6379/0"
    lines = problems_of_overrides({"server.port": 0})
    assert lines == [f"{SOURCE}: server.port (from command line): expected a value ≥ 1, got 0"]


def problems_of_overrides(overrides: dict[str, Any]) -> list[str]:
    with pytest.raises(ConfigError) as info:
        parse_config(base_doc(), source=SOURCE, env={}, overrides=overrides)
    return str(info.value).splitlines()


# --------------------------------------------------------------------------- --production


def test_clean_config_has_no_production_problems() -> None:
    doc = base_doc()
    assert production_problems(parse_config(doc, source=SOURCE, env={})) == []


def test_production_problems_each_reason(tmp_path: Path) -> None:
    doc = base_doc()
    doc["server"]["secret"] = "only-20-characters!!"
    doc["booths"][1]["token_hash"] = cheap_hash("demo-token-langsa-02")
    doc["booths"][0]["token_hash"] = cheap_hash("demo-token-langsa-02")  # not *its* demo token
    doc["users"][1]["password_hash"] = cheap_hash("demo")
    doc["documents"]["key"] = DEMO_DOCUMENT_KEY
    doc["server"]["host"] = "0.0.0.0"
    problems = production_problems(parse_config(doc, source=SOURCE, env={}))
    assert problems == [
        "server.secret is shorter than 32 characters (use 'lapak-asik hash-secret --generate-key')",
        "documents.key is the public demo key (set LAPAK_DOCUMENT_KEY)",
        "booths[1].token_hash accepts the demo token of booth 'langsa-02'",
        "users[1].password_hash accepts the demo password of 'ops'",
        "server.host '0.0.0.0' is reachable from the network but server.tls_cert/tls_key are not "
        "set (browsers give the camera only to HTTPS pages)",
    ]


@pytest.mark.parametrize("host", ["127.0.0.1", "127.0.0.2", "localhost", "::1", "[::1]"])
def test_loopback_needs_no_tls(host: str) -> None:
    doc = base_doc()
    doc["server"]["host"] = host
    assert production_problems(parse_config(doc, source=SOURCE, env={})) == []


def test_production_example_is_clean_once_secrets_and_tls_exist(tmp_path: Path) -> None:
    data = tomllib.loads((REPO / "config" / "production.example.toml").read_text())
    demo_data = tomllib.loads((REPO / "config" / "default.toml").read_text())
    assert len(data["branches"]) >= 2 and data["ice"]["turn_urls"]
    assert "secret" not in data["server"] and "key" not in data["documents"]
    for name in ("tls_cert", "tls_key"):
        assert Path(data["server"][name]).is_absolute()
        placed = tmp_path / Path(data["server"][name]).name
        placed.write_text("pem")
        data["server"][name] = str(placed)
    # The placeholder hashes are argon2id, distinct, and none is copied from the demo.
    demo_hashes = {b["token_hash"] for b in demo_data["booths"]}
    demo_hashes |= {u["password_hash"] for u in demo_data["users"]}
    hashes = [b["token_hash"] for b in data["booths"]] + [u["password_hash"] for u in data["users"]]
    assert all(h.startswith("$argon2id$") for h in hashes)
    assert len(set(hashes)) == len(hashes) and not demo_hashes & set(hashes)
    # Full-cost verification of one booth and one user; the rest get cheap non-demo hashes
    # so the test stays fast (production_problems costs one argon2 run per entry).
    for booth in data["booths"][1:]:
        booth["token_hash"] = _BOOTH_HASH
    for user in data["users"][1:]:
        user["password_hash"] = _USER_HASH
    env = {
        "LAPAK_SECRET": secrets.token_urlsafe(32),
        "LAPAK_DOCUMENT_KEY": base64.b64encode(secrets.token_bytes(32)).decode(),
        "LAPAK_TURN_SECRET": secrets.token_urlsafe(24),
    }
    cfg = parse_config(copy.deepcopy(data), source="production.example.toml", env=env)
    assert cfg.server.tls_enabled and cfg.server.host == "0.0.0.0"
    assert {u.role for u in cfg.users} == {"officer", "ops"}
    assert production_problems(cfg) == []


def test_document_key_bytes() -> None:
    key = secrets.token_bytes(32)
    docs = DocumentsConfig(key=base64.b64encode(key).decode())  # type: ignore[arg-type]
    assert docs.key_bytes() == key


def test_direct_construction_errors_do_not_echo_secrets() -> None:
    from pydantic import ValidationError

    from booth_server.config import ServerConfig

    with pytest.raises(ValidationError) as info:
        ServerConfig.model_validate({"secret": "super-secret-value-123", "port": 0})
    assert "super-secret-value-123" not in str(info.value)
