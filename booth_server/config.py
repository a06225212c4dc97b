"""Server configuration: TOML file -> validated, typed settings.

A wrong key or value stops the server with one line per problem naming the file, the dotted key
(``users[2].capacity``) and what was expected. Secrets and deployment settings can come from the
environment (``LAPAK_SECRET``, ``LAPAK_DOCUMENT_KEY``, ``LAPAK_TURN_SECRET``, ``LAPAK_REDIS_URL``,
``LAPAK_HOST``, ``LAPAK_PORT``) so the file itself can be committed without them.

Relative paths (TLS files, document storage) are relative to the directory the server is started
from, like every other command-line path.
"""

from __future__ import annotations

import base64
import binascii
import ipaddress
import os
import re
import tomllib
import types
import typing
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Annotated, Any, Literal, Self

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from .security import verify_secret

__all__ = [
    "DEMO_DOCUMENT_KEY",
    "DEMO_PASSWORD",
    "DEMO_SECRET",
    "ENV_OVERRIDES",
    "AppConfig",
    "BoothConfig",
    "BranchConfig",
    "ConfigError",
    "DispatchConfig",
    "DocumentsConfig",
    "IceConfig",
    "IceServerConfig",
    "LimitsConfig",
    "RedisConfig",
    "ServerConfig",
    "UserConfig",
    "default_config_path",
    "demo_booth_token",
    "load_config",
    "parse_config",
    "production_problems",
]

# The demo values of config/default.toml. They are public (they are in the repository), which
# is exactly why production_problems() refuses them.
DEMO_SECRET = "lapak-asik-demo-secret-NOT-FOR-PRODUCTION"
# base64 of b"LAPAK-ASIK-DEMO-DOCUMENT-KEY-32B"
DEMO_DOCUMENT_KEY = "TEFQQUstQVNJSy1ERU1PLURPQ1VNRU5ULUtFWS0zMkI="
DEMO_PASSWORD = "demo"
MIN_PRODUCTION_SECRET_CHARS = 32


def demo_booth_token(booth_id: str) -> str:
    return f"demo-token-{booth_id}"


SLUG_PATTERN = r"^[a-z0-9-]{1,32}$"
USERNAME_PATTERN = r"^[a-z0-9][a-z0-9._-]{0,31}$"
_ICE_SCHEMES = ("stun:", "stuns:", "turn:", "turns:")
_TURN_SCHEMES = ("turn:", "turns:")
_REDIS_SCHEMES = ("redis://", "rediss://", "unix://")

Slug = Annotated[str, Field(pattern=SLUG_PATTERN)]
Username = Annotated[str, Field(pattern=USERNAME_PATTERN)]
NonEmptyStr = Annotated[str, Field(min_length=1)]
# Strict mode (below) keeps TOML types honest ("8080" is not a port); paths are the exception,
# they arrive as strings.
PathValue = Annotated[Path, Field(strict=False)]


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True, hide_input_in_errors=True)


def _argon2_hash(value: str) -> str:
    if not value.startswith("$argon2"):
        raise ValueError(
            "expected an argon2 hash starting with '$argon2' (make one with "
            "'lapak-asik hash-secret'), not a plain secret"
        )
    return value


class ServerConfig(_Section):
    host: NonEmptyStr = "127.0.0.1"
    port: int = Field(default=8080, ge=1, le=65535)
    secret: SecretStr
    token_ttl_s: int = Field(default=43200, gt=0)
    tls_cert: PathValue | None = None
    tls_key: PathValue | None = None

    @field_validator("secret")
    @classmethod
    def _secret_long_enough(cls, value: SecretStr) -> SecretStr:
        if len(value.get_secret_value()) < 16:
            raise ValueError(
                "expected a secret of at least 16 characters "
                "(make one with 'lapak-asik hash-secret --generate-key')"
            )
        return value

    @field_validator("tls_cert", "tls_key")
    @classmethod
    def _file_exists(cls, value: Path | None) -> Path | None:
        if value is not None and not value.is_file():
            raise ValueError(f"expected an existing file, {str(value)!r} is not one")
        return value

    @model_validator(mode="after")
    def _tls_pair(self) -> Self:
        if (self.tls_cert is None) != (self.tls_key is None):
            missing = "tls_key" if self.tls_key is None else "tls_cert"
            raise _problems([((missing,), "expected tls_cert and tls_key together, or neither")])
        return self

    @property
    def tls_enabled(self) -> bool:
        return self.tls_cert is not None and self.tls_key is not None


