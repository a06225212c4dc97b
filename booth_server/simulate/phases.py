"""One participant's visit as a list of steps, drawn before the visit starts.

A step either needs the officer's attention (the officer is with this booth and no other) or
runs on its own (the kiosk guides the participant, the claim system works). Some steps end
with an action that goes to the dispatcher core (request a document, upload it, review it,
complete the visit); the engine moves to the next step only when the core's answer arrives,
so the visit is driven by the same messages a real console and kiosk would get.

Drawing the whole plan at arrival, from its own random stream, gives every capacity in a sweep
the same participants with the same needs (common random numbers): differences between
N = 1 … 6 come from the dispatching, not from luck.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np

from booth_server.simulate.params import DocumentPhase, SimplePhase, VisitModel

StepAction = Literal["none", "request", "upload", "review", "complete"]

# What the core must send back after a step's action before the visit goes on.
AWAITED: dict[StepAction, tuple[str, str] | None] = {
    "none": None,
    "request": ("booth", "document_requested"),
    "upload": ("officer", "document_ready"),
    "review": ("booth", "document_reviewed"),
    "complete": ("booth", "session_ended"),
}


@dataclass(frozen=True)
class Step:
    phase: str
    attention: bool
    duration_s: float
    action: StepAction = "none"
    document_kind: str | None = None
    document_id: str | None = None
    approved: bool = True


@dataclass(frozen=True)
class VisitPlan:
    steps: tuple[Step, ...]
    outcome: str

    @property
    def attention_s(self) -> float:
        return sum(s.duration_s for s in self.steps if s.attention)

    @property
    def free_s(self) -> float:
        return sum(s.duration_s for s in self.steps if not s.attention)


def _document_steps(
    phase: DocumentPhase, session_id: str, rng: np.random.Generator
) -> list[Step]:
    steps: list[Step] = []
    for need in phase.documents:
        if need.probability < 1.0 and rng.random() >= need.probability:
            continue
        steps.append(
            Step(phase.name, True, phase.request.sample(rng), "request", need.kind)
        )
        for attempt in range(1, phase.max_attempts + 1):
            doc_id = f"{session_id}-{need.kind}-{attempt}"
            approved = attempt == phase.max_attempts or rng.random() >= phase.reject_probability
            steps.append(
                Step(phase.name, False, phase.capture.sample(rng), "upload", need.kind, doc_id)
            )
            steps.append(
                Step(phase.name, True, phase.review.sample(rng), "review", need.kind, doc_id,
                     approved)
            )
            if approved:
                break
    return steps


def plan_visit(model: VisitModel, session_id: str, rng: np.random.Generator) -> VisitPlan:
    steps: list[Step] = []
    for phase in model.phases:
        if isinstance(phase, SimplePhase):
            steps.append(Step(phase.name, phase.attention, phase.duration.sample(rng)))
        else:
            steps.extend(_document_steps(phase, session_id, rng))
    if not steps:
        raise ValueError("the visit model produced no steps")
    last = steps[-1]
    if last.action != "none":
        # The visit must end with a step that can carry `complete`: a closing word.
        steps.append(Step("closing", True, 0.0))
        last = steps[-1]
    if not last.attention:
        # Only the officer can complete a session: a visit that ends without them gets a
        # zero-length closing step that still has to wait for their attention.
        steps.append(Step("closing", True, 0.0, "complete"))
    else:
        steps[-1] = Step(last.phase, True, last.duration_s, "complete")
    return VisitPlan(tuple(steps), model.outcome)
