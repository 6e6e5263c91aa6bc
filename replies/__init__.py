"""The shipped reply library, as package data: ``bot.shipped_replies`` once installed (see pyproject.toml)."""
