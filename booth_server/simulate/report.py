"""Showing the figures: rich tables in the terminal, a JSON document, PNG plots (Agg)."""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from rich import box
from rich.table import Table

from booth_server.simulate.calibrate import Calibration, Fit
from booth_server.simulate.planning import Evaluation, Plan
from booth_server.simulate.runner import ShareRow, SweepRow, gains


def _s(value: float) -> str:
    """Seconds, readable: 42 s, 12.5 min, 3.2 h."""
    if math.isnan(value):
        return "–"
    if math.isinf(value):
        return "∞"
    if value < 120:
        return f"{value:.0f}s"
    if value < 600:
        return f"{value / 60:.1f}m"
    if value < 6000:
        return f"{value / 60:.0f}m"
    return f"{value / 3600:.1f}h"


def _pct(value: float) -> str:
    return "–" if math.isnan(value) else f"{value * 100:.0f}%"


SWEEP_NOTE = (
    "wait = lobby + booth queue; idle in visit = mean wait for the officer inside a session; "
    "util = officer attention busy; 1:N = live sessions per officer; overrun = serving after "
    "closing; cap/off-h = visits per officer-hour with a lobby that never empties; gain = "
    "that over N=1; B = booths."
)


def sweep_table(rows: Sequence[SweepRow], title: str = "One to Many: N sessions per officer"
                ) -> Table:
    table = Table(title=title, title_justify="left", box=box.SIMPLE_HEAD, pad_edge=False)
    table.add_column("N", justify="right", no_wrap=True)
    table.add_column("B", justify="right", no_wrap=True)
    has_day = any(r.day for r in rows)
    if has_day:
        table.add_column("visit/\noff-h", justify="right")
        table.add_column("wait\nmed", justify="right")
        table.add_column("wait\np95", justify="right")
        table.add_column("idle in\nvisit", justify="right")
        table.add_column("util", justify="right")
        table.add_column("1:N", justify="right")
        table.add_column("over\nrun", justify="right")
    has_sat = any(r.saturated for r in rows)
    if has_sat:
        table.add_column("cap/\noff-h", justify="right")
        table.add_column("gain", justify="right")
    gain = gains(rows)
    for row in rows:
        booths = (row.day or row.saturated)
        cells = [str(row.capacity), str(booths.booths if booths else "")]
        if has_day:
            d = row.day
            if d is None:
                cells += ["–"] * 7
            else:
                cells += [
                    f"{d.visits_per_officer_hour:.2f}",
                    _s(d.wait_median_s),
                    _s(d.wait_p95_s),
                    _s(d.idle_in_visit_mean_s),
                    _pct(d.utilisation),
                    f"{d.one_to_many:.2f}",
                    _s(d.overrun_h * 3600) if d.overrun_h > 0 else "–",
                ]
        if has_sat:
            s = row.saturated
            if s is None:
                cells += ["–"] * 2
            else:
                cells += [
                    f"{s.visits_per_officer_hour:.2f}",
                    f"{gain[row.capacity]:.2f}×" if row.capacity in gain else "–",
                ]
        table.add_row(*cells)
    return table


def share_table(rows: Sequence[ShareRow]) -> Table:
    capacities = sorted({n for r in rows for n in r.gain})
    table = Table(title="Capacity gain over N = 1 by share of the visit needing the officer",
                  title_justify="left")
    table.add_column("attention\nshare", justify="right")
    for n in capacities:
        table.add_column(f"N={n}", justify="right")
    for row in rows:
        table.add_row(f"{row.share:.2f}", *[f"{row.gain.get(n, math.nan):.2f}×"
                                           for n in capacities])
    return table


def _eval_row(table: Table, n: int, label: str, e: Evaluation | None) -> None:
    if e is None:
        table.add_row(str(n), label, "–", "–", "–", "–", "–", "–")
        return
    table.add_row(str(n), label, str(e.officers), str(e.booths), _s(e.wait_median_s),
                  _s(e.wait_p95_s), _pct(e.utilisation), "yes" if e.meets_target else "no")


def plan_table(plans: Sequence[Plan]) -> Table:
    target = plans[0].target_p95_wait_s if plans else 0.0
    table = Table(title=f"Fewest officers and booths for a p95 wait ≤ {_s(target)}",
                  title_justify="left", box=box.SIMPLE_HEAD, pad_edge=False)
    for name in ("N", "", "officers", "booths", "wait med", "wait p95", "util", "meets"):
        table.add_column(name, justify="left" if name == "" else "right", no_wrap=True)
    for p in plans:
        _eval_row(table, p.capacity, "plan", p.chosen)
        _eval_row(table, p.capacity, "one officer fewer", p.one_officer_fewer)
        _eval_row(table, p.capacity, "one booth fewer", p.one_booth_fewer)
    return table


