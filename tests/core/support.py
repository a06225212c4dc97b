"""A branch driven in memory with an explicit clock, for the tests of the core.

`Branch` wraps one `BranchState` and one `Dispatcher`: every event goes through `do` (which
keeps the messages, audit entries and visits it produced) or `refuse` (which expects an
`ApiError` and checks the state was left exactly as it was).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

import pytest

from booth_server.core import events as ev
from booth_server.core.dispatcher import Dispatcher, Outbound, Policy, Result
from booth_server.core.model import AuditEntry, BranchState, Visit, new_branch
from booth_server.errors import ApiError

T0 = 1000.0


def snapshot(state: BranchState) -> str:
    """The state as the Redis store would hold it: canonical JSON."""
    return json.dumps(state.to_dict(), sort_keys=True)


class Branch:
    def __init__(
        self,
        booths: int = 6,
        officers: Iterable[tuple[str, int, bool]] = (("o1", 5, False),),
        policy: Policy | None = None,
    ) -> None:
        self.state = new_branch(
            "langsa",
            "Langsa",
            [(f"b{i}", f"Booth {i}") for i in range(1, booths + 1)],
            [(o_id, o_id.upper(), cap, auto) for o_id, cap, auto in officers],
        )
        self.dispatcher = Dispatcher(policy or Policy())
        self.now = T0
        self.sent: list[Outbound] = []
        self.audit: list[AuditEntry] = []
        self.visits: list[Visit] = []
        self.last: Result = Result()

    # ------------------------------------------------------------------ driving

    def do(self, event: ev.Event) -> Result:
        result = self.dispatcher.handle(self.state, event, self.now)
        self.sent.extend(result.outbound)
        self.audit.extend(result.audit)
        self.visits.extend(result.visits)
        self.last = result
        return result

    def refuse(self, event: ev.Event, code: str) -> ApiError:
        before = snapshot(self.state)
        with pytest.raises(ApiError) as caught:
            self.dispatcher.handle(self.state, event, self.now)
        assert str(caught.value.code) == code, caught.value.message
        assert snapshot(self.state) == before, "a refused event changed the state"
        return caught.value

    def advance(self, seconds: float) -> Result:
        self.now += seconds
        return self.do(ev.Tick())

    def at(self, when: float) -> Result:
        """Jump to T0 + when and tick."""
        assert T0 + when >= self.now
        self.now = T0 + when
        return self.do(ev.Tick())

    # ------------------------------------------------------------------ shorthands

    def connect_booths(self, *booth_ids: str) -> None:
        for booth_id in booth_ids:
            self.do(ev.BoothConnected(booth_id))

    def connect_officers(self, *officer_ids: str) -> None:
        for officer_id in officer_ids:
            self.do(ev.OfficerConnected(officer_id))

    def ready(self, booth_id: str, priority: int = 0, session_id: str | None = None) -> str:
        """Connect the booth if needed and queue a participant; returns the session id."""
        if not self.state.booths[booth_id].connected:
            self.do(ev.BoothConnected(booth_id))
        sid = session_id or f"s-{booth_id}-{self.state.next_seq}"
        result = self.do(ev.BoothReady(booth_id, sid, priority=priority))
        assert result.reply["session_id"] == sid
        return sid

    def serve(self, officer_id: str, booth_id: str) -> str:
        """A booth's session offered to and accepted by this officer (who must get it)."""
        sid = self.ready(booth_id)
        session = self.state.sessions[sid]
        assert session.officer_id == officer_id, (session.state, session.officer_id)
        if session.state == "offered":
            self.do(ev.Accept(officer_id, sid))
        assert self.state.sessions[sid].state == "active"
        return sid

    # ------------------------------------------------------------------ looking

    def messages(
        self, role: str | None = None, to: str | None = None, event: str | None = None,
        *, last: bool = False,
    ) -> list[dict[str, Any]]:
        source = self.last.outbound if last else self.sent
        return [
            m.data
            for m in source
            if (role is None or m.role == role)
            and (to is None or m.to == to)
            and (event is None or m.event == event)
        ]

    def queue_ids(self) -> list[str]:
        return [s.id for s in self.state.queue()]

    def audit_events(self, session_id: str | None = None) -> list[str]:
        return [a.event for a in self.audit if session_id is None or a.session_id == session_id]
