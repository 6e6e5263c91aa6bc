"""Reading the reply library from its YAML files and checking every field; every problem message is here.

The library is a folder of YAML files, one per topic:

    topic: sync
    title: Sync and Mozilla account
    replies:
      - key: sync-setup
        title: Set up Sync
        tags: [sync, devices]
        article: https://support.mozilla.org/kb/how-do-i-set-sync-my-computer
        text:
          en-US: ...
          es: ...
          de: ...
          fr: ...

A text holds neither the @handle, nor the link, nor #fxhelp: ``render_reply`` adds them. It names
Firefox's UI labels by reference (``{ui:troubleshoot-mode}``), resolved at load for every language
variety (es-ES, es-MX, de-CH…) from the glossary in ui-strings/ (see ``bot.features.replies.ui_strings``); a
subfolder is data, never a topic file.
Loading checks everything, collects every problem and raises one ``ReplyLibraryError``, so
a broken edit is reported in full and the bot can keep the last good library. Each text must also fit
on X, rendered in its tightest variety with the longest handle, with ``ROOM_TO_TAILOR`` to spare.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path
from types import MappingProxyType
from typing import Any
from urllib.parse import urlsplit

import yaml

from bot.features.replies.model import LOCALES, Reply, Topic
from bot.features.replies.render import FXHELP, HANDLE, render_reply
from bot.features.replies.ui_strings import UiStrings, varieties_of
from bot.features.x_text import X_LIMIT, emoji_count, has_fxhelp_hashtag, links_in
from bot.services.kitsune import SUMO_HOST

# Validation renders every text with the longest handle X allows: 15 characters, then the "@".
LONGEST_HANDLE = "@" + "x" * 15
# Characters every rendered reply leaves free, so that a volunteer can tailor it.
ROOM_TO_TAILOR = 20
MAX_EMOJI_PER_TEXT = 3

TOPIC_FIELDS = ("topic", "title", "replies")
REPLY_FIELDS = ("key", "title", "tags", "article", "text")
KEY_SHAPE = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*\Z")
# No locale segment: SUMO then serves the reader's own language.
ARTICLE_PATH_SHAPE = re.compile(r"/kb/[A-Za-z0-9][A-Za-z0-9._-]*/?\Z")

_MISSING = object()
# libyaml's loader when PyYAML was built with it: the same documents, parsed ten times faster.
_SAFE_YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class ReplyLibraryError(Exception):
    """The library could not be loaded; ``.problems`` names each file, key and field."""

    def __init__(self, problems: Iterable[str]):
        self.problems = list(problems)
        super().__init__(self.problems)

    def __str__(self) -> str:
        count = len(self.problems)
        heading = f"the reply library has {count} problem{'s' if count != 1 else ''}:"
        return "\n".join([heading, *(f"  - {problem}" for problem in self.problems)])


def read_library(path: Path) -> tuple[list[Topic], list[Reply]]:
    """The topics and replies of every ``*.yaml`` file in the folder ``path``; raise ``ReplyLibraryError``
    listing every problem found."""
    path = Path(path)
    problems: list[str] = []
    topics: list[Topic] = []
    replies: list[Reply] = []
    file_of_topic: dict[str, str] = {}
    file_of_key: dict[str, str] = {}
    ui_strings = UiStrings.load(path, problems)
    for file in _library_files(path, problems):
        label = f"{path.resolve().name}/{file.name}"
        loaded = _load_topic_file(file, label, ui_strings, problems)
        if loaded is None:
            continue
        topic, topic_replies = loaded
        _check_unique(topic.name, file_of_topic, label, f"{label}: field 'topic'", problems)
        for reply in topic_replies:
            where = f"{label}: reply {reply.key!r}: field 'key'"
            _check_unique(reply.key, file_of_key, label, where, problems)
        topics.append(topic)
        replies.extend(topic_replies)
    if problems:
        raise ReplyLibraryError(problems)
    return topics, replies


def _library_files(path: Path, problems: list[str]) -> list[Path]:
    if not path.is_dir():
        problems.append(f"{path}: not a folder of reply files")
        return []
    files = sorted(path.glob("*.yaml"))
    if not files:
        problems.append(f"{path}: has no *.yaml reply files")
    return files


def _check_unique(name: str, file_of: dict[str, str], label: str, where: str, problems: list[str]) -> None:
    if name in file_of:
        problems.append(f"{where} repeats {name!r}, already used in {file_of[name]}")
    else:
        file_of[name] = label


def _load_topic_file(
    file: Path, label: str, ui_strings: UiStrings, problems: list[str]
) -> tuple[Topic, list[Reply]] | None:
    document = _read_yaml(file, label, problems)
    if document is None:
        return None
    if not isinstance(document, dict):
        problems.append(f"{label}: must be a mapping with {', '.join(TOPIC_FIELDS)}, got {_kind(document)}")
        return None
    _report_unknown_fields(document, TOPIC_FIELDS, label, problems)
    name = _text_field(document, "topic", label, problems)
    if name is not None and not KEY_SHAPE.match(name):
        problems.append(f"{label}: field 'topic' must be lower-case words joined by dashes, got {name!r}")
    title = _text_field(document, "title", label, problems)
    raw_replies = _list_field(document, "replies", label, problems)
    replies = [
        reply
        for position, raw in enumerate(raw_replies or [], start=1)
        if (reply := _load_reply(raw, position, name or file.stem, label, ui_strings, problems)) is not None
    ]
    if name is None or title is None:
        return None
    return Topic(name, title, tuple(reply.key for reply in replies)), replies


def _read_yaml(file: Path, label: str, problems: list[str]) -> Any:
    try:
        text = file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        problems.append(f"{label}: cannot be read: {error}")
        return None
    try:
        document = yaml.load(text, Loader=_SAFE_YAML_LOADER)
    except yaml.YAMLError as error:
        problems.append(f"{label}: not valid YAML{_yaml_position(error)}: {_yaml_problem(error)}")
        return None
    if document is None:
        problems.append(f"{label}: is empty; expected {', '.join(TOPIC_FIELDS)}")
    return document


def _yaml_position(error: yaml.YAMLError) -> str:
    mark = getattr(error, "problem_mark", None)
    return f" (line {mark.line + 1}, column {mark.column + 1})" if mark else ""


def _yaml_problem(error: yaml.YAMLError) -> str:
    return getattr(error, "problem", None) or str(error).splitlines()[0]


def _load_reply(
    raw: Any, position: int, topic: str, label: str, ui_strings: UiStrings, problems: list[str]
) -> Reply | None:
    where = f"{label}: reply #{position}"
    if not isinstance(raw, dict):
        problems.append(f"{where}: must be a mapping with {', '.join(REPLY_FIELDS)}, got {_kind(raw)}")
        return None
    key = _text_field(raw, "key", where, problems)
    if key is not None:
        if KEY_SHAPE.match(key):
            where = f"{label}: reply {key!r}"
        else:
            problems.append(f"{where}: field 'key' must be lower-case words joined by dashes, got {key!r}")
            key = None
    before = len(problems)
    _report_unknown_fields(raw, REPLY_FIELDS, where, problems)
    title = _text_field(raw, "title", where, problems)
    tags = _tags_field(raw, where, problems)
    article = _article_field(raw, where, problems)
    texts = _texts_field(raw, where, ui_strings, problems)
    if len(problems) > before or None in (key, title, tags, article, texts):
        return None
    reply = Reply(key, topic, title, tags, article, MappingProxyType(texts))
    _check_rendered_lengths(reply, where, problems)
    return reply


def _report_unknown_fields(raw: dict, known: tuple[str, ...], where: str, problems: list[str]) -> None:
    for name in raw:
        if name not in known:
            problems.append(f"{where}: unknown field {str(name)!r} (expected {', '.join(known)})")


def _text_field(raw: dict, name: str, where: str, problems: list[str]) -> str | None:
    return _checked_text(raw.get(name, _MISSING), name, where, problems)


def _checked_text(value: Any, name: str, where: str, problems: list[str]) -> str | None:
    if value is _MISSING:
        problems.append(f"{where}: field {name!r} is missing")
    elif value is None or (isinstance(value, str) and not value.strip()):
        problems.append(f"{where}: field {name!r} is empty")
    elif not isinstance(value, str):
        problems.append(f"{where}: field {name!r} must be text, got {_kind(value)}")
    else:
        return value.strip()
    return None


def _list_field(raw: dict, name: str, where: str, problems: list[str]) -> list | None:
    value = raw.get(name, _MISSING)
    if value is _MISSING:
        problems.append(f"{where}: field {name!r} is missing")
    elif value is None or value == []:
        problems.append(f"{where}: field {name!r} is empty")
    elif not isinstance(value, list):
        problems.append(f"{where}: field {name!r} must be a list, got {_kind(value)}")
    else:
        return value
    return None


def _tags_field(raw: dict, where: str, problems: list[str]) -> tuple[str, ...] | None:
    values = _list_field(raw, "tags", where, problems)
    if values is None:
        return None
    tags = [_checked_text(value, f"tags[{index}]", where, problems) for index, value in enumerate(values)]
    if None in tags:
        return None
    return tuple(tag.lower() for tag in tags)


def _article_field(raw: dict, where: str, problems: list[str]) -> str | None:
    article = _text_field(raw, "article", where, problems)
    if article is None:
        return None
    parts = urlsplit(article)
    if parts.scheme != "https" or parts.netloc != SUMO_HOST or not ARTICLE_PATH_SHAPE.match(parts.path):
        problems.append(
            f"{where}: field 'article' must be a https://{SUMO_HOST}/kb/<article> link "
            f"without a locale, got {article!r}"
        )
        return None
    return article


def _texts_field(raw: dict, where: str, ui_strings: UiStrings, problems: list[str]) -> dict[str, str] | None:
    value = raw.get("text", _MISSING)
    if value is _MISSING:
        problems.append(f"{where}: field 'text' is missing")
        return None
    if not isinstance(value, dict):
        problems.append(f"{where}: field 'text' must map each locale to its text, got {_kind(value)}")
        return None
    for locale in value:
        if locale not in LOCALES:
            problems.append(
                f"{where}: field 'text' has unknown locale {str(locale)!r} (expected {', '.join(LOCALES)})"
            )
    texts = {
        locale: _checked_text(value.get(locale, _MISSING), f"text.{locale}", where, problems)
        for locale in LOCALES
    }
    if None in texts.values():
        return None
    resolved: dict[str, str] = {}
    for locale, text in texts.items():
        unresolved: dict[str, None] = {}
        for variety in varieties_of(locale):
            resolved[variety.name], missing = ui_strings.resolve(text, variety)
            unresolved.update(dict.fromkeys(missing))
        problems.extend(f"{where}: field 'text.{locale}': {problem}" for problem in unresolved)
        _check_text_content(resolved[locale], f"text.{locale}", where, problems)
    return resolved


def _check_text_content(text: str, name: str, where: str, problems: list[str]) -> None:
    if has_fxhelp_hashtag(text):
        problems.append(f"{where}: field {name!r} must not contain {FXHELP}: the renderer adds it")
    links = links_in(text)
    if links:
        problems.append(
            f"{where}: field {name!r} must not contain a link ({links[0].url!r}): the renderer adds the article"
        )
    if HANDLE.search(text):
        problems.append(f"{where}: field {name!r} must not contain an @handle: the renderer adds it")
    emoji = emoji_count(text)
    if emoji > MAX_EMOJI_PER_TEXT:
        problems.append(f"{where}: field {name!r} has {emoji} emoji; keep it to {MAX_EMOJI_PER_TEXT} at most")


def _check_rendered_lengths(reply: Reply, where: str, problems: list[str]) -> None:
    """Each text, in its tightest variety (the longest labels), must fit with ROOM_TO_TAILOR to spare."""
    for locale in LOCALES:
        # Varieties whose labels match share a text: measure each distinct text once.
        first_variety_of = {reply.texts[variety.name]: variety.name for variety in reversed(varieties_of(locale))}
        renderings = [(render_reply(reply, variety, LONGEST_HANDLE, reply.article), variety)
                      for variety in first_variety_of.values()]
        rendered, variety = min(renderings, key=lambda pair: pair[0].remaining)
        if rendered.remaining >= ROOM_TO_TAILOR:
            continue
        measured = (f"field 'text.{locale}' is {rendered.weighted_length} characters in {variety} when rendered "
                    f"with a {len(LONGEST_HANDLE)}-character @handle, the link and {FXHELP}")
        if rendered.remaining < 0:
            problems.append(f"{where}: {measured} (X allows {X_LIMIT}): cut {-rendered.remaining}")
        else:
            problems.append(f"{where}: {measured}, leaving {rendered.remaining} to tailor: keep "
                            f"{ROOM_TO_TAILOR} free (cut {ROOM_TO_TAILOR - rendered.remaining})")


def _kind(value: Any) -> str:
    names = {
        dict: "a mapping", list: "a list", str: "text", bool: "true/false", int: "a number", float: "a number"
    }
    return names.get(type(value), type(value).__name__)