def calibration_table(c: Calibration) -> Table:
    table = Table(title=f"Fitted from the audit log ({c.completed} completed of {c.sessions} "
                        "sessions)", title_justify="left")
    for name in ("quantity", "n", "mean", "cv", "median", "p95"):
        table.add_column(name, justify="right" if name != "quantity" else "left")
    fits: list[tuple[str, Fit | None]] = [
        ("handling time", c.handle),
        ("booth queue wait", c.queue_wait),
        ("officer reaction", c.reaction),
        ("start → first document request", c.before_documents),
        ("document request", c.request),
        ("document capture (kiosk)", c.capture),
        ("document review (incl. wait)", c.review),
        ("last review → end", c.after_documents),
    ]
    for name, f in fits:
        if f is None:
            table.add_row(name, "0", "–", "–", "–", "–")
        else:
            table.add_row(name, str(f.n), _s(f.mean), f"{f.cv:.2f}", _s(f.median), _s(f.p95))
    if c.reject_rate is not None:
        table.add_row("rejected reviews", "", f"{c.reject_rate * 100:.1f} %", "", "", "")
    if c.documents_per_visit is not None:
        table.add_row("documents per visit", "", f"{c.documents_per_visit:.2f}", "", "", "")
    if c.arrivals_per_hour:
        per_h = ", ".join(f"{v:.0f}" for v in c.arrivals_per_hour)
        table.add_row("arrivals per hour", "", per_h, "", "", "")
    return table


def _clean(value: Any) -> Any:
    """JSON has no NaN or infinity: write them as null."""
    if isinstance(value, float) and (math.isnan(value) or math.isinf(value)):
        return None
    if isinstance(value, dict):
        return {str(k): _clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_clean(v) for v in value]
    return value


def write_json(path: str | Path, payload: dict[str, Any]) -> None:
    Path(path).write_text(json.dumps(_clean(payload), indent=2, allow_nan=False) + "\n",
                          encoding="utf-8")


def plot(path: str | Path, rows: Sequence[SweepRow],
         shares: Sequence[ShareRow] = ()) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    panels = 4 + (1 if shares else 0)
    cols = 3 if shares else 2
    fig, axes = plt.subplots(2, cols, figsize=(5.2 * cols, 8.2), squeeze=False)
    flat = [ax for line in axes for ax in line]
    ns = [r.capacity for r in rows]
    day = [r.day for r in rows]
    sat = [r.saturated for r in rows]

    ax = flat[0]
    if all(s is not None for s in sat):
        ax.errorbar(ns, [s.visits_per_officer_hour for s in sat if s],
                    yerr=[s.visits_per_officer_hour_ci for s in sat if s],
                    marker="o", label="capacity (lobby never empty)")
        one = sat[0].visits_per_officer_hour if sat and sat[0] and ns[0] == 1 else None
        if one:
            ax.plot(ns, [one * n for n in ns], ":", color="grey", label="N-fold of N=1")
    if all(d is not None for d in day):
        ax.plot(ns, [d.visits_per_officer_hour for d in day if d], marker="s",
                label="this day's arrivals")
    ax.set_title("Visits per officer-hour")
    ax.set_xlabel("N (sessions per officer)")
    ax.legend(fontsize=8)

    ax = flat[1]
    source = day if all(d is not None for d in day) else sat
    ax.plot(ns, [d.wait_median_s / 60 if d else math.nan for d in source], marker="o",
            label="median")
    ax.plot(ns, [d.wait_p95_s / 60 if d else math.nan for d in source], marker="s",
            label="p95")
    ax.set_yscale("symlog", linthresh=1.0)
    ax.set_title("Participant queue wait (lobby + booth queue), min")
    ax.set_xlabel("N")
    ax.legend(fontsize=8)

    ax = flat[2]
    for label, series in (("this day", day), ("at capacity", sat)):
        if all(d is not None for d in series):
            ax.plot(ns, [d.idle_in_visit_mean_s / 60 for d in series if d], marker="o",
                    label=f"{label}: mean")
    ax.set_title("Idle inside a visit, waiting for the officer (min)")
    ax.set_xlabel("N")
    ax.legend(fontsize=8)

    ax = flat[3]
    for label, series in (("this day", day), ("at capacity", sat)):
        if all(d is not None for d in series):
            ax.plot(ns, [d.utilisation * 100 for d in series if d], marker="o",
                    label=f"utilisation, {label}")
    ax.set_ylim(0, 105)
    ax.set_title("Officer utilisation (%)")
    ax.set_xlabel("N")
    ax.legend(fontsize=8)

    if shares:
        ax = flat[4]
        capacities = sorted({n for r in shares for n in r.gain})
        for n in capacities:
            ax.plot([r.share for r in shares], [r.gain.get(n, math.nan) for r in shares],
                    marker="o", label=f"N={n}")
        ax.axhline(5.0, color="grey", linestyle=":", label="five-fold")
        ax.set_title("Capacity gain over N=1 vs attention share")
        ax.set_xlabel("share of visit time needing the officer")
        ax.legend(fontsize=8)
    for ax in flat[panels:]:
        ax.axis("off")
    fig.tight_layout()
    fig.savefig(str(path), dpi=110)
    plt.close(fig)
