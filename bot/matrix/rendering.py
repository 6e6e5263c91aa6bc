"""Safe rich text: every message is built from fragments that carry both plain text and HTML.

Plain strings added to a fragment are user text: they are HTML-escaped, and ``@room`` is defused in
both forms, so nothing a user typed can inject markup or ping a room. Only ``mention`` makes a pill,
and it records the user ID for ``m.mentions``.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from bot.text import shortened

# A word joiner after "@" keeps the text readable but stops "@room" from matching any push rule.
# Push rules match "@room" in any case.
_ROOM_PING = re.compile(r"@(?=room)", re.IGNORECASE)
_ROOM_PING_DEFUSED = "@\u2060"


# User text quoted back inside an answer ("not 'xyz'", "no command !xyz") is cut to this many
# characters: one answer must stay far below Matrix's 64 KiB event limit whatever was typed.
ECHO_LIMIT = 80


def echo(value: str, limit: int = ECHO_LIMIT) -> str:
    """User text to quote back, cut to ``limit`` characters with "…" when longer."""
    return shortened(str(value), limit)


def _defuse(text: str) -> str:
    return _ROOM_PING.sub(_ROOM_PING_DEFUSED, text)


@dataclass(frozen=True)
class Fragment:
    plain: str = ""
    html: str = ""
    mentions: tuple[str, ...] = field(default=())

    def __add__(self, other: Fragment | str) -> Fragment:
        other = as_fragment(other)
        return Fragment(self.plain + other.plain, self.html + other.html, _merge(self.mentions, other.mentions))

    def __radd__(self, other: str) -> Fragment:
        return as_fragment(other) + self

    def __bool__(self) -> bool:
        return bool(self.plain)


def _merge(first: tuple[str, ...], second: tuple[str, ...]) -> tuple[str, ...]:
    return first + tuple(m for m in second if m not in first)


def text(value: str) -> Fragment:
    value = _defuse(str(value))
    return Fragment(value, html.escape(value, quote=False).replace("\n", "<br>"))


def as_fragment(value: Fragment | str) -> Fragment:
    return value if isinstance(value, Fragment) else text(value)


def bold(value: Fragment | str) -> Fragment:
    inner = as_fragment(value)
    return Fragment(inner.plain, f"<strong>{inner.html}</strong>", inner.mentions)


def italic(value: Fragment | str) -> Fragment:
    inner = as_fragment(value)
    return Fragment(inner.plain, f"<em>{inner.html}</em>", inner.mentions)


def code(value: str) -> Fragment:
    value = _defuse(str(value))
    return Fragment(value, f"<code>{html.escape(value, quote=False)}</code>")


def code_block(value: str) -> Fragment:
    value = _defuse(str(value))
    return Fragment(value, f"<pre><code>{html.escape(value, quote=False)}</code></pre>")


def link(url: str, label: str | None = None) -> Fragment:
    url_html = html.escape(url, quote=True)
    shown = _defuse(url)  # the text only: the href keeps the address as it is
    if label is None or label == url:
        return Fragment(shown, f'<a href="{url_html}">{html.escape(shown, quote=False)}</a>')
    label = _defuse(label)
    return Fragment(f"{label} ({shown})", f'<a href="{url_html}">{html.escape(label, quote=False)}</a>')


def mention(user_id: str, display_name: str | None = None) -> Fragment:
    """An intentional ping: a pill in HTML and the user ID in ``m.mentions``."""
    label = _defuse(display_name or user_id)
    href = html.escape(f"https://matrix.to/#/{user_id}", quote=True)
    return Fragment(label, f'<a href="{href}">{html.escape(label, quote=False)}</a>', (user_id,))


def lines(*parts: Fragment | str | None) -> Fragment:
    """Join non-empty parts, one per line."""
    return join([p for p in parts if p], separator="\n")


def join(parts: Iterable[Fragment | str], separator: str = ", ") -> Fragment:
    result = Fragment()
    for index, part in enumerate(parts):
        if index:
            result += Fragment(separator, "<br>" if separator == "\n" else html.escape(separator, quote=False))
        result += part
    return result


def bullets(items: Iterable[Fragment | str]) -> Fragment:
    items = [as_fragment(i) for i in items]
    if not items:
        return Fragment()
    plain = "\n".join(f"• {i.plain}" for i in items)
    markup = "<ul>" + "".join(f"<li>{i.html}</li>" for i in items) + "</ul>"
    mentions: tuple[str, ...] = ()
    for item in items:
        mentions = _merge(mentions, item.mentions)
    return Fragment(plain, markup, mentions)


def numbered(items: Iterable[Fragment | str]) -> Fragment:
    items = [as_fragment(i) for i in items]
    if not items:
        return Fragment()
    plain = "\n".join(f"{n}. {i.plain}" for n, i in enumerate(items, 1))
    markup = "<ol>" + "".join(f"<li>{i.html}</li>" for i in items) + "</ol>"
    mentions: tuple[str, ...] = ()
    for item in items:
        mentions = _merge(mentions, item.mentions)
    return Fragment(plain, markup, mentions)
