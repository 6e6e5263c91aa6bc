"""Declaring and dispatching commands: typed arguments, ``Command`` and the dispatcher."""
