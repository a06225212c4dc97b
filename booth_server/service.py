"""The booth service: one place where events meet the store, the dispatcher and the clock.

Transports call `apply(branch_id, event)`; the service runs the sans-IO dispatcher inside a
store transaction, hands the outbound messages to the delivery callback (Socket.IO), feeds the
metrics and wakes the timer loop. The timer loop is the only clock: it sends `Tick` to a branch
when its earliest deadline (offer expiry, grace period) has come.

Every transaction returns the branch's next deadline with its result, so the timer knows this
process's deadlines without reading any state. Deadlines another process set (several servers
on one Redis) are picked up by reading every branch once per `tick_interval_s`; the process that
set a deadline fires it on time, the others within that interval if it died. The same read tells
the on-change listeners about changes other processes made.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

from booth_server.config import AppConfig
from booth_server.core import events as ev
from booth_server.core.dispatcher import Dispatcher, Outbound, Policy, Result
from booth_server.core.model import BranchState, new_branch
from booth_server.errors import ApiError, ErrorCode
from booth_server.metrics import Metrics
from booth_server.store.base import SessionRoute, Store, StoreBusy, StoreUnavailable

log = logging.getLogger("lapak.service")

Deliver = Callable[[list[Outbound]], Awaitable[None]]
Clock = Callable[[], float]

RETRY_TICK_S = 0.5


def branch_templates(cfg: AppConfig) -> list[BranchState]:
    templates = []
    for branch in cfg.branches:
        templates.append(
            new_branch(
                branch.id,
                branch.name,
                [(b.id, b.label) for b in cfg.booths_of(branch.id)],
                [(u.id, u.name, u.capacity, u.auto_accept) for u in cfg.officers_of(branch.id)],
            )
        )
    return templates


class BoothService:
    def __init__(
        self,
        cfg: AppConfig,
        store: Store,
        metrics: Metrics,
        *,
        clock: Clock = time.time,
        tick_interval_s: float = 1.0,
        run_timers: bool = True,
    ) -> None:
        self.cfg = cfg
        self.store = store
        self.metrics = metrics
        self.clock = clock
        self.dispatcher = Dispatcher(
            Policy(
                offer_timeout_s=cfg.dispatch.offer_timeout_s,
                officer_grace_s=cfg.dispatch.officer_grace_s,
                booth_grace_s=cfg.dispatch.booth_grace_s,
            )
        )
        self.branch_ids = [b.id for b in cfg.branches]
        self._deliver: Deliver | None = None
        self._on_change: list[Callable[[str], None]] = []
        self._wake = asyncio.Event()
        self._deadlines: dict[str, float | None] = {}
        # Bumped whenever a transaction reports a branch's deadline, so a poll that read the
        # branch before that does not overwrite the newer figure with its older one.
        self._deadline_seq: dict[str, int] = {}
        # The last version of each branch this process made or saw, so the poll can tell the
        # on-change listeners (ops occupancy, alerts) about other processes' changes.
        self._versions: dict[str, int] = {}
        self._tick_interval_s = tick_interval_s
        # Off only where the caller drives time itself (a replay sends its own Ticks).
        self._run_timers = run_timers
        self._timer_task: asyncio.Task[None] | None = None
        # When each queued session was readied, for the ready → offer latency histogram.
        self._ready_at: dict[str, float] = {}

    # ------------------------------------------------------------------ lifecycle

    def set_delivery(self, deliver: Deliver) -> None:
        self._deliver = deliver

    def on_change(self, callback: Callable[[str], None]) -> None:
        self._on_change.append(callback)

    async def start(self) -> None:
        await self.store.start()
        for template in branch_templates(self.cfg):
            await self.store.init_branch(template)
        if self._run_timers:
            self._timer_task = asyncio.create_task(self._timer_loop(), name="lapak-timers")

    async def stop(self) -> None:
        if self._timer_task is not None:
            self._timer_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._timer_task
        await self.store.close()

    # ------------------------------------------------------------------ events

    def branch_of_booth(self, booth_id: str) -> str:
        booth = self.cfg.booth(booth_id)
        if booth is None:
            raise ApiError(ErrorCode.NOT_FOUND, f"booth_id: unknown booth {booth_id!r}")
        return booth.branch

    def branch_of_officer(self, officer_id: str) -> str:
        user = self.cfg.user(officer_id)
        if user is None or user.branch is None:
            raise ApiError(ErrorCode.NOT_FOUND, f"officer_id: unknown officer {officer_id!r}")
        return user.branch

    async def apply(self, branch_id: str, event: ev.Event) -> Result:
        now = self.clock()
        version = 0

        def run(state: BranchState) -> Result:
            nonlocal version
            result = self.dispatcher.handle(state, event, now)
            version = state.version
            return result

        try:
            result = await self.store.transact(branch_id, run)
        except StoreBusy:
            # Overload, not an outage: the store is up, this change waited too long its turn.
            raise ApiError(
                ErrorCode.UNAVAILABLE, "server busy: too many changes queued for this branch; "
                "try again in a moment"
            ) from None
        except StoreUnavailable:
            self.metrics.store_up.set(0)
            raise ApiError(
                ErrorCode.UNAVAILABLE, "store unavailable: the server cannot take new work now"
            ) from None
        self.metrics.store_up.set(1)
        self._note_deadline(branch_id, result.deadline)
        self._observe(result, now)
        if self._deliver is not None and result.outbound:
            await self._deliver(result.outbound)
        if result.changed:
            self._versions[branch_id] = version
            self._changed(branch_id)
        return result

    def _changed(self, branch_id: str) -> None:
        for callback in self._on_change:
            callback(branch_id)

    def _note_deadline(self, branch_id: str, deadline: float | None) -> None:
        earlier = deadline is not None and (
            (current := self._deadlines.get(branch_id)) is None or deadline < current
        )
        self._deadlines[branch_id] = deadline
        self._deadline_seq[branch_id] = self._deadline_seq.get(branch_id, 0) + 1
        if earlier:
            self._wake.set()  # the timer sleeps until the earliest deadline it knows

    def _observe(self, result: Result, now: float) -> None:
        for entry in result.audit:
            if entry.event == "ready" and entry.session_id:
                self._ready_at[entry.session_id] = now
            elif entry.event in ("offered", "session_started") and entry.session_id:
                started = self._ready_at.pop(entry.session_id, None)
                if started is not None:
                    self.metrics.dispatch_latency.observe(max(0.0, now - started))
            elif entry.event == "session_ended" and entry.session_id:
                self._ready_at.pop(entry.session_id, None)
        for visit in result.visits:
            self.metrics.observe_visit(visit)

    async def touch_presence(self, role: str, party_id: str, ttl_s: float = 7.0) -> None:
        try:
            await self.store.touch_presence(role, [party_id], ttl_s)
        except StoreUnavailable:
            self.metrics.store_up.set(0)
            raise ApiError(ErrorCode.UNAVAILABLE, "store unavailable") from None

    async def session_route(self, branch_id: str, session_id: str) -> SessionRoute | None:
        try:
            return await self.store.session_route(branch_id, session_id)
        except StoreUnavailable:
            self.metrics.store_up.set(0)
            raise ApiError(ErrorCode.UNAVAILABLE, "store unavailable") from None

    async def snapshot(self, branch_id: str) -> BranchState:
        try:
            return await self.store.snapshot(branch_id)
        except StoreUnavailable:
            self.metrics.store_up.set(0)
            raise ApiError(ErrorCode.UNAVAILABLE, "store unavailable") from None

    # ------------------------------------------------------------------ timers

    async def _timer_loop(self) -> None:
        next_poll = self.clock()
        while True:
            try:
                if self.clock() >= next_poll:
                    await self._poll_branches()
                    next_poll = self.clock() + self._tick_interval_s
                await self._fire_due()
            except asyncio.CancelledError:
                raise
            except Exception:  # the timer must outlive any one bad tick
                log.exception("timer tick failed")
            now = self.clock()
            timeout = max(0.0, next_poll - now)
            due = [d for d in self._deadlines.values() if d is not None]
            if due:
                timeout = min(timeout, min(due) - now + 0.005)
            self._wake.clear()
            # asyncio.timeout, not wait_for: on 3.11 wait_for can swallow a cancellation that
            # races a wake-up, and the server's shutdown would wait for ever.
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(max(0.01, timeout)):
                    await self._wake.wait()

    async def _poll_branches(self) -> None:
        """Read every branch from the store: the next deadlines, and changes other processes
        made since the last look."""
        for branch_id in self.branch_ids:
            seq = self._deadline_seq.get(branch_id, 0)
            try:
                state = await self.store.snapshot(branch_id)
            except StoreUnavailable:
                self.metrics.store_up.set(0)
                continue
            if self._deadline_seq.get(branch_id, 0) == seq:  # no transaction reported since
                self._deadlines[branch_id] = self.dispatcher.next_deadline(state)
            seen = self._versions.get(branch_id)
            if seen != state.version:
                self._versions[branch_id] = state.version
                if seen is not None:
                    self._changed(branch_id)

    async def _fire_due(self) -> None:
        now = self.clock()
        for branch_id, deadline in list(self._deadlines.items()):
            if deadline is None or deadline > now:
                continue
            try:
                await self.apply(branch_id, ev.Tick())  # reports the branch's next deadline
            except ApiError:
                # The store is down: try again shortly instead of spinning on it.
                self._deadlines[branch_id] = now + RETRY_TICK_S

    def wake(self) -> None:
        self._wake.set()


def ack(result: Result, **extra: Any) -> dict[str, Any]:
    return {"ok": True, **result.reply, **extra}
