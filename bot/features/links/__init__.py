"""Short mzl.la links: which links may be shortened, and the shortener."""
