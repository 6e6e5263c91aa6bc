"""``!check``: what to fix in a draft before it goes out on X (with its word lists), and the words of its answers."""
