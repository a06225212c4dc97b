"""The store: where branch state, the audit log, visits and document blobs live.

Two implementations behave the same and pass one contract suite: `MemoryStore` (one process,
the embedded default) and `RedisStore` (several processes). Changes go through `transact`,
which loads a branch, runs the sans-IO dispatcher on it and saves the new state together with
its audit entries and finished visits, atomically: no other process can interleave.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Protocol, TypeVar

from booth_server.core.dispatcher import Result
from booth_server.core.model import AuditEntry, BranchState, Visit

R = TypeVar("R", bound=Result)


@dataclass(frozen=True)
class SessionRoute:
    """The parties of a live session: what the signaling relay needs to know."""

    booth_id: str
    officer_id: str | None
    state: str

    def encode(self) -> bytes:
        return f"{self.booth_id}|{self.officer_id or ''}|{self.state}".encode()

    @classmethod
    def decode(cls, raw: bytes) -> SessionRoute:
        booth_id, officer_id, state = raw.decode().split("|")
        return cls(booth_id, officer_id or None, state)


def session_routes(state: BranchState) -> dict[str, bytes]:
    """Every session's route, encoded, keyed by session id."""
    return {
        s.id: SessionRoute(s.booth_id, s.officer_id, s.state).encode()
        for s in state.sessions.values()
    }


class StoreUnavailable(Exception):
    """The store cannot be reached now; the caller refuses new work instead of hanging."""


class StoreBusy(StoreUnavailable):
    """The store answers, but a change did not get its turn on its branch in time (too many
    queued behind one another, in this process or across processes): overload, not an outage."""


class Store(Protocol):
    kind: str

    async def start(self) -> None: ...

    async def close(self) -> None: ...

    async def healthy(self) -> bool: ...

    async def init_branch(self, template: BranchState) -> None:
        """Create the branch from config, or reconcile a stored one with the config
        (new booths and officers added, labels/names/capacity updated, removed ones kept
        until their sessions end)."""

    async def transact(self, branch_id: str, fn: Callable[[BranchState], R]) -> R:
        """Run fn on the branch's current state and persist the result atomically.

        If fn raises, nothing is saved. fn may be called more than once (optimistic retry)."""

    async def session_route(self, branch_id: str, session_id: str) -> SessionRoute | None:
        """The parties of one session, without reading the whole branch."""

    async def snapshot(self, branch_id: str) -> BranchState:
        """The branch's current state, for reading only."""

    async def audit(
        self, branch_id: str | None = None, *, since: float | None = None, limit: int = 1000
    ) -> list[AuditEntry]:
        """Audit entries, oldest first, newest `limit`."""

    async def visits(self, branch_id: str | None = None, *, since: float = 0.0) -> list[Visit]:
        """Finished visits that ended at or after `since`, oldest first."""

    async def put_blob(self, key: str, data: bytes, ttl_s: float) -> None: ...

    async def get_blob(self, key: str) -> bytes | None: ...

    async def delete_blob(self, key: str) -> None: ...

    async def touch_presence(self, role: str, ids: Iterable[str], ttl_s: float) -> None:
        """Heartbeat: these parties are connected to this process."""

    async def present(self, role: str, ids: Iterable[str]) -> set[str]:
        """Which of these parties have a live heartbeat in any process."""
