"""The Redis store: several server processes share branches through one Redis.

Keys (``prefix`` defaults to ``lapak``; ``{branch}`` is a Redis Cluster hash tag, so everything
of one branch lives in one slot and a transaction never spans slots):

    lapak:{langsa}:state    hash: ``json`` (BranchState as JSON) and ``rev`` (random per write)
    lapak:{langsa}:audit    stream of audit entries, field ``e`` (JSON), MAXLEN ~ AUDIT_LIMIT
    lapak:{langsa}:visits   stream of finished visits, field ``v`` (JSON), MAXLEN ~ VISIT_LIMIT
    lapak:{langsa}:lease    which process is writing the branch now (token, expiring)
    lapak:branches          set of branch ids
    lapak:blob:KEY          document blob, expiring (PX)
    lapak:presence:ROLE:ID  heartbeat, expiring (PX)

``transact`` runs the dispatcher on the branch between a WATCH and a MULTI/EXEC on the
pipeline's own connection: WATCH the state (and the lease, below), read it, run the dispatcher,
then write the new state with its audit entries and visits in one MULTI/EXEC. If anything
watched changed in between, EXEC fails and the whole thing runs again on the fresh state, so an
assignment is never made on a stale view. That WATCH is the only thing correctness rests on.

For throughput under contention there is also a per-branch lease (``lapak:{b}:lease``, SET NX
PX, at most 1 s): the first attempt is optimistic; once a process meets a conflict or a held
lease it queues for the lease (polling) for a while, so processes take turns instead of all
decoding the state and losing the race. The lease is released inside the committing MULTI
(WATCHed, so it is a compare-and-delete); a killed holder blocks its branch at most the lease
time. Inside one process an asyncio lock per branch queues transactions.

Every call is bounded by ``socket_timeout``: a Redis that is down, paused or unreachable turns
into `StoreUnavailable` within that time, never a hang. redis-py's own retries are off (a retry
while WATCHing would hide a broken connection as a conflict, and could apply an EXEC twice); the
connection pool checks a pooled connection before handing it out, so the store works again by
itself as soon as Redis is back. A call that failed with `StoreUnavailable` may or may not have
been applied (an EXEC can reach Redis and its reply not come back); it is never applied twice.
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
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import Any, TypeVar

import orjson
from redis.asyncio import Redis
from redis.asyncio.client import Pipeline
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError, WatchError

from booth_server.core.dispatcher import Result
from booth_server.core.model import AuditEntry, BranchState, Visit
from booth_server.store.base import SessionRoute, StoreBusy, StoreUnavailable, session_routes
from booth_server.store.reconcile import reconcile

log = logging.getLogger("lapak.store.redis")

R = TypeVar("R", bound=Result)
T = TypeVar("T")

AUDIT_LIMIT = 200_000  # per branch, approximate (MAXLEN ~)
VISIT_LIMIT = 200_000
MAX_ATTEMPTS = 50
CONTENDED_S = 2.0
LEASE_POLL_MIN_S = 0.0005
LEASE_POLL_MAX_S = 0.002
# Audit and visit streams are in commit order; each entry's time is the clock of the process
# that made it, so neighbours can be out of order by about one transaction. Reading backwards,
# the scan stops once entries are this much older than `since`.
ORDER_SLACK_S = 60.0
SCAN_BATCH = 500
PRESENCE_BATCH = 100


def encode_state(state: BranchState) -> bytes:
    # orjson writes dataclasses natively, field by field as asdict() would (a test holds the
    # two equal), about ten times faster than json with a default hook.
    return orjson.dumps(state)


def decode_state(raw: bytes) -> BranchState:
    return BranchState.from_dict(orjson.loads(raw))


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


class _LeaseHeld(Exception):
    """Another process holds the branch's lease: wait for it instead of racing."""


@dataclass(frozen=True)
class _BranchKeys:
    state: str
    lease: str


@dataclass
class _Lease:
    wanted: bool = False
    token: bytes | None = None


# Read the lease holder and the state's rev in one round trip, under the WATCH.
_PEEK_LUA = "return {redis.call('GET', KEYS[2]), redis.call('HGET', KEYS[1], 'rev')}"
_RELEASE_LUA = (
    "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end "
    "return 0"
)


@dataclass
class _Waiting:
    """Whether a call is waiting for its turn on a branch (lock or lease), not for Redis."""

    for_turn: bool = False


