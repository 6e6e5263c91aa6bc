"""fxhelp-bot: the Matrix teammate of Mozilla Social Support."""

__version__ = "0.1.0"