class DispatchConfig(_Section):
    offer_timeout_s: float = Field(default=15.0, gt=0)
    officer_grace_s: float = Field(default=20.0, gt=0)
    booth_grace_s: float = Field(default=20.0, gt=0)
    unfocused_alert_s: float = Field(default=90.0, gt=0)
    wait_alert_s: float = Field(default=600.0, gt=0)


class LimitsConfig(_Section):
    max_event_bytes: int = Field(default=262144, gt=0)
    max_sdp_bytes: int = Field(default=65536, gt=0)
    rate_per_s: float = Field(default=20.0, gt=0)
    rate_burst: int = Field(default=60, ge=1)
    login_max_failures: int = Field(default=5, ge=1)
    login_window_s: float = Field(default=300.0, gt=0)

    @model_validator(mode="after")
    def _sdp_fits_in_event(self) -> Self:
        if self.max_sdp_bytes > self.max_event_bytes:
            raise _problems(
                [
                    (
                        ("max_sdp_bytes",),
                        f"expected at most max_event_bytes ({self.max_event_bytes}), "
                        "an SDP travels inside an event",
                    )
                ]
            )
        return self


class IceServerConfig(_Section):
    urls: list[str] = Field(min_length=1)
    username: str | None = None
    credential: SecretStr | None = None

    @field_validator("urls")
    @classmethod
    def _ice_schemes(cls, urls: list[str]) -> list[str]:
        for url in urls:
            if not url.startswith(_ICE_SCHEMES):
                raise ValueError(
                    f"expected URLs starting with stun:, stuns:, turn: or turns:, got {url!r}"
                )
        return urls

    @model_validator(mode="after")
    def _turn_needs_credentials(self) -> Self:
        # Browsers reject an RTCIceServer with a turn: URL and no username/credential
        # (InvalidAccessError), which would break every session, so catch it here.
        if any(u.startswith(_TURN_SCHEMES) for u in self.urls) and (
            self.username is None or self.credential is None
        ):
            missing = "username" if self.username is None else "credential"
            raise _problems(
                [
                    (
                        (missing,),
                        "expected username and credential for a turn:/turns: server "
                        "(or list it under ice.turn_urls to mint per-session credentials)",
                    )
                ]
            )
        return self


