"""A scenario for the branch simulator: who works, how many booths, who arrives, how long
each part of a visit takes.

Every duration is a distribution with a documented default. The defaults are assumptions for a
JHT claim over video (no measured data went into them); `calibrate` replaces them with figures
fitted from a branch's own audit log. All times are in seconds, counted from opening time.
"""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path
from typing import Annotated, Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

DistKind = Literal["fixed", "exponential", "lognormal", "gamma", "uniform"]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Duration(_Model):
    """A random duration given by its mean and coefficient of variation (sd / mean).

    `exponential` ignores `cv` (it is 1 by definition); `uniform` needs cv ≤ 1/√3 so that it
    never goes below zero; `lognormal` and `gamma` with cv = 0 are `fixed`.
    """

    dist: DistKind = "lognormal"
    mean: float = Field(ge=0.0)
    cv: float = Field(default=0.5, ge=0.0)

    @model_validator(mode="after")
    def _uniform_non_negative(self) -> Duration:
        if self.dist == "uniform" and self.cv > 1 / math.sqrt(3) + 1e-12:
            raise ValueError("uniform: cv must be at most 1/sqrt(3) ≈ 0.577")
        return self

    def sample(self, rng: np.random.Generator) -> float:
        if self.mean == 0.0 or self.dist == "fixed":
            return self.mean
        if self.dist == "exponential":
            return float(rng.exponential(self.mean))
        if self.cv == 0.0:
            return self.mean
        if self.dist == "lognormal":
            sigma2 = math.log1p(self.cv**2)
            return float(rng.lognormal(math.log(self.mean) - sigma2 / 2, math.sqrt(sigma2)))
        if self.dist == "gamma":
            shape = 1.0 / self.cv**2
            return float(rng.gamma(shape, self.mean / shape))
        half = self.mean * self.cv * math.sqrt(3.0)
        return float(rng.uniform(self.mean - half, self.mean + half))

    def scaled(self, factor: float) -> Duration:
        return self.model_copy(update={"mean": self.mean * factor})


def _d(mean: float, cv: float = 0.5, dist: DistKind = "lognormal") -> Duration:
    return Duration(dist=dist, mean=mean, cv=cv)


class SimplePhase(_Model):
    """A stretch of the visit that either needs the officer (greeting, typing the claim)
    or does not (waiting for the claim system)."""

    kind: Literal["simple"] = "simple"
    name: str
    attention: bool
    duration: Duration


class DocumentNeed(_Model):
    kind: Literal["ktp", "kpj", "kk", "paklaring", "bank_book", "npwp", "other"]
    probability: float = Field(default=1.0, ge=0.0, le=1.0)


class DocumentPhase(_Model):
    """Document capture and review, one document after another.

    Per document: the officer requests it (attention), the kiosk guides the participant to
    capture it (no attention: the officer is free for other booths), the officer reviews the
    still (attention). A rejected still is captured and reviewed again; the last allowed
    attempt is always approved (the officer accepts it with a note), so a visit never loops.
    """

    kind: Literal["documents"] = "documents"
    name: str = "documents"
    documents: tuple[DocumentNeed, ...] = (
        DocumentNeed(kind="ktp"),
        DocumentNeed(kind="kpj"),
        DocumentNeed(kind="kk"),
        DocumentNeed(kind="paklaring"),
        DocumentNeed(kind="bank_book"),
        DocumentNeed(kind="npwp", probability=0.3),
    )
    request: Duration = _d(10.0, 0.3)
    capture: Duration = _d(75.0, 0.6)
    review: Duration = _d(25.0, 0.5)
    reject_probability: float = Field(default=0.15, ge=0.0, lt=1.0)
    max_attempts: int = Field(default=3, ge=1, le=10)

    def expected_attempts(self) -> float:
        p, m = self.reject_probability, self.max_attempts
        return (1.0 - p**m) / (1.0 - p) if p > 0 else 1.0

    def expected_documents(self) -> float:
        return sum(d.probability for d in self.documents)


Phase = Annotated[SimplePhase | DocumentPhase, Field(discriminator="kind")]


