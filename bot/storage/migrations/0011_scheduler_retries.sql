-- The scheduler isolates failures (issue 12): a failing stage is moved later with a growing delay
-- (attempts counts its failures), and after a cap it leaves the schedule for schedule_parked, where
-- /healthz and the log report it and the loop no longer tries it. Planning the stage again, or
-- closing its item, removes it from there; a restart gives each parked stage one more try.
ALTER TABLE schedule ADD COLUMN attempts INTEGER NOT NULL DEFAULT 0;

CREATE TABLE schedule_parked (
    kind      TEXT NOT NULL,
    item_id   TEXT NOT NULL,
    stage     TEXT NOT NULL,
    due_at    REAL NOT NULL,
    attempts  INTEGER NOT NULL,
    error     TEXT NOT NULL,
    parked_at REAL NOT NULL,
    PRIMARY KEY (kind, item_id, stage)
) WITHOUT ROWID;