class _CommitUnknown(Exception):
    """The connection failed after EXEC was sent: the outcome is unknown."""


@dataclass
class _Cached:
    """The last state this process committed or read, so an unchanged branch is not decoded
    again. `rev` is the random token written with that state."""

    rev: bytes
    raw: bytes
    state: BranchState
    # The session routes of `state`, once known (what the next write diffs against).
    routes: dict[str, bytes] | None = None


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
        # A hard bound for one call (several round trips, the branch lock, conflict retries);
        # a single stalled round trip already ends at socket_timeout.
        self._deadline_s = socket_timeout * 1.5
        self._health_timeout_s = min(1.0, socket_timeout)
        # How long a process may hold a branch's lease; a holder that was killed blocks the
        # branch at most this long. Correctness never depends on it (the WATCH does that).
        self._lease_ms = max(50, int(min(1.0, self._deadline_s) * 1000))
        self._redis: Redis = Redis.from_url(
            url,
            socket_timeout=socket_timeout,
            socket_connect_timeout=socket_timeout,
            retry=Retry(NoBackoff(), 0, supported_errors=()),
            decode_responses=False,
        )
        self._locks: dict[str, asyncio.Lock] = {}
        self._contended_until: dict[str, float] = {}
        self._cache: dict[str, _Cached] = {}
        self._templates: dict[str, BranchState] = {}
        # For the curious (tests, benchmarks): WATCH conflicts retried, and transactions that
        # found another process holding the branch's lease and queued for it.
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
        keys = _BranchKeys(self._state_key(branch_id), self._lease_key(branch_id))
        local = self._locks.setdefault(branch_id, asyncio.Lock())
        async with self._guard(f"transaction on branch {branch_id!r}") as waiting:
            waiting.for_turn = True
            await local.acquire()
            waiting.for_turn = False
            try:
                return await self._transact_locked(branch_id, keys, fn, create, waiting)
            finally:
                local.release()

    async def _transact_locked(
        self,
        branch_id: str,
        keys: _BranchKeys,
        fn: Callable[[BranchState], R],
        create: Callable[[], BranchState],
        waiting: _Waiting,
    ) -> R:
        loop = asyncio.get_running_loop()
        # Recently contended: queue for the lease at once instead of racing first (a lost
        # race on a big branch costs a whole decode).
        lease = _Lease(wanted=self._contended_until.get(branch_id, 0.0) > loop.time())
        reconnected = False
        for _attempt in range(MAX_ATTEMPTS):
            if lease.wanted and lease.token is None:
                waiting.for_turn = True
                await self._acquire_lease(keys.lease, lease)
                waiting.for_turn = False
            try:
                result = await self._attempt(branch_id, keys, fn, create, lease)
            except _LeaseHeld:
                self.lease_waits += 1
                lease.wanted = True  # another process is writing: queue for the lease
                self._contended_until[branch_id] = loop.time() + CONTENDED_S
                continue
            except WatchError:
                self.conflicts += 1
                self._contended_until[branch_id] = loop.time() + CONTENDED_S
                # Holding the lease, a conflict means it expired (this process stalled):
                # take it again. Without it, stop racing and take it.
                lease.wanted = True
                lease.token = None
                continue
            except RedisConnectionError:
                # Failed before EXEC was sent (after, it is _CommitUnknown): nothing was
                # written, so one more try on a fresh connection is safe.
                if reconnected:
                    raise
                reconnected = True
                continue
            except (RedisError, _CommitUnknown, asyncio.CancelledError):
                raise  # Redis is failing: the lease expires by itself
            except BaseException:
                if lease.token is not None:
                    await self._release_lease(keys.lease, lease)  # fn refused the event
                raise
            if lease.token is not None:
                await self._release_lease(keys.lease, lease)  # nothing was written
            return result
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
            await self._redis.eval(_RELEASE_LUA, 1, lease_key, token or b"")

    async def _attempt(
        self,
        branch_id: str,
        keys: _BranchKeys,
        fn: Callable[[BranchState], R],
        create: Callable[[], BranchState],
        lease: _Lease,
    ) -> R:
        pipe: Pipeline = self._redis.pipeline(transaction=True)
        # Whether the connection is in a known state; if not (an error or a cancellation in
        # the middle of a command) it is dropped instead of being sent UNWATCH, which on a
        # stalled server would wait another socket_timeout.
        clean = False
        # Whoever runs a transaction owns the cached object: a concurrent reader in this
        # process never sees a state that is being changed and may not be committed.
        cached = self._cache.pop(branch_id, None)
        try:
            # Watching the lease too: a process that takes it invalidates every optimistic
            # attempt in flight, so the holder's own attempt is not raced.
            await pipe.watch(keys.state, keys.lease)
            holder, rev = map(_bytes, await pipe.eval(_PEEK_LUA, 2, keys.state, keys.lease))
            if holder is not None and holder != lease.token:
                clean = True
                raise _LeaseHeld()
            state: BranchState
            raw: bytes | None
            created = False
            routes_before: dict[str, bytes] | None = None
            if cached is not None and rev is not None and cached.rev == rev:
                state, raw, routes_before = cached.state, cached.raw, cached.routes
            else:
                rev, raw = map(_bytes, await pipe.hmget(keys.state, ["rev", "json"]))
                if raw is None:
                    try:
                        state = create()
                    except BaseException:
                        clean = True
                        raise
                    created = True
                else:
                    state = decode_state(raw)
            if routes_before is None:
                routes_before = session_routes(state)
            try:
                result = fn(state)
            except BaseException:
                clean = True
                raise
            new_raw = encode_state(state)
            if new_raw == raw and not result.audit and not result.visits:
                # Nothing to write: a read, serialised with the writes by the WATCH above.
                clean = True  # reset() below sends the UNWATCH
                if rev is not None:
                    self._cache[branch_id] = _Cached(rev, new_raw, state, routes_before)
                return result
            token = os.urandom(8).hex().encode()
            pipe.multi()  # type: ignore[no-untyped-call]
            pipe.hset(keys.state, mapping={"json": new_raw, "rev": token})
            routes_after = session_routes(state)
            routes_key = self._routes_key(branch_id)
            changed: dict[Any, Any] = {
                k: v for k, v in routes_after.items() if routes_before.get(k) != v
            }
            if created:
                pipe.delete(routes_key)  # a rebuilt branch has no sessions
            if changed:
                pipe.hset(routes_key, mapping=changed)
            gone = [k for k in routes_before if k not in routes_after]
            if gone:
                pipe.hdel(routes_key, *gone)
            audit_key = self._audit_key(branch_id)
            for entry in result.audit:
                pipe.xadd(
                    audit_key, {"e": _entry_json(entry)},
                    maxlen=AUDIT_LIMIT, approximate=True,
                )
            visits_key = self._visits_key(branch_id)
            for visit in result.visits:
                pipe.xadd(
                    visits_key, {"v": _entry_json(visit)},
                    maxlen=VISIT_LIMIT, approximate=True,
                )
            if lease.token is not None:
                # Released with the commit; the WATCH makes it a compare-and-delete (if the
                # lease expired or changed hands, the whole EXEC fails).
                pipe.delete(keys.lease)
            try:
                await pipe.execute()
            except WatchError:
                clean = True
                raise
            except RedisError as exc:
                # The EXEC may have reached Redis and only its reply been lost: never retried,
                # or the change could be applied twice.
                raise _CommitUnknown() from exc
            clean = True
            lease.token = None
            self._cache[branch_id] = _Cached(token, new_raw, state, routes_after)
            if created:
                # Committed already: a failure here must not make the caller run it again.
                with contextlib.suppress(RedisError):
                    await self._redis.sadd(self._branches_key, branch_id)
            return result
        finally:
            if not clean:
                if pipe.connection is not None:
                    await pipe.connection.disconnect(nowait=True)
                pipe.watching = False
            await pipe.reset()  # type: ignore[no-untyped-call]

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
            if _bytes(current) == cached.rev:
                return cached.state
        rev, raw = map(_bytes, await self._run(
            f"snapshot of branch {branch_id!r}", lambda: self._redis.hmget(key, ["rev", "json"])
        ))
        if raw is None:
            template = self._templates.get(branch_id)
            if template is None:
                raise KeyError(f"unknown branch {branch_id!r}")
            return copy.deepcopy(template)
        state = decode_state(raw)
        if rev is not None:
            # Checked against the stored rev before every use, so a stale entry only costs
            # a decode.
            self._cache[branch_id] = _Cached(rev, raw, state)
        return state

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
