-- Consults: a contributor asks the community how to answer a tweet; the 72-hour window starts.
-- command_event_id is unique so a replayed command never opens a second consult.
-- Times are epoch seconds (UTC). A consult's reminder and expiry live in the schedule table.
CREATE TABLE consults (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    requester        TEXT NOT NULL,
    room_id          TEXT NOT NULL,
    command_event_id TEXT NOT NULL UNIQUE,
    thread_event_id  TEXT,
    tweet_url        TEXT NOT NULL,
    thoughts         TEXT NOT NULL,
    state            TEXT NOT NULL DEFAULT 'open' CHECK (state IN ('open', 'answered', 'expired', 'done')),
    opened_at        REAL NOT NULL,
    window_closes_at REAL NOT NULL,
    first_answer_at  REAL,
    first_answer_by  TEXT,
    closed_at        REAL,
    closed_by        TEXT
);
-- Every message in a thread asks "is this thread a consult?".
CREATE INDEX consults_by_thread ON consults (thread_event_id) WHERE thread_event_id IS NOT NULL;
-- !consults lists newest first; stats and similar-consult checks read a period of openings.
CREATE INDEX consults_by_opened ON consults (opened_at);
-- !top counts first answers in a period.
CREATE INDEX consults_by_first_answer ON consults (first_answer_at) WHERE first_answer_at IS NOT NULL;
