"""Hashes, bearer tokens, login throttling, rate limiting, log redaction."""

from __future__ import annotations

import asyncio
import base64
import json

import jwt
import pytest
from argon2 import PasswordHasher
from hypothesis import given, settings
from hypothesis import strategies as st

import booth_server.security as security
from booth_server.security import (
    Claims,
    LoginThrottle,
    RateLimiter,
    SecretVerifier,
    hash_secret,
    issue_token,
    redact,
    scrub,
    verify_secret,
    verify_token,
)

_CHEAP = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)
SECRET = "unit-test-secret-0123456789abcdef"

# --------------------------------------------------------------------------- hashes


def test_hash_secret_is_argon2id_and_verifies() -> None:
    stored = hash_secret("demo-token-langsa-01")
    assert stored.startswith("$argon2id$")
    assert "demo-token" not in stored
    assert verify_secret(stored, "demo-token-langsa-01")
    assert not verify_secret(stored, "demo-token-langsa-02")


@pytest.mark.parametrize(
    "stored",
    ["", "demo", "$argon2id$", "$argon2id$v=19$m=8,t=1,p=1$bad$bad", "$2b$12$bcrypt", "\udcff"],
)
def test_verify_secret_never_raises_on_malformed_hashes(stored: str) -> None:
    assert verify_secret(stored, "demo") is False


def test_verify_secret_odd_plaintexts() -> None:
    stored = _CHEAP.hash("pässwörd ")
    assert verify_secret(stored, "pässwörd ")
    assert not verify_secret(stored, "pässwörd")
    assert not verify_secret(stored, "\udcff")


class CountingVerify:
    def __init__(self) -> None:
        self.calls = 0

    def __call__(self, stored: str, plain: str) -> bool:
        self.calls += 1
        return verify_secret(stored, plain)


@pytest.fixture
def counting(monkeypatch: pytest.MonkeyPatch) -> CountingVerify:
    counter = CountingVerify()
    monkeypatch.setattr(security, "verify_secret", counter)
    return counter


def test_secret_verifier_caches_successes_only(counting: CountingVerify) -> None:
    stored = _CHEAP.hash("tok")
    verifier = SecretVerifier()
    assert verifier.verify(stored, "tok")
    assert verifier.verify(stored, "tok")
    assert verifier.verify(stored, "tok")
    assert counting.calls == 1 and verifier.hits == 2
    assert not verifier.verify(stored, "wrong")
    assert not verifier.verify(stored, "wrong")
    assert counting.calls == 3  # failures always pay full price
    assert len(verifier) == 1


def test_secret_verifier_cache_is_per_hash(counting: CountingVerify) -> None:
    old, new = _CHEAP.hash("tok"), _CHEAP.hash("rotated")
    verifier = SecretVerifier()
    assert verifier.verify(old, "tok")
    # the config now holds a new hash: the old token must not be accepted from the cache
    assert not verifier.verify(new, "tok")
    assert verifier.verify(new, "rotated")
    assert counting.calls == 3


def test_secret_verifier_is_bounded_lru(counting: CountingVerify) -> None:
    hashes = {name: _CHEAP.hash(name) for name in "abc"}
    verifier = SecretVerifier(max_entries=2)
    verifier.verify(hashes["a"], "a")
    verifier.verify(hashes["b"], "b")
    verifier.verify(hashes["a"], "a")  # a is now most recent
    verifier.verify(hashes["c"], "c")  # evicts b
    assert len(verifier) == 2
    calls = counting.calls
    verifier.verify(hashes["a"], "a")
    assert counting.calls == calls
    verifier.verify(hashes["b"], "b")
    assert counting.calls == calls + 1


def test_secret_verifier_holds_no_secret() -> None:
    stored = _CHEAP.hash("plain-token-value")
    verifier = SecretVerifier()
    verifier.verify(stored, "plain-token-value")
    keys = list(verifier._ok)
    assert all(isinstance(k, bytes) and len(k) == 32 for k in keys)
    assert b"plain-token-value" not in b"".join(keys)


async def test_secret_verifier_async(counting: CountingVerify) -> None:
    stored = _CHEAP.hash("tok")
    verifier = SecretVerifier()
    results = await asyncio.gather(*(verifier.verify_async(stored, "tok") for _ in range(3)))
    assert all(results)
    assert await verifier.verify_async(stored, "tok")
    assert not await verifier.verify_async(stored, "nope")
    assert counting.calls <= 4


# --------------------------------------------------------------------------- bearer tokens

NOW = 1_700_000_000.0


def test_token_round_trip() -> None:
    token = issue_token(SECRET, "cso1", "officer", 3600, NOW)
    assert verify_token(SECRET, token, NOW) == Claims("cso1", "officer", NOW + 3600)
    assert verify_token(SECRET, token, NOW + 3599.9) == Claims("cso1", "officer", NOW + 3600)
    header = json.loads(base64.urlsafe_b64decode(token.split(".")[0] + "=="))
    assert header["alg"] == "HS256"


