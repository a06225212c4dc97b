"""The events a simulation fed into the dispatcher core, to export and replay.

A trace is JSON lines: one `branch` header (the branch the run started from and the dispatch
policy), then one line per event in the order the core got it::

    {"type": "event", "now": 812.4, "event": "Accept",
     "fields": {"officer_id": "O1", "session_id": "S00007"},
     "error": null, "assignments": [["S00007", "O1", "started"]], "digest": "…"}

`assignments` lists the offers and session starts the event caused (what a live server must
reproduce); `digest` is a SHA-256 of everything the core produced (outbound messages, audit
entries, visits), so a replay can say exactly which event first differs. `error` is the error
code when the core refused the event (the simulator sometimes races an expired offer, as a
real officer can).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from booth_server.core import events as ev
from booth_server.core.dispatcher import Dispatcher, Policy, Result
from booth_server.core.model import BranchState, new_branch
from booth_server.errors import ApiError

EVENT_TYPES: dict[str, type[Any]] = {
    cls.__name__: cls
    for cls in (
        ev.BoothConnected, ev.BoothDisconnected, ev.BoothReady, ev.BoothCancel, ev.BoothHealth,
        ev.OfficerConnected, ev.OfficerDisconnected, ev.SetStatus, ev.Accept, ev.Decline,
        ev.Focus, ev.RequestDocument, ev.DocumentUploaded, ev.ReviewDocument, ev.Complete,
        ev.Transfer, ev.SetOutOfService, ev.Tick,
    )
}


@dataclass(frozen=True)
class BranchSpec:
    """Enough to rebuild the branch a trace starts from."""

    id: str
    name: str
    booths: tuple[tuple[str, str], ...]
    officers: tuple[tuple[str, str, int, bool], ...]
    policy: Policy = field(default_factory=Policy)

    def build(self) -> BranchState:
        return new_branch(self.id, self.name, list(self.booths), list(self.officers))

    def dispatcher(self) -> Dispatcher:
        return Dispatcher(self.policy)

    def to_dict(self) -> dict[str, Any]:
        return {
            "type": "branch",
            "id": self.id,
            "name": self.name,
            "booths": [list(b) for b in self.booths],
            "officers": [list(o) for o in self.officers],
            "policy": dataclasses.asdict(self.policy),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> BranchSpec:
        return cls(
            id=data["id"],
            name=data["name"],
            booths=tuple((str(b[0]), str(b[1])) for b in data["booths"]),
            officers=tuple(
                (str(o[0]), str(o[1]), int(o[2]), bool(o[3])) for o in data["officers"]
            ),
            policy=Policy(**data.get("policy", {})),
        )


def event_to_dict(event: ev.Event) -> tuple[str, dict[str, Any]]:
    return type(event).__name__, dataclasses.asdict(event)


def event_from_dict(name: str, fields: dict[str, Any]) -> ev.Event:
    cls = EVENT_TYPES.get(name)
    if cls is None:
        raise ValueError(f"unknown event type {name!r}")
    event: ev.Event = cls(**fields)
    return event


def result_payload(result: Result) -> dict[str, Any]:
    return {
        "reply": result.reply,
        "outbound": [dataclasses.asdict(o) for o in result.outbound],
        "audit": [a.to_dict() for a in result.audit],
        "visits": [v.to_dict() for v in result.visits],
    }


def digest(result: Result) -> str:
    blob = json.dumps(result_payload(result), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(blob.encode()).hexdigest()


def assignments(result: Result) -> list[list[str]]:
    out: list[list[str]] = []
    for entry in result.audit:
        if entry.event == "offered" and entry.session_id and entry.officer_id:
            out.append([entry.session_id, entry.officer_id, "offered"])
        elif entry.event == "session_started" and entry.session_id and entry.officer_id:
            out.append([entry.session_id, entry.officer_id, "started"])
    return out


@dataclass
class TraceEntry:
    now: float
    event: ev.Event
    result: Result | None = None
    error: str | None = None

    def to_dict(self) -> dict[str, Any]:
        name, fields = event_to_dict(self.event)
        return {
            "type": "event",
            "now": self.now,
            "event": name,
            "fields": fields,
            "error": self.error,
            "assignments": assignments(self.result) if self.result else [],
            "digest": digest(self.result) if self.result else None,
        }


@dataclass
class Trace:
    branch: BranchSpec
    entries: list[TraceEntry] = field(default_factory=list)

    def record(self, now: float, event: ev.Event, result: Result | None,
               error: str | None = None) -> None:
        self.entries.append(TraceEntry(now, event, result, error))

    def lines(self) -> Iterator[str]:
        yield json.dumps(self.branch.to_dict(), sort_keys=True)
        for entry in self.entries:
            yield json.dumps(entry.to_dict(), sort_keys=True)

    def write_jsonl(self, path: str | Path) -> None:
        with Path(path).open("w", encoding="utf-8") as out:
            for line in self.lines():
                out.write(line + "\n")


@dataclass(frozen=True)
class ReplayedEvent:
    now: float
    event: ev.Event
    result: Result | None
    error: str | None
    expected_digest: str | None
    expected_error: str | None

    @property
    def matches(self) -> bool:
        if self.error != self.expected_error:
            return False
        if self.result is None:
            return self.expected_digest is None
        return self.expected_digest is None or digest(self.result) == self.expected_digest


@dataclass
class ReplayReport:
    branch: BranchSpec
    state: BranchState
    events: list[ReplayedEvent]

    @property
    def mismatches(self) -> list[int]:
        return [i for i, e in enumerate(self.events) if not e.matches]

    @property
    def ok(self) -> bool:
        return not self.mismatches


def read_jsonl(source: str | Path | Iterable[str]) -> tuple[BranchSpec, list[dict[str, Any]]]:
    lines: Iterable[str]
    if isinstance(source, str | Path):
        lines = Path(source).read_text(encoding="utf-8").splitlines()
    else:
        lines = source
    records = [json.loads(line) for line in lines if line.strip()]
    if not records or records[0].get("type") != "branch":
        raise ValueError("a trace starts with a `branch` line")
    return BranchSpec.from_dict(records[0]), records[1:]


def replay(
    source: Trace | str | Path | Iterable[str],
    dispatcher: Dispatcher | None = None,
) -> ReplayReport:
    """Feed a recorded trace into a fresh dispatcher and branch state; say what differs.

    `source` is a `Trace` from a run, a JSON-lines file, or its lines.
    """
    if isinstance(source, Trace):
        spec = source.branch
        records = [e.to_dict() for e in source.entries]
    else:
        spec, records = read_jsonl(source)
    core = dispatcher or spec.dispatcher()
    state = spec.build()
    replayed: list[ReplayedEvent] = []
    for record in records:
        event = event_from_dict(record["event"], record["fields"])
        now = float(record["now"])
        result: Result | None = None
        error: str | None = None
        try:
            result = core.handle(state, event, now)
        except ApiError as exc:
            error = str(exc.code)
        replayed.append(
            ReplayedEvent(now, event, result, error, record.get("digest"), record.get("error"))
        )
    return ReplayReport(spec, state, replayed)
