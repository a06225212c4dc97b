"""The Redis store: several server processes share branches through one Redis.

Keys (``prefix`` defaults to ``lapak``; ``{branch}`` is a Redis Cluster hash tag, so everything
of one branch lives in one slot and a transaction never spans slots):

    lapak:{langsa}:state    hash: ``rev`` (random per write), ``meta`` and one JSON field per
                            booth, officer and session (`state_fields`)
    lapak:{langsa}:routes   hash: session id -> its parties (`SessionRoute`), for the relay
    lapak:{langsa}:audit    stream of audit entries, field ``e`` (JSON), MAXLEN ~ AUDIT_LIMIT
    lapak:{langsa}:visits   stream of finished visits, field ``v`` (JSON), MAXLEN ~ VISIT_LIMIT
    lapak:{langsa}:lease    which process is writing the branch now (token, expiring)
    lapak:branches          set of branch ids
    lapak:blob:KEY          document blob, expiring (PX)
    lapak:presence:ROLE:ID  heartbeat, expiring (PX)

``transact`` runs the dispatcher on the branch and commits with one Lua script, one round trip:
the script compares the stored ``rev`` with the rev of the state the dispatcher ran on and, only
if they are equal, writes the new state, its session routes, audit entries and visits at once.
If another process wrote in between, nothing is written and the script answers with the current
state, so the dispatcher runs again on it without another read: an assignment is never made on
a stale view. That compare-and-set is the only thing correctness rests on. The state a
transaction starts from is this process's last committed or read copy when it has one (with a
single process, always), so most changes cost exactly one round trip; a refusal or a read made
on a cached copy is checked against the stored rev the same way before it is answered.

For throughput under contention there is also a per-branch lease (``lapak:{b}:lease``, SET NX
PX, at most 1 s): a transaction that lost the race twice queues for the lease (polling), so
processes take turns instead of all decoding the state and losing again. The commit script
refuses to write while another process holds the lease and releases the lease it commits
under; a killed holder blocks its branch at most the lease time. Inside one process an asyncio
lock per branch queues transactions.

Every call is bounded by a deadline (1.5 x ``socket_timeout``, connecting by ``socket_timeout``):
a Redis that is down, paused or unreachable turns into `StoreUnavailable` within that time, never
a hang. The deadline is an `asyncio.timeout` around the whole call, not redis-py's socket timeout:
on Python 3.11 that one sends every command through `asyncio.wait_for`, which costs a task (a
trip round the event loop) per command and can swallow a cancellation that races the send, so a
cancelled timer or heartbeat loop kept running and the server's shutdown never ended. redis-py
drops a connection whose command was cancelled half-way. redis-py's own retries are off (a retry
could apply a commit twice); the connection pool checks a pooled connection before handing it
out, so the store works again by itself as soon as Redis is back. A call that failed with
`StoreUnavailable` may or may not have been applied (a commit can reach Redis and its reply not
come back); it is never applied twice.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import heapq
import logging
import math
import os
import random
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, replace
from typing import Any, Generic, Literal, TypeVar

import orjson
from redis.asyncio import Redis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError, ResponseError

from booth_server.core.dispatcher import Result
from booth_server.core.model import AuditEntry, BranchState, Visit
from booth_server.store.base import SessionRoute, StoreBusy, StoreUnavailable, session_routes
from booth_server.store.reconcile import reconcile
from booth_server.store.state_fields import REV, changes, decode_fields, encode_fields

log = logging.getLogger("lapak.store.redis")

R = TypeVar("R", bound=Result)
T = TypeVar("T")

AUDIT_LIMIT = 200_000  # per branch, approximate (MAXLEN ~)
VISIT_LIMIT = 200_000
MAX_ATTEMPTS = 50
# A transaction that found the branch changed under it this many times queues for the lease
# instead of racing again.
LEASE_AFTER_CONFLICTS = 2
LEASE_POLL_MIN_S = 0.0005
LEASE_POLL_MAX_S = 0.002
# Audit and visit streams are in commit order; each entry's time is the clock of the process
# that made it, so neighbours can be out of order by about one transaction. Reading backwards,
# the scan stops once entries are this much older than `since`.
ORDER_SLACK_S = 60.0
SCAN_BATCH = 500
PRESENCE_BATCH = 100


def _entry_json(entry: AuditEntry | Visit) -> bytes:
    return orjson.dumps(entry)


def _bytes(value: object) -> bytes | None:
    """Replies are bytes (decode_responses=False); redis-py types them more loosely."""
    if value is None:
        return None
    if isinstance(value, bytes):
        return value
    if isinstance(value, str):
        return value.encode()
    raise TypeError(f"unexpected redis reply {type(value).__name__}")


def _check_branch_id(branch_id: str) -> str:
    if not branch_id or "{" in branch_id or "}" in branch_id:
        raise ValueError(f"branch id {branch_id!r}: must be non-empty and without braces")
    return branch_id


@dataclass(frozen=True)
class _BranchKeys:
    state: str
    lease: str
    routes: str
    audit: str
    visits: str

    def all(self) -> list[str]:
        return [self.state, self.lease, self.routes, self.audit, self.visits]


@dataclass
class _Lease:
    wanted: bool = False
    token: bytes | None = None


# The commit, in one round trip. KEYS: state, lease, routes, audit, visits. ARGV: the rev the
# change was computed from (empty: the branch has no state yet), this process's lease token
# (or empty), the new rev (empty: only check that the state is still current), whether the
# branch is being created, the counts of state fields to set and to delete, of route sets and
# deletes, of audit entries and of visits, the two stream limits, then those items in order.
# Replies: {1} done; {0, fields} the state changed since (here are all its fields, so the caller
# runs again without another read); {2} another process holds the lease (writes only).
_COMMIT_LUA = """
local write = ARGV[3] ~= ''
if write then
  local holder = redis.call('GET', KEYS[2])
  if holder and holder ~= ARGV[2] then return {2} end
