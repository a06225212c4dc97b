"""Unit tests of booth_server.stats with hand-built audit sequences and an explicit `now`."""

from __future__ import annotations

import time

import pytest

from booth_server import stats
from booth_server.core.model import AuditEntry, Session, Visit, new_branch

B = "langsa"


def a(at: float, event: str, session: str | None = None, frm: str | None = None,
      to: str | None = None, officer: str | None = None, booth: str | None = None,
      reason: str | None = None) -> AuditEntry:
    return AuditEntry(at=at, branch=B, actor="t", event=event, session_id=session,
                      from_state=frm, to_state=to, reason=reason, booth_id=booth,
                      officer_id=officer)


def visit(session: str, created: float, started: float | None, ended: float, *,
          officer: str | None = "o1", reason: str = "completed",
          outcome: str | None = "claim_submitted") -> Visit:
    return Visit(session_id=session, branch=B, booth_id="b1", officer_id=officer, ticket=None,
                 kind="individual", created_at=created, started_at=started, ended_at=ended,
                 outcome=outcome if reason == "completed" else None, reason=reason)


def day() -> list[AuditEntry]:
    """o1 works 0–50 and 60–100 (paused 50–60); s1 live 10–40, s2 live 20–70."""
    return [
        a(0, "officer_connected", frm="offline", to="available", officer="o1"),
        a(5, "ready", "s1", None, "queued", booth="b1"),
        a(6, "offered", "s1", "queued", "offered", officer="o1"),
        a(10, "session_started", "s1", "offered", "active", officer="o1"),
        a(15, "ready", "s2", None, "queued", booth="b2"),
        a(20, "session_started", "s2", "queued", "active", officer="o1"),
        a(25, "document_requested", "s2", "active", "active", officer="o1", reason="ktp"),
        a(40, "session_ended", "s1", "active", "ended", officer="o1", reason="completed"),
        a(50, "officer_status", frm="available", to="paused", officer="o1"),
        a(60, "officer_status", frm="paused", to="available", officer="o1"),
        a(70, "session_ended", "s2", "active", "ended", officer="o1", reason="completed"),
        a(100, "officer_disconnected", frm="available", to="offline", officer="o1"),
    ]


def test_factor_counts_live_sessions_only_while_working() -> None:
    timeline = stats.replay(day(), since=0, now=120)
    o1 = timeline.officers["o1"]
    assert o1.working_s == pytest.approx(90)  # 0–50 and 60–100
    # s1 10–40 (30 s) + s2 20–50 and 60–70 (40 s); the pause is not working time.
    assert o1.session_s == pytest.approx(70)
    assert o1.factor == pytest.approx(70 / 90)


def test_state_at_since_comes_from_the_first_entry_of_each_party() -> None:
    # Midnight fell inside a visit: o1 was connected and holding s1 before the window.
    entries = [
        a(130, "session_ended", "s1", "active", "ended", officer="o1", reason="completed"),
        a(150, "officer_disconnected", frm="available", to="offline", officer="o1"),
        a(160, "officer_connected", frm="offline", to="available", officer="o2"),
    ]
    timeline = stats.replay(entries, since=100, now=200)
    assert timeline.officers["o1"].working_s == pytest.approx(50)
    assert timeline.officers["o1"].session_s == pytest.approx(30)
    assert timeline.officers["o1"].factor == pytest.approx(0.6)
    assert timeline.officers["o2"].working_s == pytest.approx(40)
    assert timeline.officers["o2"].factor == 0
    assert timeline.steps[0] == (100, 1, 0)  # one booth in session at the start


def test_parties_without_entries_keep_their_current_state() -> None:
    state = new_branch(B, "Langsa", [("b1", "1"), ("b2", "2"), ("b3", "3")],
                       [("o1", "Ani", 5, False), ("o2", "Budi", 5, False)])
    o1 = state.officers["o1"]
    o1.connected = True
    o1.sessions = ["s1", "s2"]
    state.officers["o2"].connected = True
    state.officers["o2"].mode = "paused"
    for sid, booth in (("s1", "b1"), ("s2", "b2")):
        state.sessions[sid] = Session(id=sid, booth_id=booth, seq=1, created_at=0,
                                      state="active", officer_id="o1", started_at=1)
    state.sessions["s3"] = Session(id="s3", booth_id="b3", seq=2, created_at=0)
    timeline = stats.replay([], since=1000, now=1600, current=state)
    assert timeline.officers["o1"].factor == pytest.approx(2.0)
    assert timeline.officers["o2"].working_s == 0  # paused all along
    assert timeline.steps == [(1000, 2, 1)]


