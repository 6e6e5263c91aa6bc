"""Clients for the outside services the bot talks to (Bitly, SUMO, Discourse)."""
