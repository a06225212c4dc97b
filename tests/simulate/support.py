"""Scenarios shared by the simulator tests."""

from __future__ import annotations

from booth_server.simulate.params import (
    Arrivals,
    BoothBehaviour,
    Duration,
    OfficerBehaviour,
    Scenario,
    SimplePhase,
    VisitModel,
)

ZERO = Duration(dist="fixed", mean=0.0)


def exponential(mean: float) -> Duration:
    return Duration(dist="exponential", mean=mean)


def instant_people() -> dict[str, object]:
    """No reaction time, no switch overhead, no booth setup or turnover: the pure queue."""
    return {
        "officer": OfficerBehaviour(reaction=ZERO, switch_overhead=ZERO).model_dump(),
        "booth": BoothBehaviour(setup=ZERO, turnover=ZERO).model_dump(),
    }


def mmc(servers: int, per_hour: float, mean_service_s: float, hours: float) -> Scenario:
    """M/M/c: c officers of capacity 1, Poisson arrivals, one exponential phase that needs the
    officer, booths never scarce."""
    return Scenario(
        officers=servers,
        booths=300,
        capacity=1,
        hours=hours,
        arrivals=Arrivals(per_hour=(per_hour,)),
        visit=VisitModel(
            phases=(SimplePhase(name="service", attention=True,
                                duration=exponential(mean_service_s)),)
        ),
    ).with_(**instant_people())


def repairman(officers: int, capacity: int, free_s: float, attention_s: float,
              hours: float) -> Scenario:
    """Each officer with N booths that alternate an exponential free phase and an exponential
    phase needing the officer: the machine-repairman (finite-source M/M/1//N) queue."""
    return Scenario(
        officers=officers,
        capacity=capacity,
        hours=hours,
        warmup_h=2.0,
        arrivals=Arrivals(mode="saturated"),
        visit=VisitModel(
            phases=(
                SimplePhase(name="free", attention=False, duration=exponential(free_s)),
                SimplePhase(name="talk", attention=True, duration=exponential(attention_s)),
            )
        ),
    ).with_(**instant_people())
