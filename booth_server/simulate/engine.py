"""The discrete-event loop: a simulated branch day driving the real dispatcher core.

Everything that happens in the branch is a timed callback on one heap, ordered by time and
then by the order it was scheduled (so equal times are deterministic). The dispatcher is
`booth_server.core.dispatcher.Dispatcher`, the one the server runs; the engine only feeds it
events with the simulated `now` and reacts to what it sends back:

- booths: a participant arriving waits in the lobby for a free booth, sits, and after the
  kiosk's setup time sends `BoothReady`; when the core says `session_ended` they leave and
  the booth is free again after a turnover time;
- officers: an `offer` is accepted after a reaction time (`Accept`); `session_started` starts
  the visit's plan; every step that needs the officer's attention joins that officer's
  attention queue, and the officer serves it with ONE attention: switching to another booth
  sends `Focus` and costs a switch overhead, and a booth that needs the officer while they are
  with another one waits (its idle time inside the visit);
- documents: `RequestDocument`, then the kiosk's capture (no attention) and `DocumentUploaded`,
  then the officer's review (attention) and `ReviewDocument`; the visit moves on only when the
  core's answer (`document_requested`, `document_ready`, `document_reviewed`) arrives;
- timers: after every event the engine asks the core for `next_deadline` and feeds a `Tick`
  when it is due, as the server's scheduler does.
"""

from __future__ import annotations

import bisect
import heapq
import itertools
import math
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from booth_server.core import events as ev
from booth_server.core.dispatcher import Outbound, Policy, Result
from booth_server.core.model import AuditEntry, Visit
from booth_server.errors import ApiError
from booth_server.simulate.metrics import Integral, RunStats, VisitRecord, run_stats
from booth_server.simulate.params import Scenario
from booth_server.simulate.phases import AWAITED, VisitPlan, plan_visit
from booth_server.simulate.trace import BranchSpec, Trace

# A simulated day that has not drained this long after closing is a configuration that
# cannot keep up (or a bug): stop rather than loop for ever.
MAX_OVERRUN_S = 14 * 24 * 3600.0


class SimulationError(RuntimeError):
    """The core answered differently from what the simulated booths and officers expect."""


@dataclass
class Participant:
    number: int
    session_id: str
    arrived_at: float
    plan: VisitPlan
    ticket: str | None = None
    priority: int = 0
    kind: str = "individual"
    booth_id: str | None = None
    seated_at: float = math.nan
    ready_at: float = math.nan
    started_at: float = math.nan
    ended_at: float = math.nan
    officer_id: str | None = None
    step: int = -1
    awaiting: tuple[str, str] | None = None
    asked_at: float = math.nan
    after_attention: bool = False
    attention_s: float = 0.0
    attention_wait_s: float = 0.0
    switches: int = 0
    documents: int = 0


@dataclass
class OfficerAgent:
    id: str
    busy: Integral
    live: Integral
    waiting: deque[Participant] = field(default_factory=deque)
    serving: Participant | None = None
    offers: set[str] = field(default_factory=set)


@dataclass
class RunResult:
    scenario: Scenario
    seed: int
    stats: RunStats
    records: list[VisitRecord]
    core_visits: list[Visit]
    audit: list[AuditEntry]
    trace: Trace | None
    branch: BranchSpec
    events: int
    end_s: float


def seed_streams(seed: int, replication: int = 0) -> list[np.random.Generator]:
    """Independent random streams (arrivals, visits, officers, booths) for one run."""
    seq = np.random.SeedSequence(entropy=seed, spawn_key=(replication,))
    return [np.random.default_rng(s) for s in seq.spawn(4)]