def test_transfer_moves_the_session_between_officers() -> None:
    entries = [
        a(0, "officer_connected", frm="offline", to="available", officer="o1"),
        a(0, "officer_connected", frm="offline", to="available", officer="o2"),
        a(10, "ready", "s1", None, "queued"),
        a(10, "session_started", "s1", "queued", "active", officer="o1"),
        a(40, "transferred", "s1", "active", "active", officer="o1", reason="to:o2"),
        a(40, "session_started", "s1", "active", "active", officer="o2"),
        a(100, "session_ended", "s1", "active", "ended", officer="o2"),
    ]
    timeline = stats.replay(entries, since=0, now=100)
    assert timeline.officers["o1"].session_s == pytest.approx(30)
    assert timeline.officers["o2"].session_s == pytest.approx(60)
    assert [s[1] for s in timeline.steps] == [0, 1, 0]  # the transfer never empties the booth


def test_lost_officer_is_not_working_and_requeue_frees_the_slot() -> None:
    entries = [
        a(0, "officer_connected", frm="offline", to="available", officer="o1"),
        a(0, "ready", "s1", None, "queued"),
        a(0, "session_started", "s1", "queued", "active", officer="o1"),
        a(20, "officer_disconnected", frm="available", to="offline", officer="o1"),
        a(40, "requeued", "s1", "active", "queued", officer="o1", reason="officer_lost"),
    ]
    timeline = stats.replay(entries, since=0, now=60)
    o1 = timeline.officers["o1"]
    assert (o1.working_s, o1.session_s) == (pytest.approx(20), pytest.approx(20))
    assert timeline.steps[-1] == (40, 0, 1)


def test_not_responding_still_counts_as_working() -> None:
    entries = [
        a(0, "officer_connected", frm="offline", to="available", officer="o1"),
        a(0, "session_started", "s1", "queued", "active", officer="o1"),
        a(10, "officer_status", frm="available", to="not_responding", officer="o1"),
        a(30, "officer_status", frm="not_responding", to="available", officer="o1"),
    ]
    timeline = stats.replay(entries, since=0, now=40)
    assert timeline.officers["o1"].factor == pytest.approx(1.0)
    assert timeline.officers["o1"].working_s == pytest.approx(40)


def test_a_clock_running_back_across_processes_never_counts_negative_time() -> None:
    entries = [
        a(10, "officer_connected", frm="offline", to="available", officer="o1"),
        a(9.5, "session_started", "s1", "queued", "active", officer="o1"),  # other process
        a(20, "session_ended", "s1", "active", "ended", officer="o1"),
    ]
    timeline = stats.replay(entries, since=0, now=20)
    assert timeline.officers["o1"].working_s == pytest.approx(10)
    assert timeline.officers["o1"].session_s == pytest.approx(10)


def test_percentiles() -> None:
    values = [float(v) for v in range(1, 11)]
    assert stats.percentile(values, 50) == pytest.approx(5.5)
    assert stats.percentile(values, 95) == pytest.approx(9.55)
    assert stats.percentile(list(reversed(values)), 0) == 1
    assert stats.percentile([7.0], 95) == 7
    assert stats.percentile([], 50) is None


def test_figures_medians_p95_and_claims_per_officer_hour() -> None:
    visits = [
        visit("v1", 0, 60, 660),                      # wait 60, handle 600
        visit("v2", 0, 120, 420),                     # wait 120, handle 300
        visit("v3", 0, 600, 1500, outcome="referred"),  # wait 600, handle 900
        visit("v4", 0, None, 30, reason="cancelled"),   # never started
        visit("v5", 0, 30, 90, reason="booth_lost"),    # wait 30, handle 60
    ]
    times = [stats.OfficerTime("o1", working_s=3600, session_s=3 * 3600),
             stats.OfficerTime("o2", working_s=3600, session_s=5 * 3600)]
    fig = stats.figures(visits, times)
    assert fig.visits_completed == 3 and fig.visits_ended == 5
    assert fig.outcomes == {"claim_submitted": 2, "referred": 1}
    assert fig.ended_by_reason == {"completed": 3, "cancelled": 1, "booth_lost": 1}
    assert fig.wait_median_s == pytest.approx(90)      # 30, 60, 120, 600
    assert fig.wait_p95_s == pytest.approx(528)        # 120 + 0.85 * 480
    assert fig.handle_median_s == pytest.approx(450)   # 60, 300, 600, 900
    assert fig.one_to_many_factor == pytest.approx(4.0)
    assert fig.working_officer_hours == pytest.approx(2.0)
    assert fig.claims_per_officer_hour == pytest.approx(1.0)
    empty = stats.figures([], [])
    assert empty.one_to_many_factor is None and empty.claims_per_officer_hour is None
    assert empty.to_dict()["wait_median_s"] is None