end
local rev = redis.call('HGET', KEYS[1], 'rev') or ''
if rev ~= ARGV[1] then return {0, redis.call('HGETALL', KEYS[1])} end
if not write then return {1} end
local i = 13
redis.call('HSET', KEYS[1], 'rev', ARGV[3])
for _ = 1, tonumber(ARGV[5]) do
  redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1]); i = i + 2
end
for _ = 1, tonumber(ARGV[6]) do redis.call('HDEL', KEYS[1], ARGV[i]); i = i + 1 end
if ARGV[4] == '1' then redis.call('DEL', KEYS[3]) end
for _ = 1, tonumber(ARGV[7]) do
  redis.call('HSET', KEYS[3], ARGV[i], ARGV[i + 1]); i = i + 2
end
for _ = 1, tonumber(ARGV[8]) do redis.call('HDEL', KEYS[3], ARGV[i]); i = i + 1 end
for _ = 1, tonumber(ARGV[9]) do
  redis.call('XADD', KEYS[4], 'MAXLEN', '~', ARGV[11], '*', 'e', ARGV[i]); i = i + 1
end
for _ = 1, tonumber(ARGV[10]) do
  redis.call('XADD', KEYS[5], 'MAXLEN', '~', ARGV[12], '*', 'v', ARGV[i]); i = i + 1