class Engine:
    def __init__(
        self,
        scenario: Scenario,
        seed: int = 0,
        *,
        replication: int = 0,
        record_trace: bool = False,
        keep_audit: bool = False,
    ) -> None:
        self.scenario = scenario
        self.seed = seed
        self.rng_arrivals, self.rng_visits, self.rng_officers, self.rng_booths = seed_streams(
            seed, replication
        )
        n_booths = scenario.booth_count()
        width = max(2, len(str(n_booths)))
        booths = tuple(
            (f"B{i:0{width}d}", f"Booth {i}") for i in range(1, n_booths + 1)
        )
        officers = tuple(
            (f"O{i}", f"Officer {i}", scenario.capacity, scenario.officer.auto_accept)
            for i in range(1, scenario.officers + 1)
        )
        self.branch = BranchSpec(
            "SIM", "Simulated branch", booths, officers,
            Policy(offer_timeout_s=scenario.policy.offer_timeout_s),
        )
        self.dispatcher = self.branch.dispatcher()
        self.state = self.branch.build()
        self.trace = Trace(self.branch) if record_trace else None
        self.keep_audit = keep_audit
        self.audit: list[AuditEntry] = []
        self.core_visits: list[Visit] = []
        self.events = 0

        self.saturated = scenario.arrivals.mode == "saturated"
        self.close_s = scenario.hours * 3600.0
        start = scenario.warmup_h * 3600.0 if self.saturated else 0.0
        end = self.close_s if self.saturated else math.inf
        self.window = (start, end)
        self.agents = {
            o[0]: OfficerAgent(o[0], Integral(start, end), Integral(start, end)) for o in officers
        }
        self.free_booths: list[str] = sorted(b[0] for b in booths)
        self.lobby: deque[Participant] = deque()
        self.by_session: dict[str, Participant] = {}
        self.records: list[VisitRecord] = []
        self.last_end = 0.0

        self.now = 0.0
        self._heap: list[tuple[float, int, Callable[[], None]]] = []
        self._seq = itertools.count()
        self._ticks: set[float] = set()
        self._numbers = itertools.count(1)

    # ------------------------------------------------------------------ the loop

    def at(self, when: float, action: Callable[[], None]) -> None:
        heapq.heappush(self._heap, (when, next(self._seq), action))

    def run(self) -> RunResult:
        self._open()
        limit = self.close_s + MAX_OVERRUN_S
        while self._heap:
            when, _, action = heapq.heappop(self._heap)
            if self.saturated and when > self.close_s:
                break
            if when > limit:
                raise SimulationError(
                    f"the branch had not cleared its queue {MAX_OVERRUN_S / 86400:.0f} days "
                    "after closing: too few officers or booths for these arrivals"
                )
            self.now = when
            action()
        return self._result()

    def _open(self) -> None:
        for booth_id in self.free_booths:
            self.feed(ev.BoothConnected(booth_id))
        for officer_id in self.agents:
            self.feed(ev.OfficerConnected(officer_id))
        if self.saturated:
            self._seat()
            return
        for when, ticket, priority, kind in self._arrival_times():
            self.at(when, self._arrival(ticket, priority, kind))

    def _arrival_times(self) -> list[tuple[float, str | None, int, str]]:
        arrivals = self.scenario.arrivals
        rng = self.rng_arrivals
        out: list[tuple[float, str | None, int, str]] = []
        if arrivals.mode == "poisson":
            for hour in range(math.ceil(self.scenario.hours)):
                rate = arrivals.rate(hour)
                end = min((hour + 1) * 3600.0, self.close_s)
                if rate <= 0:
                    continue
                t = hour * 3600.0
                while True:
                    t += float(rng.exponential(3600.0 / rate))
                    if t >= end:
                        break
                    out.append((t, None, 0, "individual"))
        else:
            for booking in arrivals.bookings:
                if arrivals.no_show_probability and rng.random() < arrivals.no_show_probability:
                    continue
                t = booking.at
                if arrivals.punctuality_sd_s:
                    t = max(0.0, t + float(rng.normal(0.0, arrivals.punctuality_sd_s)))
                out.append((t, booking.ticket, booking.priority, booking.kind))
        out.sort(key=lambda a: a[0])
        return out

    # ------------------------------------------------------------------ the core

    def feed(self, event: ev.Event) -> Result | None:
        """Hand one event to the dispatcher at the simulated now; None if it was refused."""
        self.events += 1
        try:
            result = self.dispatcher.handle(self.state, event, self.now)
        except ApiError as exc:
            if self.trace is not None:
                self.trace.record(self.now, event, None, str(exc.code))
            return None
        if self.trace is not None:
            self.trace.record(self.now, event, result)
        if self.keep_audit:
            self.audit.extend(result.audit)
        self.core_visits.extend(result.visits)
        self._schedule_deadline()
        for message in result.outbound:
            self._on_message(message)
        return result

    def _must(self, event: ev.Event) -> Result:
        result = self.feed(event)
        if result is None:
            raise SimulationError(f"the core refused {event!r} at t={self.now:.1f}")
        return result

    def _schedule_deadline(self) -> None:
        due = self.dispatcher.next_deadline(self.state)
        if due is not None and due not in self._ticks:
            self._ticks.add(due)
            self.at(max(due, self.now), lambda: self._tick(due))

    def _tick(self, due: float) -> None:
        self._ticks.discard(due)
        current = self.dispatcher.next_deadline(self.state)
        # Feed a Tick only when something is due, as the server's scheduler does.
        if current is not None and current <= self.now:
            self.feed(ev.Tick())

    def _on_message(self, message: Outbound) -> None:
        data: dict[str, Any] = message.data
        session_id = data.get("session_id")
        participant = self.by_session.get(session_id) if session_id else None
        if message.role == "officer":
            agent = self.agents[message.to]
            if message.event == "offer" and session_id:
                agent.offers.add(session_id)
                delay = self.scenario.officer.reaction.sample(self.rng_officers)
                self.at(self.now + delay, lambda: self._accept(agent, session_id))
            elif message.event == "offer_withdrawn" and session_id:
                agent.offers.discard(session_id)
                if data.get("reason") == "offer_expired":
                    delay = self.scenario.officer.reaction.sample(self.rng_officers)
                    self.at(self.now + delay, lambda: self._back_available(agent))
            elif message.event == "session_started" and participant is not None:
                agent.offers.discard(participant.session_id)
                self._start_visit(agent, participant)
            elif message.event == "session_ended" and participant is not None:
                agent.live.change(self.now, -1)
            elif message.event == "document_ready" and participant is not None:
                self._answered(participant, ("officer", "document_ready"))
        elif (
            message.role == "booth"
            and participant is not None
            and message.event in ("document_requested", "document_reviewed", "session_ended")
        ):
            self._answered(participant, ("booth", message.event))

    # ------------------------------------------------------------------ participants, booths

    def _new_participant(self, ticket: str | None, priority: int, kind: str) -> Participant:
        number = next(self._numbers)
        session_id = f"S{number:05d}"
        plan = plan_visit(self.scenario.visit, session_id, self.rng_visits)
        return Participant(number, session_id, self.now, plan, ticket, priority, kind)

    def _arrival(self, ticket: str | None, priority: int, kind: str) -> Callable[[], None]:
        def arrive() -> None:
            self.lobby.append(self._new_participant(ticket, priority, kind))
            self._seat()

        return arrive

    def _seat(self) -> None:
        while self.free_booths:
            if self.lobby:
                participant = self.lobby.popleft()
            elif self.saturated and self.now < self.close_s:
                participant = self._new_participant(None, 0, "individual")
            else:
                return
            participant.booth_id = self.free_booths.pop(0)
            participant.seated_at = self.now
            self.by_session[participant.session_id] = participant
            setup = self.scenario.booth.setup.sample(self.rng_booths)
            self.at(self.now + setup, self._ready_action(participant))

    def _ready_action(self, participant: Participant) -> Callable[[], None]:
        def ready() -> None:
            participant.ready_at = self.now
            assert participant.booth_id is not None
            self._must(
                ev.BoothReady(
                    participant.booth_id,
                    participant.session_id,
                    ticket=participant.ticket,
                    kind="collective" if participant.kind == "collective" else "individual",
                    priority=participant.priority,
                )
            )

        return ready

    def _finish(self, participant: Participant) -> None:
        participant.ended_at = self.now
        self.last_end = max(self.last_end, self.now)
        del self.by_session[participant.session_id]
        start, end = self.window
        if start <= self.now <= end:
            self.records.append(
                VisitRecord(
                    session_id=participant.session_id,
                    arrived_at=participant.arrived_at,
                    seated_at=participant.seated_at,
                    ready_at=participant.ready_at,
                    started_at=participant.started_at,
                    ended_at=participant.ended_at,
                    officer_id=participant.officer_id or "",
                    attention_s=participant.attention_s,
                    attention_wait_s=participant.attention_wait_s,
                    switches=participant.switches,
                    documents=participant.documents,
                )
            )
        booth_id = participant.booth_id
        assert booth_id is not None
        turnover = self.scenario.booth.turnover.sample(self.rng_booths)

        def free() -> None:
            bisect.insort(self.free_booths, booth_id)
            self._seat()

        self.at(self.now + turnover, free)

    # ------------------------------------------------------------------ officers

    def _accept(self, agent: OfficerAgent, session_id: str) -> None:
        if session_id not in agent.offers:
            return  # withdrawn meanwhile (expired)
        if self.feed(ev.Accept(agent.id, session_id)) is None:
            agent.offers.discard(session_id)
            self._back_available(agent)

    def _back_available(self, agent: OfficerAgent) -> None:
        if self.state.officers[agent.id].mode == "not_responding":
            self._must(ev.SetStatus(agent.id, "available"))

    def _start_visit(self, agent: OfficerAgent, participant: Participant) -> None:
        if participant.officer_id is not None:
            raise SimulationError(f"{participant.session_id} started twice (transfers are "
                                  "not simulated)")
        participant.officer_id = agent.id
        participant.started_at = self.now
        agent.live.change(self.now, +1)
        self._advance(participant)

    def _advance(self, participant: Participant) -> None:
        participant.step += 1
        steps = participant.plan.steps
        if participant.step >= len(steps):
            raise SimulationError(f"{participant.session_id} ran out of steps")
        step = steps[participant.step]
        if not step.attention:
            participant.after_attention = False
            self.at(self.now + step.duration_s, lambda: self._end_step(participant))
            return
        agent = self.agents[participant.officer_id or ""]
        participant.asked_at = self.now
        if participant.after_attention and self.scenario.officer.attention_policy == "sticky":
            agent.waiting.appendleft(participant)
        else:
            agent.waiting.append(participant)
        participant.after_attention = False
        self._serve(agent)

    def _serve(self, agent: OfficerAgent) -> None:
        """The officer's one attention goes to the booth that asked first."""
        if agent.serving is not None or not agent.waiting:
            return
        participant = agent.waiting.popleft()
        step = participant.plan.steps[participant.step]
        overhead = 0.0
        focus = self.state.officers[agent.id].focus
        if focus != participant.session_id:
            if focus is not None:
                # Leaving a live booth for another one: re-reading the tile, the documents
                # and where that conversation stood.
                overhead = self.scenario.officer.switch_overhead.sample(self.rng_officers)
                participant.switches += 1
            self._must(ev.Focus(agent.id, participant.session_id))
        agent.serving = participant
        agent.busy.change(self.now, +1)
        participant.attention_wait_s += self.now + overhead - participant.asked_at
        participant.attention_s += step.duration_s
        self.at(self.now + overhead + step.duration_s, lambda: self._end_step(participant))

    def _end_step(self, participant: Participant) -> None:
        step = participant.plan.steps[participant.step]
        agent = self.agents[participant.officer_id or ""]
        if step.attention:
            agent.serving = None
            agent.busy.change(self.now, -1)
            participant.after_attention = True
        awaited = AWAITED[step.action]
        if awaited is None:
            self._advance(participant)
        else:
            participant.awaiting = awaited
            session_id = participant.session_id
            booth_id = participant.booth_id or ""
            if step.action == "request":
                self._must(ev.RequestDocument(agent.id, session_id, step.document_kind or ""))
            elif step.action == "upload":
                participant.documents += 1
                self._must(
                    ev.DocumentUploaded(
                        booth_id, session_id, step.document_id or "", step.document_kind or "",
                        {"sharpness": 1.0, "simulated": True},
                    )
                )
            elif step.action == "review":
                self._must(
                    ev.ReviewDocument(
                        agent.id, step.document_id or "",
                        "approved" if step.approved else "rejected",
                        None if step.approved else "unreadable",
                    )
                )
            else:
                self._must(ev.Complete(agent.id, session_id, participant.plan.outcome))
            if participant.awaiting is not None:
                raise SimulationError(
                    f"{session_id}: the core did not answer {step.action!r} with "
                    f"{awaited[1]!r} to the {awaited[0]}"
                )
        self._serve(agent)

    def _answered(self, participant: Participant, message: tuple[str, str]) -> None:
        if participant.awaiting != message:
            raise SimulationError(
                f"{participant.session_id}: unexpected {message[1]!r} to the {message[0]} "
                f"at t={self.now:.1f}"
            )
        participant.awaiting = None
        if message == ("booth", "session_ended"):
            self._finish(participant)
        else:
            self._advance(participant)

    # ------------------------------------------------------------------ figures

    def _result(self) -> RunResult:
        if self.saturated:
            start, end = self.window
        else:
            if self.by_session or self.lobby:
                raise SimulationError("the day ended with participants still in the branch")
            start, end = 0.0, max(self.close_s, self.last_end)
        busy = sum(a.busy.close(end) for a in self.agents.values())
        live = sum(a.live.close(end) for a in self.agents.values())
        stats = run_stats(
            self.records,
            officers=self.scenario.officers,
            booths=self.scenario.booth_count(),
            capacity=self.scenario.capacity,
            window_h=(end - start) / 3600.0,
            busy_s=busy,
            live_s=live,
            overrun_h=0.0 if self.saturated else max(0.0, self.last_end - self.close_s) / 3600,
        )
        return RunResult(
            scenario=self.scenario,
            seed=self.seed,
            stats=stats,
            records=self.records,
            core_visits=self.core_visits,
            audit=self.audit,
            trace=self.trace,
            branch=self.branch,
            events=self.events,
            end_s=end,
        )


def simulate(
    scenario: Scenario,
    seed: int = 0,
    *,
    replication: int = 0,
    record_trace: bool = False,
    keep_audit: bool = False,
) -> RunResult:
    """One simulated day."""
    return Engine(
        scenario, seed, replication=replication, record_trace=record_trace,
        keep_audit=keep_audit,
    ).run()
