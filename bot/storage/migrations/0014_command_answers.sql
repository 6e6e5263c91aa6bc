-- Which answer belongs to which command (issue 15): an edit of the command re-runs it and edits
-- this answer, a redaction of the command redacts it. Kept in the database so it works after a
-- restart. command is NULL for an unknown command; answer_plain/answer_html are the answer as it
-- now reads (the base of the one line added when an edit cannot be applied).
CREATE TABLE command_answers (
    command_event_id TEXT PRIMARY KEY,
    room_id          TEXT NOT NULL,
    sender           TEXT NOT NULL,
    thread_root      TEXT,
    command_sent_at  REAL NOT NULL,
    command          TEXT,
    has_effects      INTEGER NOT NULL,
    answer_event_id  TEXT NOT NULL,
    answer_plain     TEXT NOT NULL,
    answer_html      TEXT NOT NULL,
    answered_at      REAL NOT NULL,
    last_edit_at     REAL,            -- origin time of the latest edit applied: an older one loses
    edit_refused     INTEGER NOT NULL DEFAULT 0,
    redacted         INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX command_answers_by_time ON command_answers (answered_at);