def default_phases() -> tuple[SimplePhase | DocumentPhase, ...]:
    return (
        SimplePhase(name="greeting", attention=True, duration=_d(40.0, 0.5)),
        SimplePhase(name="identity_check", attention=True, duration=_d(90.0, 0.5)),
        DocumentPhase(),
        SimplePhase(name="data_entry", attention=True, duration=_d(120.0, 0.4)),
        SimplePhase(name="claim_processing", attention=False, duration=_d(420.0, 0.5)),
        SimplePhase(name="closing", attention=True, duration=_d(45.0, 0.4)),
    )


class VisitModel(_Model):
    phases: tuple[Phase, ...] = Field(default_factory=default_phases)
    outcome: str = "claim_submitted"

    @field_validator("phases")
    @classmethod
    def _not_empty(cls, value: tuple[Phase, ...]) -> tuple[Phase, ...]:
        if not value:
            raise ValueError("a visit needs at least one phase")
        return value

    def expected_split(self) -> tuple[float, float]:
        """Mean seconds per visit that need the officer's attention, and that do not."""
        attention = free = 0.0
        for phase in self.phases:
            if isinstance(phase, SimplePhase):
                if phase.attention:
                    attention += phase.duration.mean
                else:
                    free += phase.duration.mean
            else:
                docs, tries = phase.expected_documents(), phase.expected_attempts()
                attention += docs * (phase.request.mean + tries * phase.review.mean)
                free += docs * tries * phase.capture.mean
        return attention, free

    def attention_share(self) -> float:
        attention, free = self.expected_split()
        total = attention + free
        return attention / total if total > 0 else 0.0

    def with_attention_share(self, share: float) -> VisitModel:
        """The same visit, same mean length, with attention phases stretched or shrunk so
        that `share` of it needs the officer (the rest shrinks or stretches to match)."""
        if not 0.0 < share <= 1.0:
            raise ValueError("attention share must be in (0, 1]")
        attention, free = self.expected_split()
        total = attention + free
        if attention == 0.0 or (free == 0.0 and share < 1.0):
            raise ValueError("the visit has no attention (or no free) time to rescale")
        fa = share * total / attention
        ff = (1.0 - share) * total / free if free > 0 else 1.0
        phases: list[SimplePhase | DocumentPhase] = []
        for phase in self.phases:
            if isinstance(phase, SimplePhase):
                factor = fa if phase.attention else ff
                phases.append(phase.model_copy(update={"duration": phase.duration.scaled(factor)}))
            else:
                phases.append(
                    phase.model_copy(
                        update={
                            "request": phase.request.scaled(fa),
                            "review": phase.review.scaled(fa),
                            "capture": phase.capture.scaled(ff),
                        }
                    )
                )
        return self.model_copy(update={"phases": tuple(phases)})


AttentionPolicy = Literal["fifo", "sticky"]


class OfficerBehaviour(_Model):
    """How a simulated officer works the console.

    `fifo`: booths get the officer's attention in the order they asked for it, phase by phase.
    `sticky`: an officer who finishes a phase stays with the same booth if its next phase needs
    them too (fewer switches, longer waits for the others).
    """

    reaction: Duration = _d(4.0, 0.5)
    switch_overhead: Duration = _d(5.0, 0.3)
    auto_accept: bool = False
    attention_policy: AttentionPolicy = "fifo"


class BoothBehaviour(_Model):
    """`setup`: from sitting down to pressing "ready" (the kiosk's welcome screen).
    `turnover`: from the end of a visit until the booth is free for the next participant."""

    setup: Duration = _d(30.0, 0.5)
    turnover: Duration = _d(20.0, 0.5)


class Booking(_Model):
    at: float = Field(ge=0.0, description="seconds after opening")
    ticket: str | None = None
    priority: int = Field(default=0, ge=0, le=9)
    kind: Literal["individual", "collective"] = "individual"


class Arrivals(_Model):
    """Who comes in.

    `poisson`: random arrivals at `per_hour[h]` per hour in opening hour h (the last value
    holds for later hours). `bookings`: one participant per booking, arriving at the booked
    time plus a normal offset of sd `punctuality_sd_s`, each missing with `no_show_probability`.
    `saturated`: a participant is always waiting in the lobby (measures the branch's capacity).
    """

    mode: Literal["poisson", "bookings", "saturated"] = "poisson"
    per_hour: tuple[float, ...] = (15.0,)
    bookings: tuple[Booking, ...] = ()
    no_show_probability: float = Field(default=0.0, ge=0.0, le=1.0)
    punctuality_sd_s: float = Field(default=0.0, ge=0.0)

    @field_validator("per_hour")
    @classmethod
    def _rates(cls, value: tuple[float, ...]) -> tuple[float, ...]:
        if not value or any(r < 0 for r in value):
            raise ValueError("per_hour: expected one or more non-negative rates")
        return value

    def rate(self, hour: int) -> float:
        return self.per_hour[min(hour, len(self.per_hour) - 1)]


