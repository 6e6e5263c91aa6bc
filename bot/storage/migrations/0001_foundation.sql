-- Small facts the bot keeps about itself: the Matrix session, the sync token, first start.
CREATE TABLE bot_state (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

-- Commands already answered, so a replayed sync batch never answers twice.
CREATE TABLE handled_events (
    event_id   TEXT PRIMARY KEY,
    room_id    TEXT NOT NULL,
    handled_at REAL NOT NULL
);
CREATE INDEX handled_events_by_time ON handled_events (handled_at);

-- Every message the scheduler promised, by (kind, item, stage): written before sending with its
-- transaction ID, completed with the event ID once the homeserver accepted it.
CREATE TABLE outbox (
    key        TEXT PRIMARY KEY,
    txn_id     TEXT NOT NULL,
    room_id    TEXT NOT NULL,
    created_at REAL NOT NULL,
    event_id   TEXT,
    sent_at    REAL
);

-- Due work of every kind: one row per (kind, item, stage); the scheduler asks for due_at <= now.
CREATE TABLE schedule (
    kind    TEXT NOT NULL,
    item_id TEXT NOT NULL,
    stage   TEXT NOT NULL,
    due_at  REAL NOT NULL,
    PRIMARY KEY (kind, item_id, stage)
) WITHOUT ROWID;
CREATE INDEX schedule_by_due ON schedule (due_at);
