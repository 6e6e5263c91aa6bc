"""Prometheus metrics, on a registry of the bot's own (no process-wide state)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.commands = Counter(
            "fxhelp_commands", "Commands handled, by command and outcome", ["command", "outcome"],
            registry=self.registry,
        )
        self.errors = Counter("fxhelp_errors", "Unexpected errors, by where they happened", ["kind"],
                              registry=self.registry)
        self.reply_latency = Histogram(
            "fxhelp_reply_latency_seconds", "From a command reaching the bot to its answer being sent",
            buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10), registry=self.registry,
        )
        self.sync_lag = Gauge("fxhelp_sync_lag_seconds", "Age of the newest command when it was handled",
                              registry=self.registry)
        self.last_sync = Gauge("fxhelp_last_sync_timestamp_seconds", "When the last sync succeeded",
                               registry=self.registry)
        self.scheduled_sent = Counter("fxhelp_scheduled_messages", "Scheduled messages sent, by kind",
                                      ["kind"], registry=self.registry)
        self.scheduled_retries = Counter("fxhelp_scheduled_retries", "Scheduled work that failed and was moved "
                                         "later, by kind", ["kind"], registry=self.registry)
        self.scheduled_parked = Counter("fxhelp_scheduled_parked", "Scheduled work parked after repeated "
                                        "failures, by kind", ["kind"], registry=self.registry)

    def render(self) -> bytes:
        return generate_latest(self.registry)
