-- Outside services read as they really answer (issue 11).

-- SUMO: the sweep that last listed a question (its start time). A sweep may be spread over several
-- polls; at its end, the open questions it did not list are asked about one by one.
ALTER TABLE sumo_questions ADD COLUMN last_listed_at REAL;

-- Discourse: a topic held for a moderator's review. Discourse answers such a create with
-- {"action": "enqueued", "pending_post": {"id": ...}} and no topic; the topic exists only once the
-- review approves it. held_post_id is that pending post's ID (state stays 'pending': nothing is
-- posted again while it is set); held_at is when Discourse took it.
ALTER TABLE forum_topics ADD COLUMN held_post_id INTEGER;
ALTER TABLE forum_topics ADD COLUMN held_at REAL;
