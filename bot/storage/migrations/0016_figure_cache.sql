-- Figures of settled periods (issue 16: the dashboard under 50 ms with 200,000 rows in its 12 weeks):
-- consult counts by day, consult medians and question figures by week, first answers per helper by week.
-- bot/storage/figure_cache.py keeps here what bot/storage/figures.py computed for a period that can
-- no longer change with time alone (a day in the past whose consults' windows have all closed;
-- a week of first answers). Such a period's figures can still change through its rows (a late
-- answer, a consult closed with !done, a question that expired): the triggers below delete the
-- entry of every period a written row belongs to, before or after the write, in the writer's own
-- transaction, whoever writes. So an entry is always what the computation would give now.
-- (The row a REPLACE conflict deletes fires no DELETE trigger without recursive_triggers: consults and
-- sumo_questions are never written with INSERT OR REPLACE.)
CREATE TABLE figure_cache (
    kind       TEXT NOT NULL CHECK (kind IN ('consults', 'consult_medians', 'questions', 'consult_helpers',
                                         'question_helpers')),
    start      REAL NOT NULL,
    stop       REAL NOT NULL,
    valid_from REAL NOT NULL,   -- used only from then on (a clock set back sees it computed again)
    figures    TEXT NOT NULL,   -- JSON, exactly as computed
    PRIMARY KEY (kind, start, stop)
);

-- Consults are counted by opened_at (the weekly figures) and by first_answer_at (the top helpers).
CREATE TRIGGER figure_cache_consult_added AFTER INSERT ON consults BEGIN
    DELETE FROM figure_cache WHERE kind IN ('consults', 'consult_medians') AND start <= NEW.opened_at
        AND NEW.opened_at < stop;
    DELETE FROM figure_cache WHERE kind = 'consult_helpers' AND start <= NEW.first_answer_at
        AND NEW.first_answer_at < stop;
END;
CREATE TRIGGER figure_cache_consult_changed
    AFTER UPDATE OF opened_at, window_closes_at, first_answer_at, closed_at, state ON consults BEGIN
    DELETE FROM figure_cache WHERE kind IN ('consults', 'consult_medians')
        AND ((start <= OLD.opened_at AND OLD.opened_at < stop)
        OR (start <= NEW.opened_at AND NEW.opened_at < stop));
END;
CREATE TRIGGER figure_cache_consult_answered AFTER UPDATE OF first_answer_at, first_answer_by, requester ON consults BEGIN
    DELETE FROM figure_cache WHERE kind = 'consult_helpers'
        AND ((start <= OLD.first_answer_at AND OLD.first_answer_at < stop)
             OR (start <= NEW.first_answer_at AND NEW.first_answer_at < stop));
END;
CREATE TRIGGER figure_cache_consult_removed AFTER DELETE ON consults BEGIN
    DELETE FROM figure_cache WHERE kind IN ('consults', 'consult_medians') AND start <= OLD.opened_at
        AND OLD.opened_at < stop;
    DELETE FROM figure_cache WHERE kind = 'consult_helpers' AND start <= OLD.first_answer_at
        AND OLD.first_answer_at < stop;
END;

-- Forum questions are counted by created_at and, for the top helpers, by first_answer_at (per SUMO
-- username: the link to a Matrix user is looked up when the figures are read, not kept here).
CREATE TRIGGER figure_cache_question_added AFTER INSERT ON sumo_questions BEGIN
    DELETE FROM figure_cache WHERE kind = 'questions' AND start <= NEW.created_at AND NEW.created_at < stop;
    DELETE FROM figure_cache WHERE kind = 'question_helpers' AND start <= NEW.first_answer_at
        AND NEW.first_answer_at < stop;
END;
CREATE TRIGGER figure_cache_question_changed AFTER UPDATE OF created_at, state, first_answer_at ON sumo_questions BEGIN
    DELETE FROM figure_cache WHERE kind = 'questions' AND ((start <= OLD.created_at AND OLD.created_at < stop)
        OR (start <= NEW.created_at AND NEW.created_at < stop));
END;
CREATE TRIGGER figure_cache_question_answered AFTER UPDATE OF first_answer_at, first_answer_by ON sumo_questions BEGIN
    DELETE FROM figure_cache WHERE kind = 'question_helpers'
        AND ((start <= OLD.first_answer_at AND OLD.first_answer_at < stop)
             OR (start <= NEW.first_answer_at AND NEW.first_answer_at < stop));
END;
CREATE TRIGGER figure_cache_question_removed AFTER DELETE ON sumo_questions BEGIN
    DELETE FROM figure_cache WHERE kind = 'questions' AND start <= OLD.created_at AND OLD.created_at < stop;
    DELETE FROM figure_cache WHERE kind = 'question_helpers' AND start <= OLD.first_answer_at
        AND OLD.first_answer_at < stop;
END;

-- The top helpers' fresh part counts per helper over a range of first answers without sorting every row.
CREATE INDEX consults_by_helper ON consults (first_answer_by, first_answer_at, requester)
    WHERE first_answer_at IS NOT NULL;