class IceConfig(_Section):
    servers: list[IceServerConfig] = Field(default_factory=list)
    turn_urls: list[str] = Field(default_factory=list)
    turn_secret: SecretStr | None = None
    turn_ttl_s: int = Field(default=3600, gt=0)

    @field_validator("turn_urls")
    @classmethod
    def _turn_schemes(cls, urls: list[str]) -> list[str]:
        for url in urls:
            if not url.startswith(_TURN_SCHEMES):
                raise ValueError(f"expected URLs starting with turn: or turns:, got {url!r}")
        return urls

    @field_validator("turn_secret")
    @classmethod
    def _turn_secret_not_empty(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and not value.get_secret_value():
            raise ValueError("expected a non-empty shared secret (coturn static-auth-secret)")
        return value

    @model_validator(mode="after")
    def _turn_urls_need_secret(self) -> Self:
        if self.turn_urls and self.turn_secret is None:
            raise _problems(
                [
                    (
                        ("turn_secret",),
                        "expected the coturn static-auth-secret (or LAPAK_TURN_SECRET) "
                        "when turn_urls are set",
                    )
                ]
            )
        return self


class DocumentsConfig(_Section):
    key: SecretStr
    storage_dir: PathValue = Path("var/documents")
    retention_days: float = Field(default=30.0, gt=0)
    max_bytes: int = Field(default=8_000_000, gt=0)
    max_pixels: int = Field(default=40_000_000, gt=0)

    @field_validator("key")
    @classmethod
    def _key_is_32_bytes(cls, value: SecretStr) -> SecretStr:
        try:
            raw = base64.b64decode(value.get_secret_value().strip(), validate=True)
        except (binascii.Error, ValueError):
            raise ValueError(
                "expected standard base64 of a 32-byte key "
                "(make one with 'lapak-asik hash-secret --generate-key')"
            ) from None
        if len(raw) != 32:
            raise ValueError(f"expected base64 of exactly 32 bytes, it decodes to {len(raw)}")
        return value

    def key_bytes(self) -> bytes:
        return base64.b64decode(self.key.get_secret_value().strip(), validate=True)


class RedisConfig(_Section):
    url: str | None = None

    @field_validator("url")
    @classmethod
    def _redis_scheme(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(_REDIS_SCHEMES):
            raise ValueError("expected a URL starting with redis://, rediss:// or unix://")
        return value


class BranchConfig(_Section):
    id: Slug
    name: NonEmptyStr


class BoothConfig(_Section):
    id: Slug
    branch: Slug
    label: NonEmptyStr
    token_hash: str

    _token_is_hash = field_validator("token_hash")(_argon2_hash)


class UserConfig(_Section):
    id: Username
    name: NonEmptyStr
    role: Literal["officer", "ops"] = "officer"
    branch: Slug | None = None
    password_hash: str
    capacity: int = Field(default=5, ge=1, le=6)
    auto_accept: bool = False

    _password_is_hash = field_validator("password_hash")(_argon2_hash)

    @model_validator(mode="after")
    def _officer_has_branch(self) -> Self:
        if self.role == "officer" and self.branch is None:
            raise _problems([(("branch",), "expected the branch id an officer works for")])
        return self


class AppConfig(_Section):
    server: ServerConfig
    dispatch: DispatchConfig = Field(default_factory=DispatchConfig)
    limits: LimitsConfig = Field(default_factory=LimitsConfig)
    ice: IceConfig = Field(default_factory=IceConfig)
    documents: DocumentsConfig
    redis: RedisConfig = Field(default_factory=RedisConfig)
    branches: list[BranchConfig] = Field(min_length=1)
    booths: list[BoothConfig] = Field(default_factory=list)
    users: list[UserConfig] = Field(default_factory=list)

    @model_validator(mode="after")
    def _ids_and_references(self) -> Self:
        problems: list[tuple[tuple[str | int, ...], str]] = []
        for section in ("branches", "booths", "users"):
            items: Sequence[BranchConfig | BoothConfig | UserConfig] = getattr(self, section)
            first: dict[str, int] = {}
            for i, item in enumerate(items):
                if item.id in first:
                    problems.append(
                        (
                            (section, i, "id"),
                            f"expected a unique id, {item.id!r} is already "
                            f"{section}[{first[item.id]}]",
                        )
                    )
                else:
                    first[item.id] = i
        branch_ids = [b.id for b in self.branches]
        known = ", ".join(branch_ids)
        for i, booth in enumerate(self.booths):
            if booth.branch not in branch_ids:
                problems.append(
                    (
                        ("booths", i, "branch"),
                        f"expected one of the configured branches ({known}), got {booth.branch!r}",
                    )
                )
        for i, user in enumerate(self.users):
            if user.branch is not None and user.branch not in branch_ids:
                problems.append(
                    (
                        ("users", i, "branch"),
                        f"expected one of the configured branches ({known}), got {user.branch!r}",
                    )
                )
        if problems:
            raise _problems(problems)
        return self

    # id -> entry indexes, built on first use and rebuilt when the lists are replaced
    # (model_copy(update=...) copies private attributes, so the identity check matters).
    _lookup: tuple[object, object, dict[str, BoothConfig], dict[str, UserConfig]] | None = (
        PrivateAttr(default=None)
    )

    def _index(self) -> tuple[dict[str, BoothConfig], dict[str, UserConfig]]:
        cached = self._lookup
        if cached is None or cached[0] is not self.booths or cached[1] is not self.users:
            cached = (
                self.booths,
                self.users,
                {b.id: b for b in self.booths},
                {u.id: u for u in self.users},
            )
            self._lookup = cached
        return cached[2], cached[3]

    def booth(self, booth_id: str) -> BoothConfig | None:
        return self._index()[0].get(booth_id)

    def user(self, user_id: str) -> UserConfig | None:
        return self._index()[1].get(user_id)

    def branch(self, branch_id: str) -> BranchConfig | None:
        return next((b for b in self.branches if b.id == branch_id), None)

    def officers_of(self, branch_id: str) -> list[UserConfig]:
        return [u for u in self.users if u.role == "officer" and u.branch == branch_id]

    def booths_of(self, branch_id: str) -> list[BoothConfig]:
        return [b for b in self.booths if b.branch == branch_id]


# --------------------------------------------------------------------------- errors


def _problems(items: list[tuple[tuple[str | int, ...], str]]) -> PydanticCustomError:
    """A validation error carrying several (relative key, expectation) problems.

    Raised from model validators so each problem is reported at its own dotted key rather than
    at the model. ``ConfigError`` unpacks them; a plain ``ValidationError`` still reads well.
    """
    detail = "; ".join(f"{_dotted(loc)}: {msg}" for loc, msg in items)
    # The text goes through the context, not the template, so braces in it are never expanded.
    return PydanticCustomError("config_problems", "{detail}", {"detail": detail, "problems": items})


class ConfigError(Exception):
    """The configuration cannot be used. ``str()`` is one line per problem."""

    def __init__(self, path: Path | str, problems: list[str]) -> None:
        self.path = Path(path)
        self.problems = problems
        super().__init__("\n".join(f"{self.path}: {p}" for p in problems))


def _dotted(loc: Sequence[str | int]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else part
    return out or "(top level)"


def _model_at(loc: Sequence[str | int]) -> type[BaseModel] | None:
    """The model class that holds the key at ``loc`` (to list the keys it does accept)."""
    model: type[BaseModel] | None = AppConfig
    annotation: Any = None
    for part in loc:
        if isinstance(part, int):
            annotation = _unwrap(annotation, item=True)
        else:
            if model is None or part not in model.model_fields:
                return None
            annotation = _unwrap(model.model_fields[part].annotation, item=False)
        model = (
            annotation
            if isinstance(annotation, type) and issubclass(annotation, BaseModel)
            else None
        )
    return model


def _unwrap(annotation: Any, *, item: bool) -> Any:
    origin = typing.get_origin(annotation)
    if item and origin is list:
        return _unwrap(typing.get_args(annotation)[0], item=False)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        return _unwrap(args[0], item=item) if len(args) == 1 else None
    if origin is typing.Annotated:
        return _unwrap(typing.get_args(annotation)[0], item=item)
    return annotation


_SECRET_KEYS = {"secret", "key", "turn_secret", "credential", "password", "token"}
_TYPE_NAMES = {
    "int_type": "a whole number",
    "int_parsing": "a whole number",
    "int_from_float": "a whole number",
    "float_type": "a number",
    "float_parsing": "a number",
    "bool_type": "true or false",
    "bool_parsing": "true or false",
    "string_type": "a string",
    "list_type": "a list",
    "model_type": "a table",
    "model_attributes_type": "a table",
    "dict_type": "a table",
    "path_type": "a path string",
    "is_instance_of": "a value of the right type",
}


def _describe(error: Mapping[str, Any], loc: tuple[str | int, ...]) -> str:
    kind = error["type"]
    ctx: Mapping[str, Any] = error.get("ctx") or {}
    value = error.get("input")
    if kind == "missing":
        env_var = next((v for v, k in ENV_OVERRIDES.items() if k == loc), None)
        if env_var is not None:
            return f"missing (expected a value here or in the environment variable {env_var})"
        return "missing (expected a value for this required key)"
    if kind == "extra_forbidden":
        holder = _model_at(loc[:-1])
        allowed = ", ".join(holder.model_fields) if holder is not None else "none"
        return f"unknown key (expected one of: {allowed})"
    if kind in _TYPE_NAMES:
        what = _TYPE_NAMES[kind]
    elif kind == "value_error":
        what = str(ctx.get("error", error["msg"]))
    elif kind in ("greater_than", "greater_than_equal", "less_than", "less_than_equal"):
        op = {
            "greater_than": ("gt", ">"),
            "greater_than_equal": ("ge", "≥"),
            "less_than": ("lt", "<"),
            "less_than_equal": ("le", "≤"),
        }[kind]
        bound = ctx.get(op[0])
        if isinstance(bound, float) and bound.is_integer():
            bound = int(bound)
        what = f"a value {op[1]} {bound}"
    elif kind == "string_pattern_mismatch":
        pattern = ctx.get("pattern", "")
        if pattern == SLUG_PATTERN:
            what = "an id of 1-32 characters a-z, 0-9 and '-'"
        elif pattern == USERNAME_PATTERN:
            what = "a username of 1-32 characters a-z, 0-9, '.', '_', '-' starting with a-z0-9"
        else:
            what = f"text matching {pattern}"
    elif kind == "literal_error":
        what = f"one of {ctx.get('expected')}"
    elif kind in ("too_short", "string_too_short"):
        minimum = ctx.get("min_length", 1)
        what = "a non-empty value" if minimum == 1 else f"at least {minimum} items"
    else:
        what = str(error["msg"])
        what = what[:1].lower() + what[1:]
    if kind != "value_error" or not what.startswith("expected"):
        what = f"expected {what}"
    if (
        isinstance(value, str | int | float | bool)
        and not (loc and isinstance(loc[-1], str) and loc[-1] in _SECRET_KEYS)
        and kind != "value_error"
    ):
        shown = repr(value)
        if len(shown) > 60:
            shown = shown[:57] + "..."
        what += f", got {shown}"
    return what


def _format_errors(exc: ValidationError, sources: Mapping[str, str]) -> list[str]:
    lines: list[str] = []
    for error in exc.errors(include_url=False):
        loc: tuple[str | int, ...] = tuple(error["loc"])
        if error["type"] == "config_problems":
            items = (error.get("ctx") or {}).get("problems", [])
            for sub_loc, msg in items:
                full = loc + tuple(sub_loc)
                lines.append(_line(full, msg, sources))
        else:
            lines.append(_line(loc, _describe(error, loc), sources))
    return lines


def _line(loc: tuple[str | int, ...], what: str, sources: Mapping[str, str]) -> str:
    key = _dotted(loc)
    origin = sources.get(key)
    return f"{key} (from {origin}): {what}" if origin else f"{key}: {what}"


# --------------------------------------------------------------------------- loading

# environment variable -> dotted key it overrides
ENV_OVERRIDES: dict[str, tuple[str, str]] = {
    "LAPAK_SECRET": ("server", "secret"),
    "LAPAK_DOCUMENT_KEY": ("documents", "key"),
    "LAPAK_TURN_SECRET": ("ice", "turn_secret"),
    "LAPAK_REDIS_URL": ("redis", "url"),
    "LAPAK_HOST": ("server", "host"),
    "LAPAK_PORT": ("server", "port"),
}


def default_config_path() -> Path:
    """config/default.toml of the source tree; else ./config/default.toml."""
    beside_package = Path(__file__).resolve().parent.parent / "config" / "default.toml"
    if beside_package.is_file():
        return beside_package
    return Path.cwd() / "config" / "default.toml"


def _apply_env(data: dict[str, Any], env: Mapping[str, str], path: Path) -> dict[str, str]:
    """Apply overrides in place; returns dotted key -> variable name for error messages.

    An empty variable counts as unset (``LAPAK_SECRET=`` in a compose file means "not given").
    """
    sources: dict[str, str] = {}
    problems: list[str] = []
    for var, (section, key) in ENV_OVERRIDES.items():
        raw = env.get(var)
        if raw is None or raw == "":
            continue
        value: Any = raw
        if var == "LAPAK_PORT":
            try:
                value = int(raw.strip())
            except ValueError:
                problems.append(f"server.port (from {var}): expected a whole number 1..65535")
                continue
        table = data.get(section)
        if table is None:
            table = data[section] = {}
        if not isinstance(table, dict):
            continue  # reported by validation as "expected a table"
        table[key] = value
        sources[f"{section}.{key}"] = var
    if problems:
        raise ConfigError(path, problems)
    return sources


def _apply_overrides(
    data: dict[str, Any], overrides: Mapping[str, Any], path: Path, sources: dict[str, str]
) -> None:
    """Command-line overrides, keyed by dotted key of a section (``"server.port"``)."""
    for dotted, value in overrides.items():
        if value is None:
            continue
        section, _, key = dotted.partition(".")
        if not section or not key or "." in key:
            raise ConfigError(path, [f"{dotted}: expected an override of the form section.key"])
        table = data.get(section)
        if table is None:
            table = data[section] = {}
        if not isinstance(table, dict):
            continue  # reported by validation as "expected a table"
        table[key] = value
        sources[dotted] = "command line"


def parse_config(
    data: Mapping[str, Any],
    *,
    source: Path | str = "<config>",
    env: Mapping[str, str] | None = None,
    overrides: Mapping[str, Any] | None = None,
) -> AppConfig:
    """Validate an already-parsed TOML document into an ``AppConfig``.

    Precedence: ``overrides`` (command line, e.g. ``{"server.port": 9000}``; None values are
    skipped) over the environment over the file.
    """
    path = Path(source)
    document: dict[str, Any] = {k: dict(v) if isinstance(v, dict) else v for k, v in data.items()}
    sources = _apply_env(document, os.environ if env is None else env, path)
    if overrides:
        _apply_overrides(document, overrides, path, sources)
    try:
        return AppConfig.model_validate(document)
    except ValidationError as exc:
        raise ConfigError(path, _format_errors(exc, sources)) from None


def load_config(
    path: Path,
    env: Mapping[str, str] | None = None,
    *,
    overrides: Mapping[str, Any] | None = None,
) -> AppConfig:
    """Read a TOML config file, apply ``env`` (default ``os.environ``) and command-line
    ``overrides`` (dotted keys, e.g. ``{"server.host": h, "redis.url": u}``), validate."""
    path = Path(path)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise ConfigError(path, ["file not found (expected a TOML configuration file)"]) from None
    except IsADirectoryError:
        raise ConfigError(path, ["is a directory (expected a TOML configuration file)"]) from None
    except OSError as exc:
        raise ConfigError(path, [f"cannot be read: {exc.strerror or exc}"]) from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError(path, [f"expected UTF-8 text, bad byte at offset {exc.start}"]) from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(path, [_toml_error(exc)]) from None
    return parse_config(data, source=path, env=env, overrides=overrides)


def _toml_error(exc: tomllib.TOMLDecodeError) -> str:
    message = str(exc)
    lineno = getattr(exc, "lineno", None)  # Python >= 3.14 has it as an attribute
    if lineno is None:
        found = re.search(r"\(at line (\d+), column (\d+)\)", message)
        if found:
            return f"line {found.group(1)}: TOML syntax error: {message}"
        return f"TOML syntax error: {message}"
    return f"line {lineno}: TOML syntax error: {message}"


# --------------------------------------------------------------------------- production check

_LOOPBACK_NAMES = {"localhost", "localhost.localdomain", "ip6-localhost"}


def _is_loopback(host: str) -> bool:
    if host.lower() in _LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def production_problems(cfg: AppConfig) -> list[str]:
    """Every reason ``cfg`` is unfit for production (empty list: fit).

    Costs one argon2 verification per booth and user (the demo credentials are checked by
    verifying them, since each hash has its own salt); nothing is cached.
    """
    problems: list[str] = []
    secret = cfg.server.secret.get_secret_value()
    if secret == DEMO_SECRET:
        problems.append("server.secret is the public demo secret (set LAPAK_SECRET)")
    elif len(secret) < MIN_PRODUCTION_SECRET_CHARS:
        problems.append(
            f"server.secret is shorter than {MIN_PRODUCTION_SECRET_CHARS} characters "
            "(use 'lapak-asik hash-secret --generate-key')"
        )
    if cfg.documents.key.get_secret_value().strip() == DEMO_DOCUMENT_KEY:
        problems.append("documents.key is the public demo key (set LAPAK_DOCUMENT_KEY)")
    for i, booth in enumerate(cfg.booths):
        if verify_secret(booth.token_hash, demo_booth_token(booth.id)):
            problems.append(f"booths[{i}].token_hash accepts the demo token of booth {booth.id!r}")
    for i, user in enumerate(cfg.users):
        if verify_secret(user.password_hash, DEMO_PASSWORD):
            problems.append(f"users[{i}].password_hash accepts the demo password of {user.id!r}")
    if not cfg.server.tls_enabled and not _is_loopback(cfg.server.host):
        problems.append(
            f"server.host {cfg.server.host!r} is reachable from the network but "
            "server.tls_cert/tls_key are not set (browsers give the camera only to HTTPS pages)"
        )
    return problems
