"""Secrets, bearer tokens and abuse limits.

Everything here is sans-IO: no clock is read (callers pass ``now``), nothing touches the disk.
Booth tokens and officer passwords are stored only as argon2id hashes; officers and ops carry
short-lived HS256 bearer tokens signed with the server secret.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import re
import secrets
import threading
from collections import OrderedDict, deque
from dataclasses import dataclass
from typing import Any

import jwt
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

__all__ = [
    "Claims",
    "LoginThrottle",
    "RateLimiter",
    "SecretVerifier",
    "hash_secret",
    "issue_token",
    "redact",
    "scrub",
    "verify_secret",
    "verify_token",
]

# argon2-cffi's defaults (RFC 9106 "low memory" profile): argon2id, t=3, m=64 MiB, p=4.
_HASHER = PasswordHasher()

_TOKEN_ALGORITHM = "HS256"
# The configured secret is not used as the JWT key directly: a derived key keeps bearer tokens
# cryptographically separate from anything else the same secret might sign, and is always
# 32 bytes (RFC 7518 §3.2 wants an HS256 key at least as long as the hash output).
_TOKEN_KEY_LABEL = b"lapak-asik/bearer-token/v1"


# --------------------------------------------------------------------------- hashes


def hash_secret(plain: str) -> str:
    """Hash a booth token or password with argon2id (the only form the config stores)."""
    return _HASHER.hash(plain)


def verify_secret(stored_hash: str, plain: str) -> bool:
    """True when ``plain`` matches ``stored_hash``; False on mismatch or a malformed hash."""
    try:
        return _HASHER.verify(stored_hash, plain)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False
    except Exception:
        # A hash the library cannot even parse (wrong type, bad encoding) is just "no match":
        # authentication must fail closed, never crash the handler.
        return False


class SecretVerifier:
    """``verify_secret`` with a bounded in-memory cache of successful checks.

    A branch whose network blips makes every kiosk reconnect at once; without the cache each
    reconnect costs one full argon2 verification (~50-100 ms of CPU). The cache key is an HMAC
    of (hash, plain) under a per-process random key, so the cache never holds a secret or
    anything that could be brute-forced offline. Failures are never cached, so a wrong token
    always pays the full argon2 price. Changing a hash in the config changes the key, so a
    rotated credential is never accepted from the cache.
    """

    def __init__(self, max_entries: int = 4096) -> None:
        if max_entries < 1:
            raise ValueError("max_entries must be at least 1")
        self._max_entries = max_entries
        self._key = secrets.token_bytes(32)
        self._ok: OrderedDict[bytes, None] = OrderedDict()
        # verify() may run in a thread pool (see verify_async) while the event loop also reads.
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    def _cache_key(self, stored_hash: str, plain: str) -> bytes:
        msg = (
            len(stored_hash).to_bytes(4, "big")
            + stored_hash.encode("utf-8", "surrogatepass")
            + plain.encode("utf-8", "surrogatepass")
        )
        return hmac.new(self._key, msg, hashlib.sha256).digest()

    def cached(self, stored_hash: str, plain: str) -> bool:
        """True when this exact pair verified before (cheap; no argon2)."""
        try:
            key = self._cache_key(stored_hash, plain)
        except (UnicodeError, AttributeError, TypeError):
            return False
        with self._lock:
            if key in self._ok:
                self._ok.move_to_end(key)
                self.hits += 1
                return True
        return False

    def verify(self, stored_hash: str, plain: str) -> bool:
        try:
            key = self._cache_key(stored_hash, plain)
        except (UnicodeError, AttributeError, TypeError):
            return False
        with self._lock:
            if key in self._ok:
                self._ok.move_to_end(key)
                self.hits += 1
                return True
            self.misses += 1
        if not verify_secret(stored_hash, plain):
            return False
        with self._lock:
            self._ok[key] = None
            self._ok.move_to_end(key)
            while len(self._ok) > self._max_entries:
                self._ok.popitem(last=False)
        return True

    async def verify_async(self, stored_hash: str, plain: str) -> bool:
        """Like ``verify`` but runs argon2 in a worker thread so the event loop keeps going."""
        if self.cached(stored_hash, plain):
            return True
        return await asyncio.to_thread(self.verify, stored_hash, plain)

    def clear(self) -> None:
        with self._lock:
            self._ok.clear()

    def __len__(self) -> int:
        return len(self._ok)


# --------------------------------------------------------------------------- bearer tokens


@dataclass(frozen=True)
class Claims:
    subject: str
    role: str
    expires_at: float


def _token_key(secret: str) -> bytes:
    return hmac.new(secret.encode("utf-8"), _TOKEN_KEY_LABEL, hashlib.sha256).digest()


def issue_token(secret: str, subject: str, role: str, ttl_s: float, now: float) -> str:
    """A signed bearer token (JWT, HS256) for ``subject`` in ``role``, valid ``ttl_s`` from now."""
    if ttl_s <= 0:
        raise ValueError("ttl_s must be positive")
    payload: dict[str, Any] = {
        "sub": subject,
        "role": role,
        # NumericDate may be fractional (RFC 7519 §2); keeping it exact makes expiry predictable.
        "iat": now,
        "exp": now + ttl_s,
        "jti": secrets.token_urlsafe(12),
    }
    return jwt.encode(payload, _token_key(secret), algorithm=_TOKEN_ALGORITHM)


def verify_token(secret: str, token: str, now: float) -> Claims | None:
    """The claims of a valid, unexpired token; None for a bad signature, expiry or garbage."""
    if not isinstance(token, str) or not token or len(token) > 4096:
        return None
    try:
        payload = jwt.decode(
            token,
            _token_key(secret),
            algorithms=[_TOKEN_ALGORITHM],
            # Expiry is checked below against the caller's ``now`` (sans-IO, testable).
            options={
                "verify_exp": False,
                "verify_iat": False,
                "verify_nbf": False,
                "require": ["sub", "role", "exp", "iat"],
            },
        )
    except jwt.PyJWTError:
        return None
    except Exception:
        return None
    subject = payload.get("sub")
    role = payload.get("role")
    exp = payload.get("exp")
    if not isinstance(subject, str) or not subject or not isinstance(role, str) or not role:
        return None
    if isinstance(exp, bool) or not isinstance(exp, int | float):
        return None
    if now >= exp:
        return None
    return Claims(subject=subject, role=role, expires_at=float(exp))


# --------------------------------------------------------------------------- abuse limits


class LoginThrottle:
    """At most ``max_failures`` failed logins per key within a sliding ``window_s``.

    Keys are whatever the caller wants to throttle on (typically both the username and the
    client address, each as its own key). A success should ``reset`` the username key.
    """

    def __init__(self, max_failures: int, window_s: float, max_keys: int = 100_000) -> None:
        if max_failures < 1:
            raise ValueError("max_failures must be at least 1")
        if window_s <= 0:
            raise ValueError("window_s must be positive")
        self.max_failures = max_failures
        self.window_s = window_s
        self._max_keys = max_keys
        # Ordered by most recent failure (oldest first), so eviction under a spray of distinct
        # keys is O(1) per insertion instead of a sort.
        self._failures: OrderedDict[str, deque[float]] = OrderedDict()
        self._ops = 0

    def _prune_key(self, key: str, now: float) -> deque[float] | None:
        times = self._failures.get(key)
        if times is None:
            return None
        horizon = now - self.window_s
        while times and times[0] <= horizon:
            times.popleft()
        if not times:
            del self._failures[key]
            return None
        return times

    def prune(self, now: float) -> None:
        """Forget every key whose failures have all left the window."""
        horizon = now - self.window_s
        while self._failures:
            key, times = next(iter(self._failures.items()))
            if times and times[-1] > horizon:
                break  # this and every later key still has a failure inside the window
            del self._failures[key]

    def allowed(self, key: str, now: float) -> bool:
        times = self._prune_key(key, now)
        return times is None or len(times) < self.max_failures

    def retry_after(self, key: str, now: float) -> float:
        """Seconds until ``key`` may try again (0 when it may now); for a Retry-After header."""
        times = self._prune_key(key, now)
        if times is None or len(times) < self.max_failures:
            return 0.0
        # The attempt becomes allowed once enough of the oldest failures fall out of the window.
        release = times[len(times) - self.max_failures]
        return max(0.0, release + self.window_s - now)

    def record_failure(self, key: str, now: float) -> None:
        times = self._prune_key(key, now)
        if times is None:
            times = self._failures[key] = deque()
        else:
            self._failures.move_to_end(key)
        times.append(now)
        # Only the last max_failures timestamps matter for the decision.
        while len(times) > self.max_failures:
            times.popleft()
        self._ops += 1
        if self._ops >= 1024:
            self._ops = 0
            self.prune(now)
        while len(self._failures) > self._max_keys:
            # Under a spray of distinct keys, drop the stalest rather than grow forever.
            self._failures.popitem(last=False)

    def reset(self, key: str) -> None:
        self._failures.pop(key, None)

    def __len__(self) -> int:
        return len(self._failures)


class RateLimiter:
    """A token bucket per key: ``burst`` tokens, refilled at ``rate_per_s``.

    Over any interval of length t a key is granted at most ``burst + rate_per_s * t`` cost.
    A new key starts with a full bucket. Time going backwards refills nothing.
    """

    def __init__(self, rate_per_s: float, burst: int) -> None:
        if rate_per_s <= 0:
            raise ValueError("rate_per_s must be positive")
        if burst < 1:
            raise ValueError("burst must be at least 1")
        self.rate_per_s = rate_per_s
        self.burst = burst
        # key -> [tokens, last refill time]
        self._buckets: dict[str, list[float]] = {}

    def allow(self, key: str, now: float, cost: float = 1.0) -> bool:
        if cost < 0:
            raise ValueError("cost must not be negative")
        bucket = self._buckets.get(key)
        if bucket is None:
            bucket = self._buckets[key] = [float(self.burst), now]
        else:
            elapsed = now - bucket[1]
            if elapsed > 0:
                bucket[0] = min(float(self.burst), bucket[0] + elapsed * self.rate_per_s)
                bucket[1] = now
        # The epsilon absorbs float rounding in the refill (0.5 + 0.5 tokens may be 0.999...).
        if bucket[0] + 1e-9 >= cost:
            bucket[0] -= cost
            return True
        return False

    def forget(self, key: str) -> None:
        self._buckets.pop(key, None)

    def prune(self, now: float) -> None:
        """Drop buckets that have refilled completely (they behave exactly like new keys)."""
        for key, (tokens, last) in list(self._buckets.items()):
            if tokens + (now - last) * self.rate_per_s >= self.burst:
                del self._buckets[key]

    def __len__(self) -> int:
        return len(self._buckets)


# --------------------------------------------------------------------------- log hygiene

_REDACT_KEY = secrets.token_bytes(16)


def redact(value: str) -> str:
    """What to log instead of a secret: a tag that is stable within this process only.

    Two log lines about the same token can be correlated, but nothing about the secret (not
    even a prefix or a plain hash, which a short password would not survive) is printed.
    """
    if not value:
        return ""
    tag = hmac.new(_REDACT_KEY, value.encode("utf-8", "surrogatepass"), hashlib.sha256)
    return f"<redacted:{tag.hexdigest()[:8]}>"


_SECRETISH = r"(?:token|passw(?:or)?d|secret|credential|authorization|api[_-]?key|cookie)"
_SCRUB_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = (
    # Authorization: Bearer <token>
    (re.compile(r"(?i)\b(bearer|basic)\s+[A-Za-z0-9._~+/=-]{8,}"), r"\1 <redacted>"),
    # JWT-shaped strings anywhere (header.payload.signature, header starts with '{"' -> eyJ).
    (re.compile(r"\beyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+"), "<redacted>"),
    # "token": "x", token=x, 'password': 'x', turn_secret=x ...
    (
        re.compile(
            r"(?i)(\b[\w-]*" + _SECRETISH + r"[\w-]*[\"']?\s*[:=]\s*)"
            r"(\"[^\"]*\"|'[^']*'|[^\s,;&}\]\)]+)"
        ),
        r"\1<redacted>",
    ),
    # Passwords in URLs: scheme://user:password@host
    (re.compile(r"(\b[a-z][a-z0-9+.-]*://[^/\s:@]*:)[^@\s/]+@"), r"\1<redacted>@"),
)


def scrub(text: str) -> str:
    """Remove anything that looks like a credential from free text (log messages, URLs)."""
    for pattern, replacement in _SCRUB_PATTERNS:
        text = pattern.sub(replacement, text)
    return text
