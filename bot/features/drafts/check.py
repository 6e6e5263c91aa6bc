"""``!check``: what to fix in a draft before it goes out on X with #fxhelp.

Only what the Social Support guidelines ask for is flagged, never style: the length as X
counts it, #fxhelp, long Mozilla links, political or controversial words, rudeness,
shouting, and pasting a common reply instead of tailoring it. Any text gives findings,
never an exception: HTML, markdown, invisible or right-to-left characters, huge drafts.
Findings are plain strings; escaping them for Matrix is the sender's job.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import yaml

from bot.features.links.policy import DEFAULT_ALLOWED_HOSTS, is_allowed_host
from bot.features.replies.library import ReplyLibrary
from bot.features.x_text import (
    LINK_WEIGHT,
    X_LIMIT,
    Measured,
    has_fxhelp_hashtag,
    invalid_characters,
    measure,
    without_links,
)
from bot.text import folded as fold
from bot.text import without_lone_surrogates, word_entry_problem

CHECK_WORDS_FILE = Path(__file__).parent / "check_words.yaml"

SHORT_LINK_HOSTS = ("mzl.la",)

SHOUTING_MIN_LETTERS = 12
SHOUTING_MIN_SHARE = 0.7
# Written in capitals by nature, so they do not make a draft shout.
ACRONYMS = frozenset(
    """AI AMO API CPU CSS DM DNS DOH DRM ETP FAQ GPU HTML HTTP HTTPS ID IOS IP ISP KB MDN
    OK OS PC PDF RAM SSL SUMO TLS UI URL USB VPN VR""".split()
)

_TOKEN = re.compile(r"(#?)(\w+)")
_HANDLE_OR_HASHTAG = re.compile(r"[@#]\w+")
_WORD = re.compile(r"\w+")


@dataclass(frozen=True)
class Finding:
    rule: str
    problem: str
    fix: str


@dataclass(frozen=True)
class CheckRules:
    political: tuple[str, ...]  # words, phrases and #hashtags
    profanity: tuple[str, ...]
    # A link to these is a long Mozilla link to shorten: the hosts ``!shorten`` accepts, so the advice holds.
    link_hosts: tuple[str, ...] = DEFAULT_ALLOWED_HOSTS
    _political_words: _WordList = field(init=False, repr=False, compare=False)
    _profane_words: _WordList = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        # Built once here rather than on every check; raises ValueError naming a bad entry.
        object.__setattr__(self, "political", tuple(self.political))
        object.__setattr__(self, "profanity", tuple(self.profanity))
        object.__setattr__(self, "link_hosts", tuple(self.link_hosts))
        object.__setattr__(self, "_political_words", _WordList(self.political))
        object.__setattr__(self, "_profane_words", _WordList(self.profanity))

    def _political_found(self, tokens: list[_Token]) -> list[str]:
        return self._political_words.found_in(tokens)

    def _profanity_found(self, tokens: list[_Token]) -> list[str]:
        return self._profane_words.found_in(tokens)


def default_check_rules(political: Iterable[str] = (), profanity: Iterable[str] = (),
                        link_hosts: Iterable[str] = DEFAULT_ALLOWED_HOSTS) -> CheckRules:
    """The shipped lists (bot/features/drafts/check_words.yaml), every language together, with the given
    entries added (the config's ``check:`` extends the shipped lists; it does not replace them)."""
    document = yaml.safe_load(CHECK_WORDS_FILE.read_text(encoding="utf-8"))
    return CheckRules(
        political=_entries(document, "political") + tuple(political),
        profanity=_entries(document, "profanity") + tuple(profanity),
        link_hosts=tuple(link_hosts),
    )


def _entries(document: dict, category: str) -> tuple[str, ...]:
    by_language = document.get(category) or {}
    return tuple(str(entry) for entries in by_language.values() for entry in entries or [])


@dataclass(frozen=True)
class Assessment:
    findings: list[Finding]
    length: int  # as X counts it


def assess_draft(draft: str, rules: CheckRules, library: ReplyLibrary | None) -> Assessment:
    """Everything to fix in ``draft`` (none when it is good to post) and its length. The draft is
    measured once: its links are extracted once and every rule reads that one measure."""
    draft = without_lone_surrogates(draft)
    measured = measure(draft)
    visible = _visible_text(draft)
    visible_without_links = _visible_text(without_links(measured.text, measured.links))
    tokens = _tokens(visible)
    checks = (
        _check_length(measured),
        _check_invalid_characters(draft),
        _check_hashtag(draft),
        _check_long_links(measured, rules.link_hosts),
        _check_political(rules._political_found(tokens)),
        _check_profanity(rules._profanity_found(tokens)),
        _check_shouting(visible_without_links),
        _check_copy(visible_without_links, library),
    )
    return Assessment([finding for finding in checks if finding is not None], measured.length)


def check_draft(draft: str, rules: CheckRules, library: ReplyLibrary | None) -> list[Finding]:
    """Everything to fix in ``draft``, or an empty list when it is good to post."""
    return assess_draft(draft, rules, library).findings


def draft_length(draft: str) -> int:
    """The draft's length as X counts it (whatever characters it holds)."""
    return measure(without_lone_surrogates(draft)).length


# ---- the rules --------------------------------------------------------------------------


def _check_length(measured: Measured) -> Finding | None:
    length = measured.length
    if length <= X_LIMIT:
        return None
    return Finding(
        "length",
        f"{length} characters as X counts them; X allows {X_LIMIT}.",
        f"Cut {length - X_LIMIT} characters. On X every link counts {LINK_WEIGHT} whatever "
        "its length, and emoji and CJK characters count 2.",
    )


def _check_invalid_characters(draft: str) -> Finding | None:
    found = invalid_characters(draft)
    if not found:
        return None
    shown = ", ".join(f"{_character_name(character)} at position {position}" for position, character in found[:5])
    more = f" and {len(found) - 5} more" if len(found) > 5 else ""
    return Finding(
        "invalid-character",
        f"X refuses posts with {shown}{more}.",
        "Delete those invisible characters (they often come along when copying from a PDF or "
        "another app): retype the text around them or paste it as plain text.",
    )


def _character_name(character: str) -> str:
    code = f"U+{ord(character):04X}"
    name = unicodedata.name(character, "")
    return f"{code} {name}" if name else f"{code} (a noncharacter)"


def _check_hashtag(draft: str) -> Finding | None:
    if has_fxhelp_hashtag(draft):
        return None
    return Finding(
        "hashtag",
        "#fxhelp is missing.",
        "Add #fxhelp (8 characters with its space), e.g. at the end: every Social Support reply carries it.",
    )


def _check_long_links(measured: Measured, link_hosts: tuple[str, ...]) -> Finding | None:
    long_links = [link.url for link in measured.links if _is_long_mozilla_link(link.url, link_hosts)]
    if not long_links:
        return None
    return Finding(
        "long-link",
        f"Mozilla link not shortened: {', '.join(long_links)}",
        f"Use an mzl.la link instead. On X it saves no characters (every link counts "
        f"{LINK_WEIGHT}), but it reads better, is trusted as Mozilla's and counts clicks: "
        f"!shorten {' '.join(long_links)}",
    )


def _check_political(found: list[str]) -> Finding | None:
    if not found:
        return None
    return Finding(
        "political",
        f"Political or controversial: {', '.join(found)}",
        "Leave these out and answer only the Firefox question. If the post is about "
        "Mozilla itself or current events, escalate instead (!escalate <url> brand).",
    )


def _check_profanity(found: list[str]) -> Finding | None:
    if not found:
        return None
    return Finding(
        "profanity",
        f"Rude or offensive: {', '.join(_masked(words) for words in found)}",
        "Take them out: stay friendly and calm, even when the user isn't.",
    )


def _check_shouting(visible: str) -> Finding | None:
    upper, cased = _letter_case_counts(visible)
    if cased < SHOUTING_MIN_LETTERS or upper < SHOUTING_MIN_SHARE * cased:
        return None
    return Finding(
        "shouting",
        f"Mostly capitals ({round(100 * upper / cased)}% of the letters): it reads as shouting.",
        "Write in normal sentence case; acronyms like VPN or PDF are fine.",
    )


def _check_copy(visible_without_links: str, library: ReplyLibrary | None) -> Finding | None:
    reply = library.near_copy(visible_without_links, links_removed=True) if library is not None else None
    if reply is None:
        return None
    return Finding(
        "copy",
        f"This is the common reply '{reply.key}' pasted as it is.",
        "Tailor it to the user: answer in their words, mention what they told you, and "
        "keep only the steps that fit their case.",
    )


# ---- reading words ----------------------------------------------------------------------


@dataclass(frozen=True)
class _Token:
    word: str  # folded
    is_hashtag: bool


def _visible_text(draft: str) -> str:
    """Compatibility forms unified (fullwidth and styled letters become plain ones) and
    invisible format characters removed (zero-width spaces, soft hyphens, direction
    marks), so that a word split by one of them still reads as that word."""
    normalized = unicodedata.normalize("NFKC", draft)
    return "".join(character for character in normalized if unicodedata.category(character) != "Cf")


def _tokens(visible: str) -> list[_Token]:
    return [_Token(word, bool(hash_sign)) for hash_sign, word in _TOKEN.findall(fold(visible))]


class _WordList:
    """Whole-word matching of words, #hashtags and phrases, case and accents folded.
    Each table maps the folded form to the entry as the list writes it."""

    def __init__(self, entries: tuple[str, ...]):
        self._words: dict[str, str] = {}
        self._hashtags: dict[str, str] = {}
        self._phrases: dict[str, str] = {}
        self._longest_phrase = 1
        for entry in entries:
            self._add(entry)

    def _add(self, entry: str) -> None:
        written = " ".join(entry.lower().split())
        if (problem := word_entry_problem(entry)) is not None:
            raise ValueError(problem)
        folded = fold(written)
        if folded.startswith("#"):
            self._hashtags.setdefault(folded[1:], written[1:])
        elif " " in folded:
            self._phrases.setdefault(folded, written)
            self._longest_phrase = max(self._longest_phrase, len(folded.split()))
        else:
            self._words.setdefault(folded, written)

    def found_in(self, tokens: list[_Token]) -> list[str]:
        """Entries found among ``tokens`` (hashtags with their "#"), first seen first."""
        found: dict[str, None] = {}
        for position, token in enumerate(tokens):
            entry = self._words.get(token.word) or (token.is_hashtag and self._hashtags.get(token.word))
            if entry:
                found[f"#{entry}" if token.is_hashtag else entry] = None
            for length in range(2, self._longest_phrase + 1):
                phrase = " ".join(t.word for t in tokens[position : position + length])
                if phrase in self._phrases:
                    found[self._phrases[phrase]] = None
        return list(found)


# ---- helpers ----------------------------------------------------------------------------


def _masked(words: str) -> str:
    """Shown as "f**k" for "fuck": recognisable for the contributor, not repeated in full."""
    return " ".join(_masked_word(word) for word in words.split())


def _masked_word(word: str) -> str:
    prefix, letters = ("#", word[1:]) if word.startswith("#") else ("", word)
    if len(letters) <= 2:
        return prefix + letters[:1] + "*" * (len(letters) - 1)
    return prefix + letters[0] + "*" * (len(letters) - 2) + letters[-1]


def _letter_case_counts(visible_without_links: str) -> tuple[int, int]:
    """Upper-case letters and cased letters, leaving out @handles, #hashtags and acronyms."""
    text = _HANDLE_OR_HASHTAG.sub(" ", visible_without_links)
    upper = cased = 0
    for word in _WORD.findall(text):
        if word.upper() in ACRONYMS:
            continue
        for character in word:
            if character.isupper():
                upper += 1
                cased += 1
            elif character.islower():
                cased += 1
    return upper, cased


def _is_long_mozilla_link(url: str, link_hosts: tuple[str, ...]) -> bool:
    host = _host(url)
    return host not in SHORT_LINK_HOSTS and is_allowed_host(host, link_hosts)


def _host(url: str) -> str:
    try:
        return urlsplit(url if "://" in url else f"https://{url}").hostname or ""
    except ValueError:  # e.g. a malformed IPv6 literal
        return ""
