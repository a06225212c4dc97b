"""Prometheus metrics of one server process (prometheus_client, own registry per app)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.metrics_core import CounterMetricFamily, Metric
from prometheus_client.registry import Collector

from booth_server.core.model import Visit
from booth_server.stats import current_factor

BOOTH_STATES = ("offline", "idle", "queued", "offered", "in_session", "out_of_service")
OFFICER_STATUSES = ("offline", "available", "paused", "not_responding")
LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)
WAIT_BUCKETS = (10, 30, 60, 120, 300, 600, 900, 1200, 1800, 3600)
HANDLE_BUCKETS = (60, 120, 300, 600, 900, 1200, 1800, 2700, 3600)


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.events = Counter(
            "lapak_events", "Client events handled", ["namespace", "event", "result"], registry=r
        )
        self.connected = Gauge("lapak_connected_clients", "Connected clients", ["role"],
                               registry=r)
        self.store_up = Gauge("lapak_store_up", "1 when the state store answers", registry=r)
        self.store_up.set(1)
        self.dispatch_latency = Histogram(
            "lapak_dispatch_latency_seconds", "Booth ready (or requeue) to officer offer",
            buckets=LATENCY_BUCKETS, registry=r,
        )
        self.relayed = Counter("lapak_signals_relayed", "WebRTC signals relayed", ["direction"],
                               registry=r)
        self.visits = Counter("lapak_visits", "Finished visits by outcome", ["branch", "outcome"],
                              registry=r)
        self.wait = Histogram("lapak_waiting_time_seconds", "Participant wait, ready to start",
                              ["branch"], buckets=WAIT_BUCKETS, registry=r)
        self.handle = Histogram("lapak_handling_time_seconds", "Session start to end",
                                ["branch"], buckets=HANDLE_BUCKETS, registry=r)
        self.booths = Gauge("lapak_booths", "Booths by state", ["branch", "state"], registry=r)
        self.officer_load = Gauge("lapak_officer_load", "Sessions plus offers held",
                                  ["branch", "officer"], registry=r)
        self.officer_capacity = Gauge("lapak_officer_capacity", "Officer capacity",
                                      ["branch", "officer"], registry=r)
        self.officers = Gauge("lapak_officers", "Officers by status", ["branch", "status"],
                              registry=r)
        self.queue_length = Gauge("lapak_queue_length", "Sessions waiting for an officer",
                                  ["branch"], registry=r)
        self.queue_oldest = Gauge("lapak_queue_oldest_wait_seconds", "Oldest queued wait",
                                  ["branch"], registry=r)
        self.documents = Counter("lapak_documents", "Documents uploaded", ["kind"], registry=r)
        # One to Many: live sessions per working officer now (avg_over_time gives a period's
        # average) and today's time-average as `GET /api/stats` computes it.
        self.sessions = Gauge("lapak_sessions_live", "Live sessions (booths in session)",
                              ["branch"], registry=r)
        self.factor_now = Gauge(
            "lapak_one_to_many_current", "Live sessions per working officer now", ["branch"],
            registry=r,
        )
        self.factor_today = Gauge(
            "lapak_one_to_many_factor",
            "Today's time-average of live sessions per officer while working", ["branch"],
            registry=r,
        )

    def watch_store(self, store: object) -> None:
        """Export the store's contention counters (the Redis store keeps them)."""
        if hasattr(store, "conflicts"):
            self.registry.register(_StoreContention(store))

    def observe_visit(self, visit: Visit) -> None:
        self.visits.labels(visit.branch, visit.outcome or visit.reason).inc()
        if visit.wait_s is not None:
            self.wait.labels(visit.branch).observe(visit.wait_s)
        if visit.handle_s is not None:
            self.handle.labels(visit.branch).observe(visit.handle_s)

    def update_occupancy(self, occupancy: dict[str, Any]) -> None:
        for branch in occupancy["branches"]:
            bid = branch["id"]
            counts = dict.fromkeys(BOOTH_STATES, 0)
            for booth in branch["booths"]:
                counts[booth["state"]] += 1
            for state, count in counts.items():
                self.booths.labels(bid, state).set(count)
            statuses = dict.fromkeys(OFFICER_STATUSES, 0)
            for officer in branch["officers"]:
                statuses[officer["status"]] += 1
                self.officer_load.labels(bid, officer["id"]).set(officer["load"])
                self.officer_capacity.labels(bid, officer["id"]).set(officer["capacity"])
            for status, count in statuses.items():
                self.officers.labels(bid, status).set(count)
            self.queue_length.labels(bid).set(branch["queue"]["length"])
            self.factor_now.labels(bid).set(current_factor(branch) or 0)
            self.sessions.labels(bid).set(counts["in_session"])
            self.queue_oldest.labels(bid).set(branch["queue"]["oldest_wait_s"])

    def set_factor(self, branch: str, factor: float | None) -> None:
        self.factor_today.labels(branch).set(factor if factor is not None else 0)

    def exposition(self) -> bytes:
        return generate_latest(self.registry)


class _StoreContention(Collector):
    """Transactions that ran again because another process changed the branch first, and
    waits for a branch's lease: how much the processes get in each other's way."""

    def __init__(self, store: object) -> None:
        self.store = store

    def collect(self) -> Iterator[Metric]:
        yield CounterMetricFamily(
            "lapak_store_conflicts", "Transactions run again on a branch another process "
            "changed first", value=getattr(self.store, "conflicts", 0),
        )
        yield CounterMetricFamily(
            "lapak_store_lease_waits", "Transactions that queued for a branch's lease",
            value=getattr(self.store, "lease_waits", 0),
        )
