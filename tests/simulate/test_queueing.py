"""(2) Known queueing cases against their closed forms.

- M/M/c: capacity 1, every phase needs the officer (so no attention conflicts), exponential
  service, Poisson arrivals, booths never scarce: the mean wait and the probability of waiting
  are Erlang C's.
- Machine repairman (M/M/1//N): one officer with N live booths whose visits alternate a free
  phase and a phase needing the officer. This is exactly the attention conflict of One to
  Many, and its throughput has a closed form.
"""

from __future__ import annotations

import math

import numpy as np

from booth_server.simulate.engine import simulate
from tests.simulate.support import mmc, repairman


def erlang_c(servers: int, arrival_rate: float, service_rate: float) -> tuple[float, float]:
    """(probability of waiting, mean wait) for M/M/c."""
    a = arrival_rate / service_rate
    rho = a / servers
    below = sum(a**k / math.factorial(k) for k in range(servers))
    top = a**servers / math.factorial(servers) / (1 - rho)
    p_wait = top / (below + top)
    return p_wait, p_wait / (servers * service_rate - arrival_rate)


def repairman_throughput(n: int, free_s: float, attention_s: float) -> tuple[float, float]:
    """(visits per hour, officer utilisation) for M/M/1//N."""
    r = attention_s / free_s
    p0 = 1.0 / sum(math.factorial(n) / math.factorial(n - k) * r**k for k in range(n + 1))
    return (1.0 - p0) / attention_s * 3600.0, 1.0 - p0


def test_mmc_mean_wait_matches_erlang_c() -> None:
    servers, per_hour, service_s = 3, 13.5, 600.0  # ρ = 0.75
    scenario = mmc(servers, per_hour, service_s, hours=300)
    means: list[float] = []
    waited: list[float] = []
    for r in range(6):
        run = simulate(scenario, seed=2024, replication=r)
        assert run.stats.idle_in_visit_mean_s == 0.0  # capacity 1: nobody waits inside
        means.append(run.stats.wait_mean_s)
        waited.append(float(np.mean([rec.wait_s > 1e-9 for rec in run.records])))
    p_wait, wq = erlang_c(servers, per_hour / 3600.0, 1.0 / service_s)
    mean = float(np.mean(means))
    se = float(np.std(means, ddof=1)) / math.sqrt(len(means))
    assert se / wq < 0.1, "run too short to say anything"
    assert abs(mean - wq) < 3 * se, (mean, wq, se)
    assert abs(float(np.mean(waited)) - p_wait) < 0.03, (np.mean(waited), p_wait)


def test_attention_conflict_matches_machine_repairman() -> None:
    free_s, attention_s = 800.0, 200.0
    for n in range(1, 7):
        run = simulate(repairman(4, n, free_s, attention_s, hours=150), seed=77)
        throughput, utilisation = repairman_throughput(n, free_s, attention_s)
        measured = run.stats.visits_per_officer_hour
        assert abs(measured - throughput) / throughput < 0.04, (n, measured, throughput)
        assert abs(run.stats.utilisation - utilisation) < 0.03, (n, run.stats.utilisation)
        if n == 1:
            assert run.stats.idle_in_visit_mean_s == 0.0
        else:
            assert run.stats.idle_in_visit_mean_s > 0.0
