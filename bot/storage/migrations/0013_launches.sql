-- Launch-day lists: people who asked to hear when a release is out (issue 17).
-- A launch is keyed by its release label (lower-cased); its launch time lives in the schedule table
-- (kind 'launch'), the thread it started here. Times are epoch seconds (UTC).
CREATE TABLE launches (
    release         TEXT PRIMARY KEY,
    label           TEXT NOT NULL,
    state           TEXT NOT NULL DEFAULT 'collecting' CHECK (state IN ('collecting', 'scheduled', 'launched')),
    created_at      REAL NOT NULL,
    launch_at       REAL,
    scheduled_by    TEXT,
    launched_at     REAL,
    thread_event_id TEXT
);
-- One person of one list. number is the person's number within the list (!launch done 150 3);
-- chunk is the message of the launch thread that carries the entry, fixed at launch so a restart
-- posts the same messages again (never other ones); posted_at is when that message was sent (a late
-- add posts only the chunks not yet posted, so it does not depend on outbox rows, which are pruned).
CREATE TABLE launch_entries (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    release          TEXT NOT NULL REFERENCES launches (release),
    number           INTEGER NOT NULL,
    network          TEXT NOT NULL,
    handle           TEXT NOT NULL,
    handle_key       TEXT NOT NULL,
    post_key         TEXT NOT NULL,
    post_url         TEXT NOT NULL,
    locale           TEXT NOT NULL,
    added_by         TEXT NOT NULL,
    added_at         REAL NOT NULL,
    command_event_id TEXT NOT NULL,
    chunk            INTEGER,
    posted_at        REAL,
    done_at          REAL,
    done_by          TEXT,
    UNIQUE (release, number),
    UNIQUE (release, handle_key),
    UNIQUE (release, post_key)
);
