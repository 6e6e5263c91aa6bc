"""Firefox's own UI labels in the common replies, and the language varieties they are resolved for.

A reply's text names a Firefox label by reference instead of typing it: ``{ui:troubleshoot-mode}`` (an
alias of replies/ui-strings/wanted.yaml) or ``{ui:appmenu-help-enter-troubleshoot-mode2}`` (the message
ID itself). The glossary (replies/ui-strings/glossary.yaml, written by scripts/update_ui_strings.py from
Firefox's .ftl files) holds each label per Firefox locale. ``{product:focus}`` names a product whose name
differs by country (products.yaml, hand-kept with its sources).

One Spanish text serves every Spanish speaker and one German text every German speaker; a *variety* says
which Firefox locale's labels and which country's product names to fill in.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Any

import yaml

UI_STRINGS_FOLDER = "ui-strings"
GLOSSARY_FILE = "glossary.yaml"
PRODUCTS_FILE = "products.yaml"
REFERENCE = re.compile(r"\{(?P<kind>[a-z]+):(?P<name>[A-Za-z0-9._-]+)\}")
ANY_BRACE = re.compile(r"[{}]")
# libyaml's loader when PyYAML was built with it: the glossary is read at every start and reload.
_SAFE_YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


@dataclass(frozen=True)
class Variety:
    name: str  # what ``!reply <key> <variety>`` accepts, e.g. "es-MX"
    text_locale: str  # the library text used: en-US, es, de or fr
    label_locale: str  # the Firefox locale whose labels fill the text
    country: str | None  # for product names that differ by country
    swiss_spelling: bool = False  # Swiss Standard German writes "ss" for "ß"


VARIETIES: Mapping[str, Variety] = MappingProxyType({
    variety.name: variety
    for variety in (
        Variety("en-US", "en-US", "en-US", None),
        Variety("es", "es", "es-ES", "ES"),
        Variety("es-ES", "es", "es-ES", "ES"),
        Variety("es-MX", "es", "es-MX", "MX"),
        Variety("es-419", "es", "es-MX", None),
        Variety("es-AR", "es", "es-AR", "AR"),
        Variety("es-CL", "es", "es-CL", "CL"),
        Variety("de", "de", "de", "DE"),
        Variety("de-DE", "de", "de", "DE"),
        Variety("de-AT", "de", "de", "AT"),
        Variety("de-CH", "de", "de", "CH", swiss_spelling=True),
        Variety("fr", "fr", "fr", None),
    )
})
BASE_VARIETIES = ("en-US", "es", "de", "fr")  # one per text language: what search indexes
LATIN_AMERICAN_SPANISH = "es-419"


class UiStrings:
    """The glossary and the product names of one reply library folder."""

    def __init__(self, labels: Mapping[str, Mapping[str, str]], ids: Mapping[str, str],
                 products: Mapping[str, Mapping[str, str]]):
        self._labels = labels  # alias -> label locale -> value
        self._alias_of_id = ids  # "message-id" and "message-id.attribute" -> alias
        self._products = products  # product -> country or "default" -> name

    @classmethod
    def load(cls, library_folder: Path, problems: list[str]) -> UiStrings:
        folder = library_folder / UI_STRINGS_FOLDER
        glossary = _read(folder / GLOSSARY_FILE, problems) or {}
        labels: dict[str, dict[str, str]] = {}
        ids: dict[str, str] = {}
        for alias, per_locale in (glossary.get("strings") or {}).items():
            labels[alias] = {locale: entry["value"] for locale, entry in per_locale.items()}
            for entry in per_locale.values():
                ids.setdefault(entry["id"], alias)
                ids.setdefault(entry["id"].split(".")[0], alias)
        products = _read(folder / PRODUCTS_FILE, problems) or {}
        return cls(labels, ids, {name: entry["names"] for name, entry in products.items()})

    def resolve(self, text: str, variety: Variety) -> tuple[str, list[str]]:
        """``text`` with every reference filled in for ``variety``, and what could not be resolved."""
        problems: list[str] = []

        def fill(match: re.Match) -> str:
            kind, name = match["kind"], match["name"]
            value = self._label(name, variety) if kind == "ui" else self._product(name, variety) if kind == "product" else None
            if value is None:
                problems.append(self._why_unresolved(kind, name, variety))
                return match[0]
            return value

        prose = [_spelled(part, variety) for part in REFERENCE.split(text)[::3]]
        filled = [fill(match) for match in REFERENCE.finditer(text)]
        leftover = ANY_BRACE.search("".join(prose))
        if leftover:
            problems.append(f"a stray {leftover[0]!r}: references are written {{ui:name}} or {{product:name}}")
        return "".join(part for pair in zip(prose, filled + [""], strict=False) for part in pair), problems

    def _label(self, name: str, variety: Variety) -> str | None:
        alias = name if name in self._labels else self._alias_of_id.get(name)
        return self._labels[alias].get(variety.label_locale) if alias else None

    def _product(self, name: str, variety: Variety) -> str | None:
        names = self._products.get(name)
        if names is None:
            return None
        return names.get(f"{variety.text_locale}-{variety.country}") or names.get(variety.text_locale) or names.get("default")

    def _why_unresolved(self, kind: str, name: str, variety: Variety) -> str:
        if kind == "ui" and (name in self._labels or name in self._alias_of_id):
            return (f"UI string {{ui:{name}}} has no {variety.label_locale} value in "
                    f"{UI_STRINGS_FOLDER}/{GLOSSARY_FILE} (needed for {variety.name})")
        if kind == "ui":
            return f"unknown UI string {{ui:{name}}}: not in {UI_STRINGS_FOLDER}/{GLOSSARY_FILE}"
        if kind == "product":
            return f"unknown product {{product:{name}}}: not in {UI_STRINGS_FOLDER}/{PRODUCTS_FILE}"
        return f"unknown reference {{{kind}:{name}}}: only ui: and product: exist"


def varieties_of(text_locale: str) -> list[Variety]:
    return [variety for variety in VARIETIES.values() if variety.text_locale == text_locale]


def resolve_variety(requested: str | None, default: str) -> tuple[str, bool]:
    """The variety to answer in and whether that is a fall-back to ``default``.

    "es-MX" is es-MX; another Latin American Spanish ("es-CO", "es-US") is es-419; "de-LI" is de;
    "en-GB" is en-US; "fr-CA" is fr; a language we lack falls back."""
    if not requested or not requested.strip():
        return default, False
    wanted = requested.strip().replace("_", "-").lower()
    by_lower_case = {name.lower(): name for name in VARIETIES}
    if wanted in by_lower_case:
        return by_lower_case[wanted], False
    language, _, region = wanted.partition("-")
    if language == "es" and region:
        return LATIN_AMERICAN_SPANISH, False
    for name in BASE_VARIETIES:
        if name.lower().split("-")[0] == language:
            return name, False
    return default, True


def _spelled(prose: str, variety: Variety) -> str:
    return prose.replace("ß", "ss") if variety.swiss_spelling else prose


def _read(path: Path, problems: list[str]) -> Any:
    label = f"{path.parent.name}/{path.name}"
    try:
        return yaml.load(path.read_text(encoding="utf-8"), Loader=_SAFE_YAML_LOADER)
    except FileNotFoundError:
        return None  # a library without references needs none; a reference then names what is missing
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as error:
        problems.append(f"{label}: cannot be read: {error}")
    return None
