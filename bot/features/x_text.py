"""How X (Twitter) sees a post: its weighted length, its links and its hashtags.

X counts with twitter-text v3: a link counts 23 whatever its length, most Latin-script
characters count 1, CJK characters and emoji count 2. The ``twitter-text-parser`` package
implements those rules and ``parse_tweet`` is its reference entry point.

``weighted_length`` reuses that package's link extractor, emoji pattern and weight table,
but not ``parse_tweet`` itself: ``parse_tweet`` tries its 3,800-branch emoji pattern at every
character (over 1 ms for a 280-character post, more than the whole ``!check`` budget),
while an emoji can only start at a character that starts some emoji. Looking only there
gives the same count (the tests compare both on arbitrary text) in a fraction of the time.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from twitter_text import extract_urls_with_indices
from twitter_text.config import config as _twitter_text_config
from twitter_text.regexp.emoji import emoji as _EMOJI_PATTERN
from twitter_text.regexp.emoji import emoji_list as _EMOJI_LIST
from twitter_text.regexp.emoji import single_codepoint_emoji_ranges as _SINGLE_EMOJI_RANGES
from twitter_text.regexp.invalid_chars_group import invalid_chars_group as _INVALID_CHARS_GROUP
from twitter_text.regexp.invalid_domain_chars import invalid_domain_chars as _INVALID_DOMAIN_CHARS
from twitter_text.regexp.valid_cctld import valid_cctld as _VALID_CCTLD
from twitter_text.regexp.valid_gtld import valid_gtld as _VALID_GTLD

_WEIGHTS = _twitter_text_config["defaults"]  # twitter-text v3, what X uses

X_LIMIT = _WEIGHTS["max_weighted_tweet_length"]  # 280
LINK_WEIGHT = _WEIGHTS["transformed_url_length"]  # 23
_SCALE = _WEIGHTS["scale"]
_SCALED_LINK_WEIGHT = LINK_WEIGHT * _SCALE
_DEFAULT_WEIGHT = _WEIGHTS["default_weight"]  # emoji, and characters outside the ranges
# v3 gives every listed range one weight; unpacking fails loudly should that change.
(_RANGE_WEIGHT,) = {weight_range["weight"] for weight_range in _WEIGHTS["ranges"]}
_OUTSIDE_RANGES = re.compile(
    "[^"
    + "".join(f"{re.escape(chr(r['start']))}-{re.escape(chr(r['end']))}" for r in _WEIGHTS["ranges"])
    + "]"
)

# twitter-text's invalid characters: the Python port lists U+FFFE, U+FEFF and U+FFFF; the reference
# implementations (and X) also refuse the directional embeddings and overrides U+202A to U+202E.
_INVALID_CHARACTERS = re.compile(f"[{_INVALID_CHARS_GROUP}\u202a-\u202e]")
_LINE_ENDING = re.compile(r"\r\n|\r|\n")
# The one #fxhelp pattern: a hashtag as X reads one (fullwidth ＃ too; not a#fxhelp, &#fxhelp or #fxhelpers).
FXHELP_HASHTAG = re.compile(r"(?<![\w&#＃])[#＃]fxhelp(?!\w)", re.IGNORECASE)


def _emoji_starts() -> tuple[frozenset[str], frozenset[str], frozenset[str]]:
    """Where an emoji may start: a one-code-point emoji, or the first code point of a
    longer emoji followed by a code point that can come second in one."""
    singles = {chr(code) for low, high in _SINGLE_EMOJI_RANGES for code in range(low, high + 1)}
    sequences = [[chr(int(code, 16)) for code in entry.codepoint.split()] for entry in _EMOJI_LIST]
    firsts = {codes[0] for codes in sequences if len(codes) > 1}
    seconds = {codes[1] for codes in sequences if len(codes) > 1}
    return frozenset(singles), frozenset(firsts), frozenset(seconds)


def _emoji_candidate_pattern(starts: frozenset[str]) -> re.Pattern[str]:
    """A coarse superset of the emoji starts that ``re`` scans fast: the few below U+2000
    ("#", "*", digits for keycaps, "©", "®") and everything from the lowest start above."""
    low = sorted(character for character in starts if character < "\u2000")
    lowest_high = min(character for character in starts if character >= "\u2000")
    return re.compile(f"[{''.join(map(re.escape, low))}{re.escape(lowest_high)}-\U0010ffff]")


_SINGLE_EMOJI, _SEQUENCE_FIRSTS, _SEQUENCE_SECONDS = _emoji_starts()
_EMOJI_CANDIDATE = _emoji_candidate_pattern(_SINGLE_EMOJI | _SEQUENCE_FIRSTS)


# twitter-text's URL pattern backtracks over a run of dotted labels that ends in no top-level domain
# ("a." * n, "1.", "é.", "www."), once from every label: quadratic, a second for 400 characters.
# Before extraction the text is made harmless in place (same length, so indices hold): a dot that
# cannot be part of any domain X would count (no top-level domain within MAX_CHAIN labels after it)
# becomes "~", which URL paths accept as they accept "." and which no domain holds; a label longer
# than DNS allows gets a "~" every 63 characters. Ordinary text has neither, so its links are the
# same (tests/unit/test_x_text.py compares them with the package's on arbitrary text).
MAX_CHAIN = 10
_MAX_LABEL = 63
_DOMAIN_CHAR = f"[^{_INVALID_DOMAIN_CHARS.pattern}]"
_DOMAIN_RUN = re.compile(f"(?:{_DOMAIN_CHAR}|[._-])+")
_LONG_LABEL = re.compile(f"(?:{_DOMAIN_CHAR}|[_-]){{{_MAX_LABEL + 1},}}")
_LABEL_EDGE = re.compile(_DOMAIN_CHAR)
_NO_DOMAIN_AFTER = "@+＠"


def _alternatives(pattern: re.Pattern[str]) -> frozenset[str]:
    body = pattern.pattern.split("(?:(?:", 1)[1].split(")(?=", 1)[0]
    return frozenset(name.lower() for name in body.split("|"))


_TOP_LEVEL_DOMAINS = _alternatives(_VALID_GTLD) | _alternatives(_VALID_CCTLD)


def _chainable(label: str) -> bool:
    return bool(label) and bool(_LABEL_EDGE.fullmatch(label[0])) and bool(_LABEL_EDGE.fullmatch(label[-1]))


def _is_top_level(label: str, followed_by: str) -> bool:
    """Whether the label, or a start of it followed by what ends a top-level domain ("comé"), is one."""
    lowered = label.lower()
    if lowered.startswith("xn--"):
        return True
    ends = [k for k, c in enumerate(lowered) if k and not (c.isascii() and (c.isalnum() or c in "-+@"))]
    if any(lowered[:k] in _TOP_LEVEL_DOMAINS for k in ends):
        return True
    return lowered in _TOP_LEVEL_DOMAINS and not (followed_by != "" and followed_by in _NO_DOMAIN_AFTER)


def _run_defused(run: str, followed_by: str) -> str:
    labels = run.split(".")
    count = len(labels)
    # distance (in labels) from each label to the nearest label that can end a domain, going right
    far = MAX_CHAIN + 1
    distance = [far] * (count + 1)
    for index in range(count - 1, -1, -1):
        label = labels[index]
        after = followed_by if index == count - 1 else "."
        ends = (index >= 1 and _is_top_level(label, after) and _chainable(labels[index - 1])
                and "_" not in labels[index - 1])
        if ends:
            distance[index] = 0
        elif _chainable(label):
            distance[index] = min(far, distance[index + 1] + 1)
    pieces = [labels[0]]
    for index in range(1, count):
        useful = distance[index] < MAX_CHAIN  # a domain may start after it (a "." before one matters too)
        pieces.append(("." if useful else "~") + labels[index])
    return "".join(pieces)


def _for_extraction(text: str) -> str:
    text = _LONG_LABEL.sub(lambda m: "".join("~" if i and i % _MAX_LABEL == 0 else c for i, c in enumerate(m.group())), text)
    return _DOMAIN_RUN.sub(lambda m: _run_defused(m.group(), text[m.end():m.end() + 1]) if "." in m.group() else m.group(), text)


@dataclass(frozen=True)
class Link:
    """A link as X sees it, with or without a scheme (``mzl.la/x`` is a link too)."""

    url: str
    start: int
    end: int


def _as_x_reads_it(text: str) -> str:
    return _LINE_ENDING.sub("\n", unicodedata.normalize("NFC", text))


def links_in(text: str) -> list[Link]:
    """The links X would find in ``text`` (and count as 23 each)."""
    return [
        Link(url, entity["indices"][0], entity["indices"][1])
        for entity in extract_urls_with_indices(_for_extraction(text))
        for url in (text[entity["indices"][0]:entity["indices"][1]],)
    ]


def without_links(text: str, links: list[Link] | None = None) -> str:
    """``text`` with each link X would find (or each of ``links``, found in it before) replaced by a space."""
    for link in reversed(links_in(text) if links is None else links):
        text = f"{text[: link.start]} {text[link.end :]}"
    return text


def _emoji_at(text: str) -> dict[int, str]:
    """Same matches as the package's ``emoji.finditer(text)``, trying only possible starts."""
    found: dict[int, str] = {}
    resume_at = 0
    for candidate in _EMOJI_CANDIDATE.finditer(text):
        start = candidate.start()
        if start < resume_at or not _may_start_emoji(text, start):
            continue
        match = _EMOJI_PATTERN.match(text, start)
        if match:
            found[start] = match.group()
            resume_at = match.end()
    return found


