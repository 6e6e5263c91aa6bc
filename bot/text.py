"""Text rules shared across layers: folding for comparison, and the shape of a word-list entry."""

from __future__ import annotations

import re
import unicodedata

_ENTRY_SHAPE = re.compile(r"#?\w+(?: \w+)*")


def folded(text: str) -> str:
    """Case and accents set aside: "Scheiße" and "SCHEISSE", "elección" and "eleccion"."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(character for character in decomposed if not unicodedata.combining(character))


def shortened(text: str, limit: int, *, one_line: bool = False) -> str:
    """``text`` for display in at most ``limit`` characters, the last of them "…" when it had to be cut.

    ``one_line``: every run of spaces and line breaks first reads as one space (a title, a list entry).
    """
    if one_line:
        text = " ".join(text.split())
    return text if len(text) <= limit else text[: max(limit - 1, 0)].rstrip() + "…"


def word_entry_problem(entry: str) -> str | None:
    """Why a ``!check`` word-list entry (shipped or from the config) could never match, or None."""
    if not _ENTRY_SHAPE.fullmatch(folded(" ".join(entry.lower().split()))):
        return f"{entry!r} is not a word, a #hashtag or words separated by spaces"
    return None


def without_lone_surrogates(text: str) -> str:
    """JSON may escape half a UTF-16 pair ("\\ud800"), which decodes to a str nothing can encode (the
    database refuses it); such a half becomes one U+FFFD (a whole pair left split is joined)."""
    if text.isascii():
        return text
    return text.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "replace")
