-- Escalations to the moderators: one row per escalation #N (N is the row id).
-- The command's event ID is unique, so a replayed !escalate never opens a second one.
-- link is the first link as typed (for display); link_key is its normalised form, for spotting a
-- second report of the same post.
CREATE TABLE escalations (
    id                  INTEGER PRIMARY KEY,
    requester           TEXT NOT NULL,
    room_id             TEXT NOT NULL,
    command_event_id    TEXT NOT NULL UNIQUE,
    thread_root         TEXT,
    description         TEXT NOT NULL,
    link                TEXT,
    link_key            TEXT,
    reason              TEXT NOT NULL CHECK (reason IN ('trending', 'no-kb', 'paid', 'brand', 'other')),
    state               TEXT NOT NULL DEFAULT 'open' CHECK (state IN ('open', 'acknowledged', 'resolved')),
    created_at          REAL NOT NULL,
    moderators_event_id TEXT,
    acknowledged_by     TEXT,
    acknowledged_at     REAL,
    resolved_by         TEXT,
    resolved_at         REAL,
    resolution_note     TEXT
);
CREATE INDEX escalations_by_link ON escalations (link_key, state) WHERE link_key IS NOT NULL;
CREATE INDEX escalations_by_state ON escalations (state, created_at);
CREATE INDEX escalations_by_time ON escalations (created_at);

-- Who reported each escalation, the first requester included: one row per person (a second report
-- by the same person does not count twice), with the command to answer when it is acknowledged
-- or resolved.
CREATE TABLE escalation_reports (
    escalation_id    INTEGER NOT NULL REFERENCES escalations (id),
    reporter         TEXT NOT NULL,
    room_id          TEXT NOT NULL,
    command_event_id TEXT NOT NULL UNIQUE,
    thread_root      TEXT,
    reported_at      REAL NOT NULL,
    PRIMARY KEY (escalation_id, reporter)
);
