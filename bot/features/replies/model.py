"""What a common reply is: a ``Reply`` in its ``Topic``, its texts per language, and the language to answer in.

These plain values are what every other module of the package reads or builds: ``loading`` makes them from
the YAML files, ``search`` and ``copies`` index them, ``render`` turns one into a post for X, and ``library``
holds them all behind its lookups.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from bot.features.replies.ui_strings import resolve_variety

LOCALES = ("en-US", "es", "de", "fr")  # the text languages of the YAML; VARIETIES are what !reply takes
DEFAULT_LOCALE = "en-US"


@dataclass(frozen=True)
class Reply:
    key: str
    topic: str
    title: str
    tags: tuple[str, ...]
    article: str
    texts: Mapping[str, str] = field(hash=False)  # variety (see VARIETIES) -> text, UI labels filled in


@dataclass(frozen=True)
class Topic:
    name: str
    title: str
    keys: tuple[str, ...]


def resolve_locale(
    requested: str | None, available: Iterable[str], default: str = DEFAULT_LOCALE
) -> tuple[str, bool]:
    """The variety to answer in (one of ``available``) and whether that is a fall-back to ``default``.

    "es" and "es-ES" give es-ES labels, "es-MX" es-MX, "es-CO" es-419; "de-CH" gives de-CH; "en-GB"
    gives "en-US" (see ``resolve_variety``)."""
    variety, fell_back = resolve_variety(requested, default)
    if variety in set(available):
        return variety, fell_back
    return default, True
