"""Escalations to the moderators: opening, the one re-ping, taking and closing, and their words."""
