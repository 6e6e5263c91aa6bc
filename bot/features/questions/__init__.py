"""SUMO support-forum questions on the 72-hour clock, and ``!take``."""
