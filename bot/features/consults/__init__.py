"""Consults: a tweet put to the community on a 72-hour clock, in the room and on the forum."""
