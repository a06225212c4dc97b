"""`lapak-asik simulate`: a branch day on the real dispatcher core, for N = 1 … 6."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from pydantic import ValidationError
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from booth_server.simulate.calibrate import calibrate
from booth_server.simulate.engine import SimulationError, simulate
from booth_server.simulate.params import (
    Arrivals,
    Scenario,
    load_bookings,
    load_scenario,
)
from booth_server.simulate.planning import PlanningError, plan
from booth_server.simulate.report import (
    SWEEP_NOTE,
    calibration_table,
    plan_table,
    plot,
    share_table,
    sweep_table,
    write_json,
)
from booth_server.simulate.runner import gains, share_sweep, sweep, sweep_runs


def _capacity(text: str) -> int:
    value = int(text)
    if not 1 <= value <= 6:
        raise argparse.ArgumentTypeError("expected a capacity from 1 to 6")
    return value


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("expected a positive integer")
    return value


def _floats(text: str) -> tuple[float, ...]:
    try:
        values = tuple(float(v) for v in text.split(",") if v.strip())
    except ValueError as exc:
        raise argparse.ArgumentTypeError("expected numbers separated by commas") from exc
    if not values:
        raise argparse.ArgumentTypeError("expected at least one number")
    return values


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="lapak-asik simulate",
        description="Simulate a branch day on the real dispatcher core: what One to Many "
        "(N sessions per officer) buys, and how many officers and booths a day needs.",
    )
    p.add_argument("--scenario", metavar="FILE",
                   help="scenario JSON (phase durations, behaviour); flags override it")
    p.add_argument("--officers", type=_positive_int, metavar="K")
    p.add_argument("--booths", type=_positive_int, metavar="B",
                   help="booths in the branch (default: officers × N)")
    cap = p.add_mutually_exclusive_group()
    cap.add_argument("--capacity", type=_capacity, metavar="N",
                     help="sessions per officer, 1-6 (default 5)")
    cap.add_argument("--sweep", action="store_true", help="run N = 1 … 6")
    p.add_argument("--hours", type=float, metavar="H", help="opening hours (default 8)")
    arr = p.add_mutually_exclusive_group()
    arr.add_argument("--arrivals-per-hour", type=_floats, metavar="R[,R…]",
                     help="Poisson arrivals per hour (one value, or one per opening hour)")
    arr.add_argument("--bookings", metavar="FILE", help="a day's bookings (CSV or JSON)")
    arr.add_argument("--saturated", action="store_true",
                     help="a lobby that never empties (capacity only)")
    p.add_argument("--open-at", default="08:00", metavar="HH:MM",
                   help="opening time, for wall-clock times in --bookings (default 08:00)")
    p.add_argument("--attention-share", type=float, metavar="A",
                   help="rescale the visit so that share A of it needs the officer")
    p.add_argument("--attention-policy", choices=("fifo", "sticky"))
    p.add_argument("--auto-accept", action="store_true", help="officers auto-accept offers")
    p.add_argument("--seed", type=int, default=1, metavar="S")
    p.add_argument("--replications", type=_positive_int, default=5, metavar="R")
    p.add_argument("--no-capacity", action="store_true",
                   help="skip the saturated runs that measure capacity")
    p.add_argument("--json", metavar="OUT", help="write all figures as JSON")
    p.add_argument("--plot", metavar="OUT.png", help="write a PNG plot")
    p.add_argument("--plan", action="store_true",
                   help="find the fewest officers and booths for --target-p95-wait")
    p.add_argument("--target-p95-wait", type=float, metavar="S",
                   help="planning target: p95 participant wait in seconds")
    p.add_argument("--calibrate", metavar="AUDIT",
                   help="fit durations (and arrivals) from an audit log (JSON lines)")
    p.add_argument("--replay-day", action="store_true",
                   help="with --calibrate: arrivals are the audit day's own ready times")
    p.add_argument("--share-sweep", type=_floats, metavar="A[,A…]",
                   help="capacity gain over N=1 for these attention shares")
    p.add_argument("--trace", metavar="OUT.jsonl",
                   help="write the events fed to the core (first run) as JSON lines")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.add_argument("--progress", action="store_true",
                   help="show the progress bar even when not on a terminal")
    return p


def _scenario(args: argparse.Namespace, console: Console) -> tuple[Scenario, dict[str, Any]]:
    scenario = load_scenario(args.scenario) if args.scenario else Scenario()
    extra: dict[str, Any] = {}
    if args.calibrate:
        fitted = calibrate(args.calibrate)
        console.print(calibration_table(fitted))
        scenario = fitted.apply(scenario, replay_day=args.replay_day)
        extra["calibration"] = fitted.to_dict()
    changes: dict[str, Any] = {}
    if args.officers is not None:
        changes["officers"] = args.officers
    if args.booths is not None:
        changes["booths"] = args.booths
    if args.capacity is not None:
        changes["capacity"] = args.capacity
    if args.hours is not None:
        changes["hours"] = args.hours
    if args.arrivals_per_hour is not None:
        changes["arrivals"] = Arrivals(per_hour=args.arrivals_per_hour).model_dump()
    elif args.bookings:
        changes["arrivals"] = load_bookings(args.bookings, args.open_at).model_dump()
    elif args.saturated:
        changes["arrivals"] = Arrivals(mode="saturated").model_dump()
    officer = scenario.officer
    if args.attention_policy:
        officer = officer.model_copy(update={"attention_policy": args.attention_policy})
    if args.auto_accept:
        officer = officer.model_copy(update={"auto_accept": True})
    changes["officer"] = officer.model_dump()
    if args.attention_share is not None:
        changes["visit"] = scenario.visit.with_attention_share(args.attention_share).model_dump()
    return scenario.with_(**changes), extra


@contextmanager
def _progress(enabled: bool, total: int | None, label: str) -> Iterator[Callable[[int], None]]:
    if not enabled:
        yield lambda _n: None
        return
    bar = Progress(
        TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
        TimeElapsedColumn(), console=Console(stderr=True), transient=True,
    )
    with bar:
        task = bar.add_task(label, total=total)
        yield lambda n: bar.advance(task, n)


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    console = Console()
    err = Console(stderr=True)
    if args.plan and args.target_p95_wait is None:
        parser.error("--plan needs --target-p95-wait S")
    if args.replay_day and not args.calibrate:
        parser.error("--replay-day needs --calibrate AUDIT")
    try:
        scenario, payload = _scenario(args, console)
    except (ValidationError, ValueError, OSError) as exc:
        err.print(f"[red]simulate: bad scenario:[/red] {exc}")
        return 2
    capacities = list(range(1, 7)) if args.sweep else [scenario.capacity]
    show = not args.quiet and (args.progress or err.is_terminal)
    payload.update({"scenario": scenario.model_dump(mode="json"), "seed": args.seed,
                    "replications": args.replications,
                    "attention_share": scenario.visit.attention_share()})
    rows = []
    shares = []
    try:
        if args.plan:
            plans = []
            with _progress(show, None, "planning") as advance:
                for n in capacities:
                    plans.append(plan(scenario.with_(capacity=n), args.target_p95_wait,
                                      seed=args.seed, replications=args.replications,
                                      progress=advance))
            console.print(plan_table(plans))
            payload["plan"] = [p.to_dict() for p in plans]
        else:
            day = scenario.arrivals.mode != "saturated"
            saturated = not args.no_capacity or not day
            total = sweep_runs(capacities, args.replications, day, saturated)
            with _progress(show and total > 1, total, "simulating") as advance:
                rows = sweep(scenario, capacities, seed=args.seed,
                             replications=args.replications, day=day, saturated=saturated,
                             progress=advance)
            console.print(sweep_table(rows))
            console.print(SWEEP_NOTE, style="dim")
            gain = gains(rows)
            if len(gain) > 1:
                console.print(
                    "capacity gain over N=1: "
                    + ", ".join(f"N={n}: {g:.2f}×" for n, g in gain.items() if n > 1)
                    + f"  (attention share {scenario.visit.attention_share():.2f})"
                )
            payload["sweep"] = [r.to_dict() for r in rows]
            payload["gain_over_n1"] = gain
        if args.share_sweep:
            total = len(args.share_sweep) * 6 * args.replications
            with _progress(show, total, "attention shares") as advance:
                shares = share_sweep(scenario, args.share_sweep, seed=args.seed,
                                     replications=args.replications, progress=advance)
            console.print(share_table(shares))
            payload["attention_share_sweep"] = [s.to_dict() for s in shares]
        if args.trace:
            run = simulate(scenario.with_(capacity=capacities[0]), args.seed, record_trace=True)
            assert run.trace is not None
            run.trace.write_jsonl(args.trace)
            console.print(f"trace: {len(run.trace.entries)} events → {args.trace}")
    except (SimulationError, PlanningError, ValueError) as exc:
        err.print(f"[red]simulate:[/red] {exc}")
        return 1
    if args.json:
        write_json(args.json, payload)
        console.print(f"json → {args.json}")
    if args.plot:
        if rows or shares:
            plot(Path(args.plot), rows, shares)
            console.print(f"plot → {args.plot}")
        else:
            err.print("simulate: nothing to plot in planning mode")
    return 0


if __name__ == "__main__":
    sys.exit(main())
