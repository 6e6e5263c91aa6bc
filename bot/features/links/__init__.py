"""Short mzl.la links: which links may be shortened, the shortener, and the words of !shorten's answers."""
