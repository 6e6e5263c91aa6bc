-- The moderators' dashboard (issue 16): one-time sign-in links sent by !dashboard, and the sessions
-- they start. A token is a public selector (the row's key) and a secret verifier of which only the
-- SHA-256 is kept; the verifier is compared in constant time after the row is found.
CREATE TABLE dashboard_links (
    selector      TEXT PRIMARY KEY,
    verifier_hash BLOB NOT NULL,
    user_id       TEXT NOT NULL,
    created_at    REAL NOT NULL,
    expires_at    REAL NOT NULL,
    used_at       REAL
);
CREATE INDEX dashboard_links_by_user ON dashboard_links (user_id) WHERE used_at IS NULL;

CREATE TABLE dashboard_sessions (
    selector      TEXT PRIMARY KEY,
    verifier_hash BLOB NOT NULL,
    user_id       TEXT NOT NULL,
    created_at    REAL NOT NULL,
    expires_at    REAL NOT NULL,
    ended_at      REAL
);
CREATE INDEX dashboard_sessions_by_user ON dashboard_sessions (user_id) WHERE ended_at IS NULL;

-- The dashboard's queue: unanswered consults by the end of their window.
CREATE INDEX consults_waiting ON consults (window_closes_at) WHERE first_answer_at IS NULL AND state != 'done';

-- The figures by period (bot/storage/figures.py) read only these columns: covering indexes let
-- SQLite count twelve weeks of a hundred thousand rows without visiting the tables.
CREATE INDEX consults_figures ON consults (opened_at, window_closes_at, first_answer_at, closed_at, state);
CREATE INDEX sumo_questions_figures ON sumo_questions (created_at, state, first_answer_at);
-- The top helpers (!top, the dashboard): first answers since a time, with who gave them.
CREATE INDEX consults_first_answers ON consults (first_answer_at, first_answer_by, requester)
    WHERE first_answer_at IS NOT NULL;
CREATE INDEX sumo_questions_first_answers ON sumo_questions (first_answer_at, first_answer_by)
    WHERE first_answer_at IS NOT NULL;
