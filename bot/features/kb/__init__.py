"""!kb: support.mozilla.org's knowledge base searched for some words (service), and its answers (messages)."""
