-- A ✅ on a message of a launch thread marks the people in it answered (issue 17).
-- event_id: the thread message that carries the entry (the outbox rows that also know it are pruned).
-- done_event_id: the command or ✅ reaction that marked the entry answered, so that event, handled
-- again after a crash, finds what it marked instead of marking nothing.
ALTER TABLE launch_entries ADD COLUMN event_id TEXT;
ALTER TABLE launch_entries ADD COLUMN done_event_id TEXT;
-- Lists launched before this migration: their messages' event IDs from the outbox, where still kept.
UPDATE launch_entries SET event_id = (
    SELECT outbox.event_id FROM outbox
    WHERE outbox.key = 'launch:' || launch_entries.release || ':chunk:' || launch_entries.chunk
) WHERE chunk IS NOT NULL AND posted_at IS NOT NULL;
CREATE INDEX launch_entries_by_event ON launch_entries (event_id);