def test_token_expiry() -> None:
    token = issue_token(SECRET, "ops", "ops", 60, NOW)
    assert verify_token(SECRET, token, NOW + 60) is None
    assert verify_token(SECRET, token, NOW + 10_000) is None


def test_tokens_are_unique() -> None:
    a = issue_token(SECRET, "cso1", "officer", 60, NOW)
    b = issue_token(SECRET, "cso1", "officer", 60, NOW)
    assert a != b  # random jti


def test_token_wrong_secret_and_tampering() -> None:
    token = issue_token(SECRET, "cso1", "officer", 3600, NOW)
    assert verify_token("another-secret-of-enough-length", token, NOW) is None
    header, payload, signature = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=="))
    claims["role"] = "ops"
    forged = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    assert verify_token(SECRET, f"{header}.{forged}.{signature}", NOW) is None
    flipped = signature[:-2] + ("A" if signature[-2] != "A" else "B") + signature[-1]
    assert verify_token(SECRET, f"{header}.{payload}.{flipped}", NOW) is None


def test_token_alg_none_and_raw_secret_rejected() -> None:
    header = base64.urlsafe_b64encode(b'{"alg":"none","typ":"JWT"}').rstrip(b"=").decode()
    body = json.dumps({"sub": "cso1", "role": "ops", "iat": NOW, "exp": NOW + 60}).encode()
    unsigned = f"{header}.{base64.urlsafe_b64encode(body).rstrip(b'=').decode()}."
    assert verify_token(SECRET, unsigned, NOW) is None
    # signed with the configured secret directly instead of the derived key
    raw = jwt.encode(
        {"sub": "cso1", "role": "ops", "iat": NOW, "exp": NOW + 60},
        SECRET + "-padding-for-32-bytes",
        algorithm="HS256",
    )
    assert verify_token(SECRET + "-padding-for-32-bytes", raw, NOW) is None


@pytest.mark.parametrize(
    "claims",
    [
        {"role": "ops", "iat": NOW, "exp": NOW + 60},
        {"sub": "cso1", "iat": NOW, "exp": NOW + 60},
        {"sub": "cso1", "role": "ops", "iat": NOW},
        {"sub": "", "role": "ops", "iat": NOW, "exp": NOW + 60},
        {"sub": "cso1", "role": 5, "iat": NOW, "exp": NOW + 60},
        {"sub": "cso1", "role": "ops", "iat": NOW, "exp": "tomorrow"},
    ],
)
def test_token_with_missing_or_bad_claims_rejected(claims: dict[str, object]) -> None:
    token = jwt.encode(claims, security._token_key(SECRET), algorithm="HS256")
    assert verify_token(SECRET, token, NOW) is None


@pytest.mark.parametrize("garbage", ["", "abc", "a.b.c", "Bearer x", "x" * 5000, "eyJ.eyJ.sig"])
def test_token_garbage(garbage: str) -> None:
    assert verify_token(SECRET, garbage, NOW) is None


def test_issue_token_needs_positive_ttl() -> None:
    with pytest.raises(ValueError):
        issue_token(SECRET, "cso1", "officer", 0, NOW)


# --------------------------------------------------------------------------- login throttle


def test_login_throttle_blocks_after_max_failures_within_window() -> None:
    throttle = LoginThrottle(max_failures=3, window_s=60)
    for t in (0.0, 1.0, 2.0):
        assert throttle.allowed("cso1", t)
        throttle.record_failure("cso1", t)
    assert not throttle.allowed("cso1", 3.0)
    assert throttle.allowed("cso2", 3.0)  # keys are independent
    assert throttle.retry_after("cso1", 3.0) == pytest.approx(57.0)
    assert not throttle.allowed("cso1", 59.9)
    assert throttle.allowed("cso1", 60.0)  # the first failure left the window
    assert throttle.retry_after("cso1", 60.0) == 0.0


def test_login_throttle_window_slides() -> None:
    throttle = LoginThrottle(max_failures=2, window_s=10)
    throttle.record_failure("k", 0)
    throttle.record_failure("k", 8)
    assert not throttle.allowed("k", 9)
    assert throttle.allowed("k", 10)
    throttle.record_failure("k", 10)
    assert not throttle.allowed("k", 17)
    assert throttle.allowed("k", 18)


def test_login_throttle_reset_and_prune() -> None:
    throttle = LoginThrottle(max_failures=1, window_s=5)
    throttle.record_failure("a", 0)
    throttle.record_failure("b", 3)
    assert not throttle.allowed("a", 1)
    throttle.reset("a")
    assert throttle.allowed("a", 1)
    throttle.reset("never-seen")
    throttle.prune(7)
    assert len(throttle) == 1
    throttle.prune(8)
    assert len(throttle) == 0


def test_login_throttle_memory_is_bounded_under_spray() -> None:
    throttle = LoginThrottle(max_failures=5, window_s=300, max_keys=100)
    for i in range(1000):
        throttle.record_failure(f"user-{i}", float(i) / 100)
    assert len(throttle) <= 101
    # the most recent keys are kept
    throttle.record_failure("user-999", 10.0)
    assert len(throttle._failures["user-999"]) == 2