class PolicyParams(_Model):
    offer_timeout_s: float = Field(default=15.0, gt=0.0)


class Scenario(_Model):
    name: str = "default"
    officers: int = Field(default=3, ge=1, le=500)
    # None: one booth per session an officer can hold (officers × capacity).
    booths: int | None = Field(default=None, ge=1, le=5000)
    capacity: int = Field(default=5, ge=1, le=6)
    hours: float = Field(default=8.0, gt=0.0, le=24.0 * 30)
    # Saturated runs only: the first part of the day is left out of the figures.
    warmup_h: float = Field(default=0.5, ge=0.0)
    arrivals: Arrivals = Arrivals()
    visit: VisitModel = VisitModel()
    officer: OfficerBehaviour = OfficerBehaviour()
    booth: BoothBehaviour = BoothBehaviour()
    policy: PolicyParams = PolicyParams()

    @model_validator(mode="after")
    def _warmup_inside_day(self) -> Scenario:
        if self.arrivals.mode == "saturated" and self.warmup_h >= self.hours:
            raise ValueError("warmup_h must be shorter than hours")
        return self

    def booth_count(self) -> int:
        return self.booths if self.booths is not None else self.officers * self.capacity

    def with_(self, **changes: Any) -> Scenario:
        """A validated copy with some fields changed."""
        return Scenario.model_validate({**self.model_dump(), **changes})

    def saturated(self) -> Scenario:
        return self.with_(arrivals=Arrivals(mode="saturated").model_dump())


def load_scenario(path: str | Path) -> Scenario:
    """A scenario from a JSON file (any field left out keeps its default)."""
    return Scenario.model_validate_json(Path(path).read_text(encoding="utf-8"))


def _clock(value: str | float | int, open_at: str) -> float:
    """Seconds after opening, from a number of seconds or an "HH:MM[:SS]" wall time."""
    if isinstance(value, int | float):
        return float(value)
    text = value.strip()
    if ":" not in text:
        return float(text)

    def secs(hms: str) -> float:
        parts = [float(p) for p in hms.split(":")]
        while len(parts) < 3:
            parts.append(0.0)
        return parts[0] * 3600 + parts[1] * 60 + parts[2]

    return secs(text) - secs(open_at)


def load_bookings(path: str | Path, open_at: str = "08:00") -> Arrivals:
    """A day's bookings from a file.

    CSV: a header with `time` (seconds after opening or HH:MM) and optionally `ticket`,
    `priority`, `kind`. JSON: a list of bookings, or an object with `bookings` (same fields,
    `time` or `at`) and optionally `open_at`, `no_show_probability`, `punctuality_sd_s`; or an
    object with `per_hour` (arrival rates per opening hour).
    """
    file = Path(path)
    text = file.read_text(encoding="utf-8")
    rows: list[dict[str, Any]]
    extra: dict[str, Any] = {}
    if file.suffix.lower() == ".csv":
        rows = list(csv.DictReader(text.splitlines()))
    else:
        data = json.loads(text)
        if isinstance(data, dict):
            open_at = str(data.get("open_at", open_at))
            for key in ("no_show_probability", "punctuality_sd_s"):
                if key in data:
                    extra[key] = data[key]
            if "per_hour" in data:
                return Arrivals(mode="poisson", per_hour=tuple(data["per_hour"]), **extra)
            rows = list(data.get("bookings", []))
        else:
            rows = list(data)
    bookings = []
    for index, row in enumerate(rows):
        raw = row.get("time", row.get("at"))
        if raw is None or raw == "":
            raise ValueError(f"{file}: booking {index + 1}: expected a `time` (or `at`)")
        at = _clock(raw, open_at)
        bookings.append(
            Booking(
                at=max(0.0, at),
                ticket=(row.get("ticket") or None),
                priority=int(row.get("priority") or 0),
                kind=row.get("kind") or "individual",
            )
        )
    bookings.sort(key=lambda b: b.at)
    return Arrivals(mode="bookings", bookings=tuple(bookings), **extra)
