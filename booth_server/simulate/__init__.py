"""Branch simulator: a simulated clock driving the real dispatcher core.

`lapak-asik simulate` runs it (`booth_server.simulate.cli.main`); `docs/simulator.md`
describes the model, its defaults and how to calibrate it from a branch's audit log.
"""

from booth_server.simulate.engine import Engine, RunResult, SimulationError, simulate
from booth_server.simulate.params import Scenario

__all__ = ["Engine", "RunResult", "Scenario", "SimulationError", "simulate"]
