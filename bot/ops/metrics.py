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
        # Counted when the work is over, so "n more" of them means the work due by then was done
        # (the end-to-end tests wait for these before checking that nothing more came).
        self.scheduler_ticks = Counter("fxhelp_scheduler_ticks", "Scheduler ticks completed: the periodic jobs "
                                       "and all work due by then", registry=self.registry)
        self.forum_polls = Counter("fxhelp_forum_polls", "Polls of the forum (Discourse) that ended, by outcome "
                                   "(ok, failed, paused: the forum refuses the bot's key)", ["outcome"], registry=self.registry)
        self.sumo_polls = Counter("fxhelp_sumo_polls", "Polls of support.mozilla.org (Kitsune) that ended, by "
                                  "outcome (ok, failed)", ["outcome"], registry=self.registry)
        for polls, outcomes in ((self.forum_polls, ("ok", "failed", "paused")), (self.sumo_polls, ("ok", "failed"))):
            for outcome in outcomes:
                polls.labels(outcome=outcome)  # shown from the start, at 0

    def render(self) -> bytes:
        return generate_latest(self.registry)