def test_officer_figures() -> None:
    visits = [visit("v1", 0, 10, 70), visit("v2", 0, 10, 130, officer="o2"),
              visit("v3", 0, 10, 40, outcome="referred")]
    row = stats.officer_figures("o1", "Ani", stats.OfficerTime("o1", 1800, 900), visits)
    assert row["visits_completed"] == 2 and row["claims_submitted"] == 1
    assert row["claims_per_officer_hour"] == 2.0 and row["one_to_many_factor"] == 0.5
    assert row["handle_median_s"] == 45.0
    idle = stats.officer_figures("o3", "Cici", None, visits)
    assert idle["one_to_many_factor"] is None and idle["claims_per_officer_hour"] is None


def test_series_peaks_per_step_so_short_visits_show() -> None:
    timeline = stats.replay(day(), since=0, now=120)
    series = stats.series(timeline, 60)
    assert series.at == (0, 60, 120)
    assert series.in_session == (2, 1, 0)   # s1+s2 20–40; s2 until 70; none after
    assert series.queue == (1, 0, 0)        # s1 queued 5–6, s2 15–20
    per_10 = stats.series(timeline, 10)
    assert per_10.in_session[:8] == (0, 1, 2, 2, 1, 1, 1, 0)
    assert len(per_10.queue) == 13
    both = stats.sum_series([series, series])
    assert both.in_session == (4, 2, 0) and both.to_dict()["queue"] == [2, 0, 0]


def test_step_widens_for_long_windows() -> None:
    assert stats.choose_step(0, 3600, 60) == 60
    assert stats.choose_step(0, 31 * 86400, 60) == 536  # at most 5000 points


def test_local_midnight() -> None:
    now = time.time()
    midnight = stats.local_midnight(now)
    assert 0 <= now - midnight < 86400 + 3600
    assert time.localtime(midnight)[3:6] == (0, 0, 0)


def _occupancy(**over: object) -> dict[str, object]:
    booths = [
        {"id": "b1", "label": "Bilik 1", "state": "idle", "since": 5, "healthy": True,
         "connected": True},
        {"id": "b2", "label": "Bilik 2", "state": "offline", "since": 7, "healthy": True,
         "connected": False},
        {"id": "b3", "label": "Bilik 3", "state": "in_session", "since": 8, "healthy": True,
         "connected": False, "session_id": "s3"},
        {"id": "b4", "label": "Bilik 4", "state": "out_of_service", "since": 9,
         "healthy": False, "connected": False},
        {"id": "b5", "label": "Bilik 5", "state": "queued", "since": 3, "healthy": False,
         "connected": True, "session_id": "s5"},
    ]
    officers = [
        {"id": "o1", "name": "Ani", "status": "not_responding", "since": 50, "sessions": 1},
        {"id": "o2", "name": "Budi", "status": "offline", "since": 60, "sessions": 2},
        {"id": "o3", "name": "Cici", "status": "offline", "since": 60, "sessions": 0},
        {"id": "o4", "name": "Dedi", "status": "available", "since": 60, "sessions": 3},
    ]
    queue = {"length": 2, "oldest_wait_s": 1300, "entries": [
        {"session_id": "s5", "booth_id": "b5", "ticket": "A-5", "priority": 0, "wait_s": 1300},
        {"session_id": "s6", "booth_id": "b6", "ticket": None, "priority": 0, "wait_s": 700},
    ]}
    branch = {"id": B, "name": "Langsa", "booths": booths, "officers": officers,
              "queue": queue, **over}
    return {"generated_at": 2000, "branches": [branch]}


def test_alerts_kinds_severities_and_order() -> None:
    found = stats.alerts(_occupancy(), 2000, wait_alert_s=600)
    kinds = [(x["kind"], x["severity"], x["booth_id"] or x["officer_id"]) for x in found]
    assert kinds == [
        ("booth_offline", "critical", "b3"),           # stranded session, since 8
        ("officer_not_responding", "critical", "o1"),
        ("long_wait", "critical", "b5"),               # 1300 s > 2 × 600
        ("booth_faulty", "warning", "b5"),
        ("booth_offline", "warning", "b2"),
        ("officer_lost", "warning", "o2"),
        ("long_wait", "warning", "b6"),
    ]
    assert all(x["branch"] == B for x in found)
    assert found[2]["since"] == 700 and found[2]["detail"] == {"wait_s": 1300,
                                                             "threshold_s": 600}
    assert len({x["id"] for x in found}) == len(found)  # ids are stable keys
    down = stats.alerts(_occupancy(), 2000, wait_alert_s=600, store_ok=False)
    assert down[0]["kind"] == "store_unavailable" and down[0]["severity"] == "critical"
    assert stats.alerts({"branches": []}, 1, wait_alert_s=600) == []


def test_current_factor() -> None:
    branch = _occupancy()["branches"][0]  # type: ignore[index]
    assert stats.current_factor(branch) == pytest.approx(2.0)  # o1 (1) and o4 (3)
    assert stats.current_factor({"officers": []}) is None
