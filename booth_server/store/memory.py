"""The embedded store: one process, state in memory, document blobs on disk (encrypted by the
caller). An asyncio lock per branch serialises transactions, as WATCH/MULTI does in Redis."""

from __future__ import annotations

import asyncio
import copy
import os
import time
from collections import deque
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TypeVar

from booth_server.core.dispatcher import Result
from booth_server.core.model import AuditEntry, BranchState, Visit
from booth_server.store.base import SessionRoute
from booth_server.store.reconcile import reconcile

R = TypeVar("R", bound=Result)

AUDIT_LIMIT = 200_000
VISIT_LIMIT = 200_000


class MemoryStore:
    kind = "memory"

    def __init__(self, blob_dir: Path | None = None) -> None:
        self._branches: dict[str, BranchState] = {}
        self._locks: dict[str, asyncio.Lock] = {}
        self._audit: deque[AuditEntry] = deque(maxlen=AUDIT_LIMIT)
        self._visits: deque[Visit] = deque(maxlen=VISIT_LIMIT)
        self._blob_dir = blob_dir
        self._blobs: dict[str, tuple[bytes, float]] = {}

    async def start(self) -> None:
        if self._blob_dir is not None:
            self._blob_dir.mkdir(parents=True, exist_ok=True, mode=0o700)

    async def close(self) -> None:
        return None

    async def healthy(self) -> bool:
        return True

    async def init_branch(self, template: BranchState) -> None:
        current = self._branches.get(template.id)
        self._branches[template.id] = (
            copy.deepcopy(template) if current is None else reconcile(current, template)
        )
        self._locks.setdefault(template.id, asyncio.Lock())

    def _branch(self, branch_id: str) -> BranchState:
        try:
            return self._branches[branch_id]
        except KeyError:
            raise KeyError(f"unknown branch {branch_id!r}") from None

    async def transact(self, branch_id: str, fn: Callable[[BranchState], R]) -> R:
        state = self._branch(branch_id)
        async with self._locks[branch_id]:
            # The dispatcher validates before it changes anything, so a refused event leaves
            # the live object as it was and no copy is needed.
            result = fn(state)
            self._audit.extend(result.audit)
            self._visits.extend(result.visits)
            return result

    async def session_route(self, branch_id: str, session_id: str) -> SessionRoute | None:
        session = self._branch(branch_id).sessions.get(session_id)
        if session is None:
            return None
        return SessionRoute(session.booth_id, session.officer_id, session.state)

    async def snapshot(self, branch_id: str) -> BranchState:
        return self._branch(branch_id)

    async def audit(
        self, branch_id: str | None = None, *, since: float | None = None, limit: int = 1000
    ) -> list[AuditEntry]:
        rows = [
            a
            for a in self._audit
            if (branch_id is None or a.branch == branch_id) and (since is None or a.at >= since)
        ]
        return rows[-limit:] if limit else rows

    async def visits(self, branch_id: str | None = None, *, since: float = 0.0) -> list[Visit]:
        return [
            v
            for v in self._visits
            if (branch_id is None or v.branch == branch_id) and v.ended_at >= since
        ]

    def _blob_path(self, key: str) -> Path | None:
        if self._blob_dir is None:
            return None
        return self._blob_dir / key

    async def put_blob(self, key: str, data: bytes, ttl_s: float) -> None:
        expires = time.time() + ttl_s
        path = self._blob_path(key)
        if path is None:
            self._blobs[key] = (data, expires)
            return
        tmp = path.with_suffix(".tmp")
        await asyncio.to_thread(_write_private, tmp, data)
        os.replace(tmp, path)
        os.utime(path, (expires, expires))

    async def get_blob(self, key: str) -> bytes | None:
        path = self._blob_path(key)
        if path is None:
            entry = self._blobs.get(key)
            if entry is None or entry[1] <= time.time():
                self._blobs.pop(key, None)
                return None
            return entry[0]
        try:
            if path.stat().st_mtime <= time.time():
                path.unlink(missing_ok=True)
                return None
            return await asyncio.to_thread(path.read_bytes)
        except FileNotFoundError:
            return None

    async def delete_blob(self, key: str) -> None:
        path = self._blob_path(key)
        if path is None:
            self._blobs.pop(key, None)
        else:
            path.unlink(missing_ok=True)

    async def purge_expired_blobs(self) -> int:
        """Delete blobs past their retention; returns how many."""
        now = time.time()
        removed = 0
        if self._blob_dir is None:
            for key in [k for k, (_, exp) in self._blobs.items() if exp <= now]:
                del self._blobs[key]
                removed += 1
            return removed
        for path in self._blob_dir.iterdir():
            if path.is_file() and path.stat().st_mtime <= now:
                path.unlink(missing_ok=True)
                removed += 1
        return removed

    async def touch_presence(self, role: str, ids: Iterable[str], ttl_s: float) -> None:
        # One process: connect/disconnect events are the presence; nothing to refresh.
        return None

    async def present(self, role: str, ids: Iterable[str]) -> set[str]:
        return set(ids)


def _write_private(path: Path, data: bytes) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