# --------------------------------------------------------------------------- rate limiter


def test_rate_limiter_burst_then_refill() -> None:
    limiter = RateLimiter(rate_per_s=2, burst=4)
    assert [limiter.allow("sid", 0.0) for _ in range(5)] == [True] * 4 + [False]
    assert not limiter.allow("sid", 0.4)  # 0.8 tokens
    assert limiter.allow("sid", 0.5)  # 1 token
    assert not limiter.allow("sid", 0.5)
    assert limiter.allow("other", 0.5)
    # idle long enough: full burst again, never more
    assert [limiter.allow("sid", 100.0) for _ in range(5)] == [True] * 4 + [False]


def test_rate_limiter_cost_and_forget() -> None:
    limiter = RateLimiter(rate_per_s=1, burst=10)
    assert limiter.allow("k", 0, cost=8)
    assert not limiter.allow("k", 0, cost=3)
    assert limiter.allow("k", 0, cost=2)
    assert not limiter.allow("k", 0, cost=11)
    limiter.forget("k")
    assert limiter.allow("k", 0, cost=10)
    assert not limiter.allow("k", 0, cost=100)  # more than the burst: never


def test_rate_limiter_clock_going_backwards_refills_nothing() -> None:
    limiter = RateLimiter(rate_per_s=10, burst=1)
    assert limiter.allow("k", 100.0)
    assert not limiter.allow("k", 50.0)
    assert not limiter.allow("k", 100.05)
    assert limiter.allow("k", 100.1)


def test_rate_limiter_prune_drops_full_buckets() -> None:
    limiter = RateLimiter(rate_per_s=1, burst=2)
    limiter.allow("a", 0)
    limiter.allow("b", 1)
    limiter.allow("b", 1)
    limiter.prune(1.5)
    assert len(limiter) == 1  # a has refilled, b has not
    limiter.prune(3.0)
    assert len(limiter) == 0


@settings(max_examples=200, deadline=None)
@given(
    rate=st.floats(min_value=0.1, max_value=50),
    burst=st.integers(min_value=1, max_value=20),
    steps=st.lists(
        st.tuples(
            st.floats(min_value=0, max_value=2),  # time step
            st.floats(min_value=0, max_value=5),  # cost
        ),
        min_size=1,
        max_size=60,
    ),
)
def test_rate_limiter_never_exceeds_burst_plus_rate(
    rate: float, burst: int, steps: list[tuple[float, float]]
) -> None:
    limiter = RateLimiter(rate_per_s=rate, burst=burst)
    now = 0.0
    granted: list[tuple[float, float]] = []
    for dt, cost in steps:
        now += dt
        if limiter.allow("k", now, cost):
            granted.append((now, cost))
    # every window [t_i, t_j] of granted requests stays within burst + rate * (t_j - t_i)
    for i in range(len(granted)):
        total = 0.0
        for j in range(i, len(granted)):
            total += granted[j][1]
            assert total <= burst + rate * (granted[j][0] - granted[i][0]) + 1e-6


@settings(max_examples=50, deadline=None)
@given(burst=st.integers(min_value=1, max_value=30), rate=st.floats(min_value=0.5, max_value=10))
def test_rate_limiter_grants_the_full_burst(burst: int, rate: float) -> None:
    limiter = RateLimiter(rate_per_s=rate, burst=burst)
    assert sum(limiter.allow("k", 5.0) for _ in range(burst + 5)) == burst


# --------------------------------------------------------------------------- redaction


def test_redact_hides_the_value_but_is_stable() -> None:
    token = "demo-token-langsa-01"
    shown = redact(token)
    assert token not in shown and "langsa" not in shown and "demo" not in shown
    assert shown == redact(token) != redact("demo-token-langsa-02")
    assert shown.startswith("<redacted")
    assert redact("") == ""


@pytest.mark.parametrize(
    ("text", "secret"),
    [
        ("Authorization: Bearer abcdefgh12345678", "abcdefgh12345678"),
        ("got eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJjc28xIn0.c2lnbmF0dXJl here", "c2lnbmF0dXJl"),
        ("auth={'booth_id': 'langsa-01', 'token': 'demo-token-langsa-01'}", "demo-token"),
        ('{"password": "hunter2"}', "hunter2"),
        ("login password=hunter2 user=cso1", "hunter2"),
        ("turn_secret: s3cr3t", "s3cr3t"),
        ("redis://:p4ss@redis.internal:6379/0", "p4ss"),
        ("rediss://user:p4ss@redis:6380", "p4ss"),
    ],
)
def test_scrub_removes_credentials(text: str, secret: str) -> None:
    cleaned = scrub(text)
    assert secret not in cleaned
    assert "<redacted>" in cleaned


def test_scrub_keeps_ordinary_text() -> None:
    text = "booth langsa-01 queued at position 3 (branch=langsa)"
    assert scrub(text) == text
