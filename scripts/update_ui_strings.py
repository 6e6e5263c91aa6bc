#!/usr/bin/env python3
"""Regenerate replies/ui-strings/glossary.yaml from Firefox's own localisation files.

The common replies name Firefox UI labels by reference ({ui:alias}); this script reads every string
listed in replies/ui-strings/wanted.yaml from local checkouts of

  * mozilla-l10n/firefox-l10n-source (en-US; the same files as gecko-strings), given as --source, and
  * mozilla-l10n/firefox-l10n (one folder per locale), given as --l10n,

and writes each string's value per locale with the file, message ID and commit it came from. Run it
after pulling both checkouts; one run updates every reply in every language when Firefox renames a
label. It never fetches anything (CI does not run it); `make test` then checks that every reply still
resolves.

    python scripts/update_ui_strings.py --source ~/src/firefox-l10n-source --l10n ~/src/firefox-l10n

The commit of each file is the last commit that touched it (`git log -1 -- <file>`). A checkout that is
not a git work tree (files exported one by one) can say where each file came from with --commits, a
tab-separated file of `<path under the checkout>\t<commit>` lines.

Needs fluent.syntax (pip install '.[l10n]'); the bot itself does not.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import yaml
from fluent.syntax import FluentParser, ast

REPO_ROOT = Path(__file__).resolve().parent.parent
UI_STRINGS = REPO_ROOT / "replies" / "ui-strings"
SOURCE_REPOSITORY = "mozilla-l10n/firefox-l10n-source"
L10N_REPOSITORY = "mozilla-l10n/firefox-l10n"
LOCALES = ("es-ES", "es-MX", "es-AR", "es-CL", "de", "fr")
SOURCE_LOCALE = "en-US"
BRAND_FILES = ("browser/branding/official/brand.ftl", "toolkit/toolkit/branding/brandings.ftl",
               "toolkit/toolkit/branding/accounts.ftl")


class ExtractionError(Exception):
    pass


@dataclass(frozen=True)
class Wanted:
    alias: str
    file: str
    ids: tuple[str, ...]
    attribute: str | None
    fallback: Wanted | None


class Checkout:
    """One repository on disk: en-US files at the top, or one folder per locale."""

    def __init__(self, root: Path, repository: str, commits: dict[str, str]):
        self.root = root
        self.repository = repository
        self._commits = commits
        self._is_git = (root / ".git").exists()
        self._parsed: dict[str, ast.Resource | None] = {}

    def resource(self, relative: str) -> ast.Resource | None:
        if relative not in self._parsed:
            path = self.root / relative
            self._parsed[relative] = (
                FluentParser(with_spans=False).parse(path.read_text(encoding="utf-8")) if path.is_file() else None
            )
        return self._parsed[relative]

    def commit_of(self, relative: str) -> str:
        if self._is_git:
            found = subprocess.run(["git", "-C", str(self.root), "log", "-1", "--format=%H", "--", relative],
                                   capture_output=True, text=True, check=True).stdout.strip()
            if found:
                return found
        if relative in self._commits:
            return self._commits[relative]
        raise ExtractionError(f"{self.root / relative}: no commit known (not in git, not in --commits)")


def read_wanted(path: Path) -> list[Wanted]:
    document = yaml.safe_load(path.read_text(encoding="utf-8"))
    return [_wanted(alias, entry) for alias, entry in document.items()]


def _wanted(alias: str, entry: dict) -> Wanted:
    ids = entry["id"] if isinstance(entry["id"], list) else [entry["id"]]
    fallback = _wanted(alias, entry["fallback"]) if entry.get("fallback") else None
    return Wanted(alias, entry["file"], tuple(ids), entry.get("attribute"), fallback)


def brand_terms(checkout: Checkout, prefix: str = "") -> dict[str, ast.Pattern]:
    terms: dict[str, ast.Pattern] = {}
    for file in BRAND_FILES:
        resource = checkout.resource(prefix + file)
        for entry in resource.body if resource else ():
            if isinstance(entry, ast.Term):
                terms[entry.id.name] = entry.value
    return terms


def text_of(pattern: ast.Pattern, terms: dict[str, ast.Pattern], messages: dict[str, ast.Message]) -> str:
    """The text a user sees: brand terms filled in, platform variants at their default."""
    parts: list[str] = []
    for element in pattern.elements:
        if isinstance(element, ast.TextElement):
            parts.append(element.value)
        else:
            parts.append(_placeable_text(element.expression, terms, messages))
    return "".join(parts).strip()


def _placeable_text(expression, terms, messages) -> str:
    if isinstance(expression, ast.StringLiteral):
        return expression.parse()["value"]
    if isinstance(expression, ast.TermReference) and expression.id.name in terms:
        return text_of(terms[expression.id.name], terms, messages)
    if isinstance(expression, ast.MessageReference) and expression.id.name in messages:
        message = messages[expression.id.name]
        value = _attribute(message, expression.attribute.name) if expression.attribute else message.value
        if value is not None:
            return text_of(value, terms, messages)
    if isinstance(expression, ast.SelectExpression):
        default = next(variant for variant in expression.variants if variant.default)
        return text_of(default.value, terms, messages)
    if isinstance(expression, ast.Placeable):
        return _placeable_text(expression.expression, terms, messages)
    raise ExtractionError(f"cannot turn {type(expression).__name__} into fixed text")


def _attribute(message: ast.Message, name: str) -> ast.Pattern | None:
    return next((attribute.value for attribute in message.attributes if attribute.id.name == name), None)


def extract(wanted: Wanted, checkout: Checkout, prefix: str, terms) -> dict | None:
    """{value, id, file, commit} for one locale, or None when its copy has none of the IDs."""
    resource = checkout.resource(prefix + wanted.file)
    messages = {entry.id.name: entry for entry in resource.body if isinstance(entry, ast.Message)} if resource else {}
    for message_id in wanted.ids:
        message = messages.get(message_id)
        if message is None:
            continue
        pattern = _attribute(message, wanted.attribute) if wanted.attribute else message.value
        if pattern is None:
            raise ExtractionError(f"{prefix}{wanted.file}: {message_id} has no {wanted.attribute or 'value'}")
        return {"value": text_of(pattern, terms, messages), "id": message_id + (f".{wanted.attribute}" if wanted.attribute else ""),
                "file": wanted.file, "commit": checkout.commit_of(prefix + wanted.file)}
    if wanted.fallback is not None:
        return extract(wanted.fallback, checkout, prefix, terms)
    return None


def build_glossary(wanted: list[Wanted], source: Checkout, l10n: Checkout, locales: tuple[str, ...]) -> dict:
    source_terms = brand_terms(source)
    strings: dict[str, dict] = {}
    missing: list[str] = []
    for entry in wanted:
        values = {}
        found = extract(entry, source, "", source_terms)
        if found is None:
            raise ExtractionError(f"en-US has none of {', '.join(entry.ids)} in {entry.file}")
        values[SOURCE_LOCALE] = found
        for locale in locales:
            terms = {**source_terms, **brand_terms(l10n, f"{locale}/")}
            found = extract(entry, l10n, f"{locale}/", terms)
            if found is None:
                missing.append(f"{entry.alias} ({locale})")
            else:
                values[locale] = found
        strings[entry.alias] = values
    return {
        "repositories": {SOURCE_LOCALE: SOURCE_REPOSITORY, **{locale: L10N_REPOSITORY for locale in locales}},
        "strings": strings,
        "missing": missing,
    }


HEADER = """\
# Firefox's own UI labels, per locale, for the common replies ({ui:alias} in a reply's text).
# GENERATED by scripts/update_ui_strings.py from replies/ui-strings/wanted.yaml: do not edit by hand.
# Each value names the .ftl file, the message ID (.attribute) and the commit it was read at; the
# repository of each locale is under `repositories`. `missing` lists strings a locale's copy lacks:
# a reply in that language must not name them.
"""


def write_glossary(glossary: dict, out: Path) -> None:
    body = yaml.safe_dump(glossary, allow_unicode=True, sort_keys=False, width=110)
    out.write_text(HEADER + body, encoding="utf-8")


def read_commits(path: Path | None) -> dict[str, str]:
    if path is None:
        return {}
    pairs = (line.split("\t") for line in path.read_text(encoding="utf-8").splitlines() if line.strip())
    return {relative: commit.strip() for relative, commit in pairs}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source", type=Path, required=True, help="checkout of firefox-l10n-source (en-US)")
    parser.add_argument("--l10n", type=Path, required=True, help="checkout of firefox-l10n")
    parser.add_argument("--commits", type=Path, help="tab-separated path/commit lines for a non-git --l10n")
    parser.add_argument("--locales", nargs="+", default=list(LOCALES))
    parser.add_argument("--wanted", type=Path, default=UI_STRINGS / "wanted.yaml")
    parser.add_argument("--out", type=Path, default=UI_STRINGS / "glossary.yaml")
    args = parser.parse_args(argv)
    try:
        glossary = build_glossary(
            read_wanted(args.wanted),
            Checkout(args.source, SOURCE_REPOSITORY, {}),
            Checkout(args.l10n, L10N_REPOSITORY, read_commits(args.commits)),
            tuple(args.locales),
        )
    except ExtractionError as error:
        print(f"update_ui_strings: {error}", file=sys.stderr)
        return 1
    write_glossary(glossary, args.out)
    print(f"wrote {args.out}: {len(glossary['strings'])} strings, {len(glossary['missing'])} missing per locale")
    return 0


if __name__ == "__main__":
    sys.exit(main())
