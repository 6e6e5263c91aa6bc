-- One row per common reply handed out by !reply, for !reply stats. Keyed by the command's event ID,
-- so a command handled a second time (a replayed sync batch after a crash) still counts once.
CREATE TABLE reply_usage (
    command_event_id TEXT PRIMARY KEY,
    reply_key        TEXT NOT NULL,
    locale           TEXT NOT NULL,
    user_id          TEXT NOT NULL,
    used_at          REAL NOT NULL
);
CREATE INDEX reply_usage_by_time ON reply_usage (used_at, reply_key);