def _may_start_emoji(text: str, index: int) -> bool:
    if text[index] in _SINGLE_EMOJI:
        return True
    return text[index] in _SEQUENCE_FIRSTS and text[index + 1 : index + 2] in _SEQUENCE_SECONDS


def _plain_weight(segment: str) -> int:
    outside = len(_OUTSIDE_RANGES.findall(segment))
    return (len(segment) - outside) * _RANGE_WEIGHT + outside * _DEFAULT_WEIGHT


@dataclass(frozen=True)
class Measured:
    """A text as X reads it (NFC, one kind of line ending), its links and its weighted length."""

    text: str
    links: list[Link]
    length: int


def measure(text: str) -> Measured:
    """Everything X counts in ``text``, with its links extracted once."""
    text = _as_x_reads_it(text)
    links = links_in(text)
    # Like parse_tweet: a link wins over an emoji starting at the same place, and an
    # entity starting inside one already counted is part of it.
    entity_at = {start: (start + len(emoji), _DEFAULT_WEIGHT) for start, emoji in _emoji_at(text).items()}
    for link in links:
        entity_at[link.start] = (link.start + len(link.url), _SCALED_LINK_WEIGHT)
    total = 0
    index = 0
    for start in sorted(entity_at):
        if start < index:
            continue
        end, weight = entity_at[start]
        total += _plain_weight(text[index:start]) + weight
        index = end
    total += _plain_weight(text[index:])
    return Measured(text, links, total // _SCALE)


def weighted_length(text: str) -> int:
    """The length X counts for ``text`` (twitter-text v3, the same as ``parse_tweet``)."""
    return measure(text).length


def invalid_characters(text: str) -> list[tuple[int, str]]:
    """The characters X refuses in a post (twitter-text's ``has_invalid_characters``: U+FFFE, U+FEFF,
    U+FFFF, U+202A to U+202E), each with its 1-based position among the code points of ``text``."""
    return [(match.start() + 1, match.group()) for match in _INVALID_CHARACTERS.finditer(text)]


def emoji_count(text: str) -> int:
    return len(_emoji_at(_as_x_reads_it(text)))


def has_fxhelp_hashtag(text: str) -> bool:
    """True when ``text`` carries #fxhelp as a real hashtag (any case; not ``a#fxhelp``,
    not ``#fxhelpers``). Fullwidth ＃ counts, as it does on X."""
    return FXHELP_HASHTAG.search(unicodedata.normalize("NFC", text)) is not None