end
if ARGV[2] ~= '' then redis.call('DEL', KEYS[2]) end
return {1}
"""
_RELEASE_LUA = (
    "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end "
    "return 0"
)
_DONE, _LEASE_HELD = 1, 2  # and 0: stale

Fields = dict[bytes, bytes]


@dataclass(frozen=True)
class _Write:
    token: bytes
    sets: Fields  # state fields to set
    gone: list[bytes]  # and to delete
    routes: dict[str, bytes]
    audit: list[AuditEntry]
    visits: list[Visit]


@dataclass(frozen=True)
class _Done(Generic[R]):
    result: R


@dataclass
class _Waiting:
    """Whether a call is waiting for its turn on a branch (lock or lease), not for Redis."""

    for_turn: bool = False


class _CommitUnknown(Exception):
    """The connection failed while the commit was under way: the outcome is unknown."""


@dataclass
class _Base:
    """A branch's state with what is known of it: what an attempt runs on, and (with `fresh`
    False) the last state this process committed or read, kept so that an unchanged branch
    is not decoded again."""

    rev: bytes  # the random token written with it; b"": not in Redis (being created)
    fields: Fields | None  # as stored (`rev` aside); None: not stored at all
    state: BranchState
    routes: dict[str, bytes]  # the session routes of `state`: what the next write diffs against
    # Read from Redis for this transaction, so a read-only outcome needs no check; a state
    # from the cache is checked against the stored rev in the same round trip as the commit.
    fresh: bool

    @property
    def created(self) -> bool:
        return self.fields is None


class RedisStore:
    kind = "redis"

    def __init__(
        self, url: str, *, prefix: str = "lapak", socket_timeout: float = 2.0
    ) -> None:
        if socket_timeout <= 0:
            raise ValueError("socket_timeout must be positive")
        self.url = url
        self.prefix = prefix
        self.socket_timeout = socket_timeout
        # The bound of one call (several round trips, the branch lock, conflict retries).
        self._deadline_s = socket_timeout * 1.5
        self._health_timeout_s = min(1.0, socket_timeout)
        # How long a process may hold a branch's lease; a holder that was killed blocks the
        # branch at most this long. Correctness never depends on it (the commit's
        # compare-and-set does that).
        self._lease_ms = max(50, int(min(1.0, self._deadline_s) * 1000))
        self._redis: Redis = Redis.from_url(
            url,
            socket_timeout=None,  # see the module docstring: _guard bounds every call
            socket_connect_timeout=socket_timeout,
            retry=Retry(NoBackoff(), 0, supported_errors=()),
            decode_responses=False,
        )
        self._commit_script = self._redis.register_script(_COMMIT_LUA)
        self._release_script = self._redis.register_script(_RELEASE_LUA)
        self._locks: dict[str, asyncio.Lock] = {}
        self._cache: dict[str, _Base] = {}  # every entry has fresh=False
        self._templates: dict[str, BranchState] = {}
        # For the curious (tests, benchmarks): attempts that found the branch changed since the
        # state they ran on and ran again, and times a transaction found another process
        # holding the branch's lease and queued for it.
        self.conflicts = 0
        self.lease_waits = 0

    # ------------------------------------------------------------------ keys

    def _state_key(self, branch_id: str) -> str:
        return f"{self.prefix}:{{{_check_branch_id(branch_id)}}}:state"

    def _lease_key(self, branch_id: str) -> str:
        return f"{self.prefix}:{{{branch_id}}}:lease"

    def _routes_key(self, branch_id: str) -> str:
        return f"{self.prefix}:{{{branch_id}}}:routes"

    def _audit_key(self, branch_id: str) -> str:
        return f"{self.prefix}:{{{branch_id}}}:audit"

    def _visits_key(self, branch_id: str) -> str:
        return f"{self.prefix}:{{{branch_id}}}:visits"

    @property
    def _branches_key(self) -> str:
        return f"{self.prefix}:branches"

    def _blob_key(self, key: str) -> str:
        return f"{self.prefix}:blob:{key}"

    def _presence_key(self, role: str, party_id: str) -> str:
        return f"{self.prefix}:presence:{role}:{party_id}"

    # ------------------------------------------------------------------ lifecycle

    async def start(self) -> None:
        return None

    async def close(self) -> None:
        with contextlib.suppress(RedisError, OSError):
            await self._redis.aclose()

    async def healthy(self) -> bool:
        try:
            async with asyncio.timeout(self._health_timeout_s):
                try:
                    return bool(await self._redis.ping())
                except RedisConnectionError:
                    return bool(await self._redis.ping())  # a pooled connection was stale
        except (RedisError, OSError, TimeoutError):
            return False

    @contextlib.asynccontextmanager
    async def _guard(self, what: str) -> AsyncIterator[_Waiting]:
        """Bound the call in time and turn every Redis failure into StoreUnavailable (or
        StoreBusy, when the time ran out while waiting for a turn on the branch)."""
        waiting = _Waiting()
        try:
            async with asyncio.timeout(self._deadline_s) as timeout:
                yield waiting
        except TimeoutError as exc:
            if timeout.expired():
                if waiting.for_turn:
                    raise StoreBusy(
                        f"{what}: no turn on the branch within {self._deadline_s:.1f} s "
                        "(too many changes queued)"
                    ) from exc
                raise StoreUnavailable(
                    f"redis {what}: no answer within {self._deadline_s:.1f} s"
                ) from exc
            raise
        except _CommitUnknown as exc:
            raise StoreUnavailable(
                f"redis {what}: the connection failed while committing "
                f"({exc.__cause__!r}); the change may or may not have been saved"
            ) from exc.__cause__
        except RedisError as exc:
            raise StoreUnavailable(f"redis {what}: {type(exc).__name__}: {exc}") from exc

    async def _run(self, what: str, op: Callable[[], Awaitable[T]]) -> T:
        """Run a call that is safe to repeat, once more on a fresh connection if the pooled
        one turns out dead (Redis restarted since it was last used)."""
        async with self._guard(what):
            try:
                return await op()
            except RedisConnectionError:
                return await op()

    # ------------------------------------------------------------------ branch state

    async def init_branch(self, template: BranchState) -> None:
        branch_id = _check_branch_id(template.id)
        self._templates[branch_id] = copy.deepcopy(template)

        def adopt(state: BranchState) -> Result:
            if state is not template_copy:
                reconcile(state, copy.deepcopy(template))
            return Result()

        template_copy = copy.deepcopy(template)
        await self._run(
            f"init_branch {branch_id!r}", lambda: self._redis.sadd(self._branches_key, branch_id)
        )
        await self._transact(branch_id, adopt, create=lambda: template_copy)

    def _recreate(self, branch_id: str) -> BranchState:
        template = self._templates.get(branch_id)
        if template is None:
            raise KeyError(f"unknown branch {branch_id!r}")
        log.warning(
            "branch %s has no state in redis (flushed, or restarted without persistence): "
            "starting it again from the configuration", branch_id,
        )
        return copy.deepcopy(template)

    async def transact(self, branch_id: str, fn: Callable[[BranchState], R]) -> R:
        return await self._transact(branch_id, fn, create=lambda: self._recreate(branch_id))

    async def _transact(
        self,
        branch_id: str,
        fn: Callable[[BranchState], R],
        *,
        create: Callable[[], BranchState],
    ) -> R:
        keys = self._keys(branch_id)
        local = self._locks.setdefault(branch_id, asyncio.Lock())
        async with self._guard(f"transaction on branch {branch_id!r}") as waiting:
            waiting.for_turn = True
            await local.acquire()
            waiting.for_turn = False
            try:
                return await self._transact_locked(branch_id, keys, fn, create, waiting)
            finally:
                local.release()

    def _keys(self, branch_id: str) -> _BranchKeys:
        return _BranchKeys(
            self._state_key(branch_id), self._lease_key(branch_id),
            self._routes_key(branch_id), self._audit_key(branch_id),
            self._visits_key(branch_id),
        )

    async def _transact_locked(
        self,
        branch_id: str,
        keys: _BranchKeys,
        fn: Callable[[BranchState], R],
        create: Callable[[], BranchState],
        waiting: _Waiting,
    ) -> R:
        # Whoever runs a transaction owns the cached object: a concurrent reader in this
        # process never sees a state that is being changed and may not be committed.
        base = self._cache.pop(branch_id, None)
        lease = _Lease()
        stale_runs = 0
        reconnected = False
        try:
            for _attempt in range(MAX_ATTEMPTS):
                if lease.wanted and lease.token is None:
                    waiting.for_turn = True
                    await self._acquire_lease(keys.lease, lease)
                    waiting.for_turn = False
                try:
                    if base is None:
                        base = await self._read(keys, create)
                    outcome = await self._attempt(branch_id, keys, fn, base, lease, create)
                except RedisConnectionError:
                    # Nothing was written (a commit whose fate is unknown is _CommitUnknown):
                    # one more try on a fresh connection is safe.
                    if reconnected:
                        raise
                    reconnected = True
                    base = None
                    continue
                if isinstance(outcome, _Base):  # the state had changed: run again on it
                    self.conflicts += 1
                    stale_runs += 1
                    base = outcome
                    if stale_runs >= LEASE_AFTER_CONFLICTS and lease.token is None:
                        lease.wanted = True  # losing races: queue for the branch instead
                    continue
                if outcome is None:  # another process holds the lease: queue for it
                    self.lease_waits += 1
                    lease.wanted = True
                    lease.token = None  # if it was ours, it expired and changed hands
                    base = None
                    continue
                return outcome.result
        except (RedisError, _CommitUnknown, asyncio.CancelledError):
            lease.token = None  # Redis is failing: the lease expires by itself
            raise
        finally:
            if lease.token is not None:
                await self._release_lease(keys.lease, lease)
        raise StoreBusy(
            f"redis transaction on branch {branch_id!r}: still conflicting after "
            f"{MAX_ATTEMPTS} attempts"
        )

    async def _acquire_lease(self, lease_key: str, lease: _Lease) -> None:
        """Wait until this process holds the branch's lease (bounded by the call's deadline)."""
        token = os.urandom(8).hex().encode()
        delay = LEASE_POLL_MIN_S
        while not await self._redis.set(lease_key, token, nx=True, px=self._lease_ms):
            await asyncio.sleep(random.uniform(delay / 2, delay))
            delay = min(LEASE_POLL_MAX_S, delay * 1.5)
        lease.token = token

    async def _release_lease(self, lease_key: str, lease: _Lease) -> None:
        token, lease.token = lease.token, None
        with contextlib.suppress(RedisError):  # it expires by itself anyway
            await self._release_script(keys=[lease_key], args=[token or b""])

    async def _read(self, keys: _BranchKeys, create: Callable[[], BranchState]) -> _Base:
        stored = await self._redis.hgetall(keys.state)
        return self._base(stored, create)

    @staticmethod
    def _base(stored: Mapping[Any, Any], create: Callable[[], BranchState]) -> _Base:
        if not stored:
            return _Base(b"", None, create(), {}, fresh=True)
        fields: Fields = {_bytes(k) or b"": _bytes(v) or b"" for k, v in stored.items()}
        rev = fields.pop(REV, b"")
        state = decode_fields(fields)
        return _Base(rev, fields, state, session_routes(state), fresh=True)

    async def _attempt(
        self,
        branch_id: str,
        keys: _BranchKeys,
        fn: Callable[[BranchState], R],
        base: _Base,
        lease: _Lease,
        create: Callable[[], BranchState],
    ) -> _Done[R] | _Base | None:
        """Run fn on `base` and commit. Returns what was done, the current state if `base`
        was stale (so fn runs again on it), or None if another process holds the lease."""
        try:
            result = fn(base.state)
        except BaseException:
            # A refusal made on a cached state stands only if that state is still current.
            if (newer := await self._newer(keys, base, lease, create)) is not None:
                return newer
            raise  # the cache is dropped: fn may have changed the state before refusing
        new_fields = encode_fields(base.state)
        sets, gone = changes(base.fields or {}, new_fields)
        if not sets and not gone and not result.audit and not result.visits:
            # Nothing to write: a read, serialised with the writes by the rev it was made on.
            if (newer := await self._newer(keys, base, lease, create)) is not None:
                return newer
            self._keep(branch_id, base)
            return _Done(result)
        routes = session_routes(base.state)
        token = os.urandom(8).hex().encode()
        outcome = await self._commit(
            keys, base, lease, _Write(token, sets, gone, routes, result.audit, result.visits),
            create,
        )
        if outcome is not True:
            return outcome
        lease.token = None  # released with the commit
        self._cache[branch_id] = _Base(token, new_fields, base.state, routes, fresh=False)
        if base.created:
            # Committed already: a failure here must not make the caller run it again.
            with contextlib.suppress(RedisError):
                await self._redis.sadd(self._branches_key, branch_id)
        return _Done(result)

    def _keep(self, branch_id: str, base: _Base) -> None:
        """Cache a state read from (or checked against) Redis. Checked against the stored rev
        before every use, so a stale entry only costs a decode."""
        if base.rev and base.fields is not None:
            self._cache[branch_id] = replace(base, fresh=False)

    async def _newer(
        self, keys: _BranchKeys, base: _Base, lease: _Lease, create: Callable[[], BranchState]
    ) -> _Base | None:
        """The branch's current state if it changed since `base` was cached, else None (a
        state read for this transaction is current by definition)."""
        if base.fresh:
            return None
        current = await self._commit(keys, base, lease, None, create)
        return current if isinstance(current, _Base) else None

    async def _commit(
        self, keys: _BranchKeys, base: _Base, lease: _Lease, write: _Write | None,
        create: Callable[[], BranchState],
    ) -> Literal[True] | _Base | None:
        """One round trip: write (or, with `write` None, only check) if the stored rev is still
        `base.rev`. True: done; a `_Base`: the state changed, here it is; None: the lease is
        another process's (writes only)."""
        args: list[bytes | str | int] = [base.rev, lease.token or b""]
        if write is None:
            args += [b"", 0, 0, 0, 0, 0, 0, 0, AUDIT_LIMIT, VISIT_LIMIT]
        else:
            route_sets, route_gone = changes(base.routes, write.routes)
            args += [
                write.token, 1 if base.created else 0, len(write.sets), len(write.gone),
                len(route_sets), len(route_gone), len(write.audit), len(write.visits),
                AUDIT_LIMIT, VISIT_LIMIT,
            ]
            for key, value in write.sets.items():
                args += [key, value]
            args += write.gone
            for route, value in route_sets.items():
                args += [route, value]
            args += route_gone
            args += [_entry_json(entry) for entry in write.audit]
            args += [_entry_json(visit) for visit in write.visits]
        try:
            reply = await self._commit_script(keys=keys.all(), args=args)
        except RedisConnectionError as exc:
            if write is None:
                raise  # a check wrote nothing: safe to run again
            raise _CommitUnknown() from exc
        except RedisError as exc:
            if write is None or isinstance(exc, ResponseError):
                raise
            # The script may have run and only its reply been lost: never retried, or the
            # change could be applied twice.
            raise _CommitUnknown() from exc
        code = int(reply[0])
        if code == _DONE:
            return True
        if code == _LEASE_HELD:
            return None
        flat = reply[1]
        return self._base(dict(zip(flat[::2], flat[1::2], strict=True)), create)

    async def session_route(self, branch_id: str, session_id: str) -> SessionRoute | None:
        """Who a session connects, from the route index the transactions keep (one HGET,
        no state decode: the relay asks this for every signal)."""
        raw = await self._run(
            f"route of {session_id!r}",
            lambda: self._redis.hget(self._routes_key(branch_id), session_id),
        )
        return None if raw is None else SessionRoute.decode(_bytes(raw) or b"")

    async def snapshot(self, branch_id: str) -> BranchState:
        """The branch's current state, for reading only (as with MemoryStore, the object may
        be the one a later transaction in this process changes: read it before awaiting)."""
        key = self._state_key(branch_id)
        cached = self._cache.get(branch_id)
        if cached is not None:
            current = await self._run(
                f"snapshot of branch {branch_id!r}", lambda: self._redis.hget(key, "rev")
            )
            # Still the cached entry: a transaction in this process that began meanwhile took
            # it out and may be changing its state in place (and may never commit that).
            if _bytes(current) == cached.rev and self._cache.get(branch_id) is cached:
                return cached.state
        stored = await self._run(
            f"snapshot of branch {branch_id!r}", lambda: self._redis.hgetall(key)
        )
        if not stored:
            template = self._templates.get(branch_id)
            if template is None:
                raise KeyError(f"unknown branch {branch_id!r}")
            return copy.deepcopy(template)
        base = self._base(stored, lambda: self._recreate(branch_id))
        self._keep(branch_id, base)
        return base.state

    async def branches(self) -> list[str]:
        """Every branch id any process has initialised, sorted."""
        return await self._run("branches", lambda: self._known(None))

    # ------------------------------------------------------------------ audit and visits

    async def _scan_back(
        self,
        key: str,
        field: bytes,
        build: Callable[[dict[str, Any]], T],
        when: Callable[[T], float],
        since: float | None,
        limit: int,
    ) -> list[T]:
        """Entries of one stream at or after `since`, newest `limit` (0: all), oldest first."""
        found: list[T] = []
        upper = b"+"
        while True:
            batch = await self._redis.xrevrange(key, max=upper, min=b"-", count=SCAN_BATCH)
            if not batch:
                break
            for entry_id, fields in batch:
                item = build(orjson.loads(fields[field]))  # type: ignore[index]
                at = when(item)
                if since is None or at >= since:
                    found.append(item)
                    if limit and len(found) >= limit:
                        return found[::-1]
                elif at < since - ORDER_SLACK_S:
                    return found[::-1]
                upper = b"(" + (_bytes(entry_id) or b"")
            if len(batch) < SCAN_BATCH:
                break
        return found[::-1]

    async def _known(self, branch_id: str | None) -> list[str]:
        if branch_id is not None:
            return [_check_branch_id(branch_id)]
        members = await self._redis.smembers(self._branches_key)
        return sorted((_bytes(m) or b"").decode() for m in members)

    async def audit(
        self, branch_id: str | None = None, *, since: float | None = None, limit: int = 1000
    ) -> list[AuditEntry]:
        async def read() -> list[list[AuditEntry]]:
            return [
                await self._scan_back(
                    self._audit_key(b), b"e", lambda d: AuditEntry(**d), lambda a: a.at,
                    since, limit,
                )
                for b in await self._known(branch_id)
            ]

        per_branch = await self._run("audit", read)
        if len(per_branch) == 1:
            return per_branch[0]
        # Each branch's order is its commit order; across branches, interleave by time.
        merged = list(heapq.merge(*per_branch, key=lambda a: a.at))
        return merged[-limit:] if limit else merged

    async def visits(self, branch_id: str | None = None, *, since: float = 0.0) -> list[Visit]:
        async def read() -> list[list[Visit]]:
            return [
                await self._scan_back(
                    self._visits_key(b), b"v", lambda d: Visit(**d), lambda v: v.ended_at,
                    since, 0,
                )
                for b in await self._known(branch_id)
            ]

        per_branch = await self._run("visits", read)
        if len(per_branch) == 1:
            return per_branch[0]
        return list(heapq.merge(*per_branch, key=lambda v: v.ended_at))

    # ------------------------------------------------------------------ blobs

    async def put_blob(self, key: str, data: bytes, ttl_s: float) -> None:
        name = self._blob_key(key)
        if ttl_s <= 0:
            await self._run("put_blob", lambda: self._redis.delete(name))
            return
        ttl_ms = max(1, math.ceil(ttl_s * 1000))
        await self._run("put_blob", lambda: self._redis.set(name, data, px=ttl_ms))

    async def get_blob(self, key: str) -> bytes | None:
        return _bytes(await self._run("get_blob", lambda: self._redis.get(self._blob_key(key))))

    async def delete_blob(self, key: str) -> None:
        await self._run("delete_blob", lambda: self._redis.delete(self._blob_key(key)))

    # ------------------------------------------------------------------ presence

    async def touch_presence(self, role: str, ids: Iterable[str], ttl_s: float) -> None:
        wanted = list(ids)
        if not wanted:
            return
        ttl_ms = max(1, math.ceil(ttl_s * 1000))
        # In pipelines of PRESENCE_BATCH: one of a thousand commands would hold the event loop
        # for tens of milliseconds while it is packed, and every dispatch would wait behind it.
        for start in range(0, len(wanted), PRESENCE_BATCH):
            batch = wanted[start:start + PRESENCE_BATCH]

            async def touch(batch: list[str] = batch) -> None:
                async with self._redis.pipeline(transaction=False) as pipe:
                    for party_id in batch:
                        pipe.set(self._presence_key(role, party_id), b"1", px=ttl_ms)
                    await pipe.execute()

            await self._run("touch_presence", touch)

    async def present(self, role: str, ids: Iterable[str]) -> set[str]:
        wanted = list(dict.fromkeys(ids))
        if not wanted:
            return set()
        async def check() -> list[Any]:
            async with self._redis.pipeline(transaction=False) as pipe:
                for party_id in wanted:
                    pipe.exists(self._presence_key(role, party_id))
                return await pipe.execute()

        live = await self._run("present", check)
        return {party_id for party_id, n in zip(wanted, live, strict=True) if n}
