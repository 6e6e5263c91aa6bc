"""Splitting a command line into words, and the typed arguments commands declare.

The tokenizer accepts "double", 'single' and “curly” quotes, tolerates a quote left open (the rest
is one word) and never raises: whatever a user types becomes words or a usage answer.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from bot.matrix.rendering import echo

_QUOTES = {'"': '"', "'": "'", "“": "”", "„": "“", "«": "»", "‘": "’"}


def split_words(text: str) -> list[str]:
    return [word_ for word_, _ in _tokens(text)]


def _tokens(text: str) -> list[tuple[str, int]]:
    """Each word and where it starts in ``text`` (at its opening quote, if quoted)."""
    words: list[tuple[str, int]] = []
    current: list[str] = []
    start: int | None = None
    closing: str | None = None
    for index, char in enumerate(text):
        if closing is not None:
            if char == closing or (closing == "”" and char == '"'):
                closing = None
            else:
                current.append(char)
            continue
        if char.isspace():
            if start is not None:
                words.append(("".join(current), start))
                current, start = [], None
            continue
        if start is None:
            start = index
        if char in _QUOTES and not current:
            closing = _QUOTES[char]
            continue
        current.append(char)
    if start is not None:
        words.append(("".join(current), start))
    return words


class UsageError(Exception):
    """The user typed the command wrong; the message says how, and usage follows it."""


@dataclass(frozen=True)
class Arg:
    """One declared argument: its name in usage lines, how it converts, whether it may be left out.

    ``greedy`` takes every remaining word (joined by spaces, or the raw rest of the line when
    ``raw`` is set, so drafts keep their exact spacing and quotes).

    ``trailing`` (after a greedy argument, and always optional): the last word of the line is this
    argument when it converts (``"new logo complaints" brand``), and stays in the greedy one when it
    does not; left out, it takes its default. Should it be the only word, the greedy argument, when
    required, is missing: the answer says so.
    """

    name: str
    convert: Callable[[str], Any] = str
    optional: bool = False
    greedy: bool = False
    raw: bool = False
    default: Any = None
    help: str = ""
    choices: tuple[str, ...] = field(default=())
    trailing: bool = False

    def usage(self) -> str:
        label = "|".join(self.choices) if self.choices else self.name
        label = f"{label} ..." if self.greedy and not self.raw else label
        return f"[{label}]" if self.optional else f"<{label}>"


def word(name: str, *, optional: bool = False, default: Any = None, help: str = "",
         convert: Callable[[str], Any] = str, trailing: bool = False) -> Arg:
    """One word; ``convert`` raises UsageError for a word that is not one (see ``Arg.trailing``)."""
    return Arg(name, convert=convert, optional=optional or trailing, default=default, help=help, trailing=trailing)


def text(name: str, *, optional: bool = False, help: str = "") -> Arg:
    """The raw rest of the line, exactly as typed."""
    return Arg(name, optional=optional, greedy=True, raw=True, default="" if optional else None, help=help)


def words(name: str, *, optional: bool = False, help: str = "") -> Arg:
    """Every remaining word, as a list (quoted words stay whole)."""
    return Arg(name, optional=optional, greedy=True, default=[] if optional else None, help=help)


def integer(name: str, *, optional: bool = False, default: int | None = None, minimum: int = 1,
            maximum: int | None = None, help: str = "") -> Arg:
    def convert(value: str) -> int:
        cleaned = value.lstrip("#")
        if not re.fullmatch(r"\d{1,9}", cleaned):
            raise UsageError(f"{name} must be a whole number, not {echo(value)!r}")
        number = int(cleaned)
        if number < minimum or (maximum is not None and number > maximum):
            bound = f"between {minimum} and {maximum}" if maximum is not None else f"at least {minimum}"
            raise UsageError(f"{name} must be {bound}")
        return number

    return Arg(name, convert=convert, optional=optional, default=default, help=help)


def choice(name: str, options: Sequence[str], *, optional: bool = False, default: str | None = None,
           help: str = "", trailing: bool = False) -> Arg:
    def convert(value: str) -> str:
        lowered = value.lower()
        if lowered not in options:
            raise UsageError(f"{name} must be one of: {', '.join(options)} (not {echo(value)!r})")
        return lowered

    return Arg(name, convert=convert, optional=optional or trailing, default=default, help=help,
               choices=tuple(options), trailing=trailing)


def parse_arguments(args: Sequence[Arg], rest: str) -> dict[str, Any]:
    """Match the words after the command name to its declared arguments; raises UsageError."""
    values: dict[str, Any] = {}
    raw_rest = rest.strip()
    tokens = _tokens(raw_rest)
    remaining = [word_ for word_, _ in tokens]
    for index, arg in enumerate(args):
        if arg.name in values:  # a trailing argument, already taken from the end
            continue
        if arg.trailing:
            raise TypeError(f"{arg.name} is trailing but follows no greedy argument")
        if arg.greedy:
            # Where each remaining word starts in raw_rest (a suffix of the line: only words before it
            # were dropped), for cutting trailing words off its end.
            offset = len(rest.strip()) - len(raw_rest)
            starts = [start - offset for _, start in tokens[len(tokens) - len(remaining):]]
            remaining, raw_rest = _take_trailing(arg, args[index + 1:], remaining, starts, raw_rest, values)
            if arg.raw:
                value: Any = raw_rest
            else:
                value = [arg.convert(w) for w in remaining]
            remaining, raw_rest = [], ""
            if not value:
                if not arg.optional:
                    raise UsageError(f"{arg.name} is missing")
                value = arg.default
            values[arg.name] = value
            continue
        if not remaining:
            if not arg.optional:
                raise UsageError(f"{arg.name} is missing")
            values[arg.name] = arg.default
            continue
        word_ = remaining.pop(0)
        raw_rest = _drop_first_word(raw_rest)
        values[arg.name] = arg.convert(word_)
    if remaining:
        raise UsageError(f"too many words: {echo(' '.join(remaining))!r}")
    return values


def _take_trailing(greedy: Arg, after: Sequence[Arg], remaining: list[str], starts: list[int], raw_rest: str,
                   values: dict[str, Any]) -> tuple[list[str], str]:
    """Take the trailing arguments declared after ``greedy`` off the end of the line, last first."""
    for tail in reversed(after):
        if not tail.trailing:
            raise TypeError(f"{tail.name} follows the greedy {greedy.name} but is not trailing")
        values[tail.name] = tail.default
        if not remaining:
            continue
        try:
            value = tail.convert(remaining[-1])
        except UsageError:
            continue  # not one: the word belongs to the greedy argument
        if len(remaining) == 1 and not greedy.optional:
            raise UsageError(f"{echo(remaining[-1])!r} is the {tail.name}; put the {greedy.name} before it")
        values[tail.name] = value
        raw_rest = raw_rest[:starts[len(remaining) - 1]].rstrip()
        remaining = remaining[:-1]
    return remaining, raw_rest


def _drop_first_word(raw: str) -> str:
    """The raw text after its first (possibly quoted) word."""
    stripped = raw.lstrip()
    if stripped and stripped[0] in _QUOTES:
        closing = _QUOTES[stripped[0]]
        closers = (closing, '"') if closing == "”" else (closing,)  # as split_words closes “…"
        ends = [end for end in (stripped.find(c, 1) for c in closers) if end >= 0]
        return stripped[min(ends) + 1:].lstrip() if ends else ""
    parts = stripped.split(None, 1)
    return parts[1] if len(parts) > 1 else ""
