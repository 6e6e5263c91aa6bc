"""Is this draft a pasted common reply? The near-copy index behind ``!check`` and ``ReplyLibrary.near_copy``.

``!check`` asks a volunteer to tailor a common reply pasted as it is, naming the reply. What a paste
shares with its reply is the wording: handles, #fxhelp, links, case, spacing and invisible characters
are set aside on both sides before comparing (``_copy_fingerprint``).
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable

from rapidfuzz import fuzz, process

from bot.features.replies.model import Reply
from bot.features.replies.render import HANDLE
from bot.features.replies.ui_strings import BASE_VARIETIES
from bot.features.x_text import FXHELP_HASHTAG, without_links


def _copy_fingerprint(text: str, links_removed: bool = False) -> str:
    """``text`` reduced to what a copy would share: no @handles, #fxhelp or links,
    invisible characters dropped, case and spacing folded."""
    text = unicodedata.normalize("NFKC", text)
    text = "".join(character for character in text if unicodedata.category(character) != "Cf")
    text = text if links_removed else without_links(text)
    text = FXHELP_HASHTAG.sub(" ", HANDLE.sub(" ", text))
    return " ".join(text.casefold().split())


class CopyIndex:
    """Every text of every reply, fingerprinted once at load.

    ``fuzz.ratio`` (whole-text edit-distance similarity) rather than a partial or token
    scorer: a draft that adds its own sentences to a reply, or rewrites it, must fall
    below the threshold, and only a paste with small edits stays above it."""

    def __init__(self, replies: Iterable[Reply]):
        self._fingerprints: list[str] = []
        self._owners: list[Reply] = []
        for reply in replies:
            # One text per language: a variety differs from it only in a few labels, which a near copy
            # (ratio >= the threshold) absorbs, and indexing every variety would triple the load time.
            for variety in BASE_VARIETIES:
                if variety in reply.texts:
                    self._fingerprints.append(_copy_fingerprint(reply.texts[variety]))
                    self._owners.append(reply)

    def find(self, draft: str, threshold: int, links_removed: bool = False) -> Reply | None:
        fingerprint = _copy_fingerprint(draft, links_removed)
        if not fingerprint:
            return None
        match = process.extractOne(
            fingerprint, self._fingerprints, scorer=fuzz.ratio, processor=None, score_cutoff=threshold
        )
        return self._owners[match[2]] if match else None
