-- mzl.la links already made, by normalised long URL: Bitly is asked once per URL, ever.
-- Only successes are stored; a failed attempt leaves no row, so the next request asks again.
CREATE TABLE short_links (
    long_url   TEXT PRIMARY KEY,
    short_url  TEXT NOT NULL,
    created_at REAL NOT NULL
);
