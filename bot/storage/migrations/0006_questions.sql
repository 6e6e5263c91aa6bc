-- SUMO support-forum questions on the 72-hour clock, the Matrix users' forum names, and the
-- Discourse topics opened for consults. Times are epoch seconds (UTC).

-- One reminder or final notice listing every question that fell due at one poll. The batch and
-- its members are written before the message is sent, so a crash resends this batch (same outbox
-- key), never a new one that overlaps it.
CREATE TABLE sumo_batches (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    stage      TEXT NOT NULL CHECK (stage IN ('remind', 'final')),
    created_at REAL NOT NULL,
    event_id   TEXT,
    sent_at    REAL
);
CREATE INDEX sumo_batches_unsent ON sumo_batches (id) WHERE sent_at IS NULL;

-- Every Kitsune question seen by a poll. The window lives here as remind_at / deadline_at; the
-- first answer by someone other than the asker ends it (first_answer_*); a question that was
-- solved, locked, archived, marked spam or deleted first leaves the clock ('left').
CREATE TABLE sumo_questions (
    id                 INTEGER PRIMARY KEY,   -- Kitsune's question ID
    locale             TEXT NOT NULL,
    title              TEXT NOT NULL,
    asker              TEXT,                  -- SUMO username; NULL for a system account
    created_at         REAL NOT NULL,
    remind_at          REAL NOT NULL,
    deadline_at        REAL NOT NULL,
    state              TEXT NOT NULL DEFAULT 'open' CHECK (state IN ('open', 'answered', 'expired', 'left')),
    left_reason        TEXT,
    first_answer_at    REAL,
    first_answer_by    TEXT,                  -- SUMO username of the first helper
    answers_checked_to INTEGER NOT NULL DEFAULT 0,  -- the highest answer ID already read
    remind_batch       INTEGER REFERENCES sumo_batches (id),
    final_batch        INTEGER REFERENCES sumo_batches (id),
    taken_by           TEXT,                  -- Matrix user ID of the contributor who claimed it
    taken_until        REAL,
    first_seen_at      REAL NOT NULL
);
CREATE INDEX sumo_questions_open ON sumo_questions (deadline_at) WHERE state = 'open';
CREATE INDEX sumo_questions_by_created ON sumo_questions (created_at);
CREATE INDEX sumo_questions_by_first_answer ON sumo_questions (first_answer_at) WHERE first_answer_at IS NOT NULL;
CREATE INDEX sumo_questions_by_remind_batch ON sumo_questions (remind_batch) WHERE remind_batch IS NOT NULL;
CREATE INDEX sumo_questions_by_final_batch ON sumo_questions (final_batch) WHERE final_batch IS NOT NULL;

-- "!iam sumo NAME" / "!iam forum NAME": who a Matrix user is on the support forum and on Discourse.
-- A name belongs to one Matrix user at a time.
CREATE TABLE identity_links (
    matrix_user TEXT NOT NULL,
    service     TEXT NOT NULL CHECK (service IN ('sumo', 'forum')),
    username    TEXT NOT NULL,
    linked_at   REAL NOT NULL,
    PRIMARY KEY (matrix_user, service)
);
CREATE UNIQUE INDEX identity_links_by_username ON identity_links (service, username COLLATE NOCASE);

-- The Discourse topic of a consult. Title and body are stored so every retry sends the same post;
-- external_id is the marker that finds a topic whose creation answer was lost; in_doubt says an
-- attempt's outcome is unknown and the forum must be asked before creating again.
CREATE TABLE forum_topics (
    consult_id   INTEGER PRIMARY KEY,
    external_id  TEXT NOT NULL UNIQUE,
    requester    TEXT NOT NULL,               -- Matrix user ID
    room_id      TEXT NOT NULL,
    thread_root  TEXT,
    title        TEXT NOT NULL,
    raw          TEXT NOT NULL,
    state        TEXT NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'created', 'refused')),
    attempts     INTEGER NOT NULL DEFAULT 0,
    in_doubt     INTEGER NOT NULL DEFAULT 0,
    last_error   TEXT,
    topic_id     INTEGER,
    topic_url    TEXT,
    requested_at REAL NOT NULL,
    created_at   REAL,
    watch_until  REAL NOT NULL,
    answered_at  REAL,
    answered_by  TEXT                         -- forum username of the first answer
);
CREATE INDEX forum_topics_watched ON forum_topics (watch_until) WHERE state = 'created' AND answered_at IS NULL;
