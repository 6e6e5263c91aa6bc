"""The Matrix layer: the homeserver connection, event shapes, sync, rooms, moderators, sending and
safe rich text. The only package that imports matrix-nio."""
