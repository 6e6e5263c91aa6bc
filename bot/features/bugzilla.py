"""A prefilled Bugzilla "enter bug" link, so a contributor can file a Firefox bug well.

Pure functions: the summary becomes the bug's title (its first line, at most 255 characters, cut at
a word when it can be), and the description is the template of a good report, with the whole text
kept below it when the title could not hold it. ``bug_answer`` is the words of the !bug answer.
"""

from __future__ import annotations

from urllib.parse import quote, urlencode

from bot.matrix.rendering import Fragment, bold, bullets, lines, link

ENTER_BUG = "https://bugzilla.mozilla.org/enter_bug.cgi"
PRODUCT = "Firefox"
COMPONENT = "Untriaged"
MAX_SUMMARY = 255
# A cut inside a word is fine only when there is no space in the summary's last few characters.
WORD_CUT_WINDOW = 40
# Web servers commonly refuse request lines past 8 KiB; the link must open.
MAX_URL_LENGTH = 8000
CUT_MARK = " […]"

GOOD_REPORT = (
    "Clear steps to reproduce, from the start (a new profile if it helps)",
    "The expected result and the actual result",
    "The Firefox version (Help > About Firefox) and the platform (operating system and version)",
)
ONE_PROBLEM_PER_BUG = "One problem per bug: file two reports for two problems."

DESCRIPTION_TEMPLATE = """\
Steps to reproduce:
1.
2.
3.

Expected results:


Actual results:


Firefox version (Help > About Firefox):
Platform (operating system and version):
"""


def bug_answer(summary: str) -> Fragment:
    """The !bug answer: the prefilled form's link, and what a good report has."""
    shortened = "The title was shortened; the whole text is in the description." if bug_summary(summary) != summary else None
    return lines(
        bold("File it on Bugzilla: ") + link(enter_bug_url(summary), "open the prefilled bug form"),
        shortened,
        "A good report has:",
        bullets(GOOD_REPORT),
        ONE_PROBLEM_PER_BUG,
    )


def bug_summary(text: str) -> str:
    """The bug's title: the first line of ``text``, cut to 255 characters (at a word if one is near)."""
    first_line = text.splitlines()[0] if text.splitlines() else ""
    if len(first_line) <= MAX_SUMMARY:
        return first_line.rstrip()
    cut = first_line[:MAX_SUMMARY]
    space = cut.rfind(" ")
    if space >= MAX_SUMMARY - WORD_CUT_WINDOW:
        cut = cut[:space]
    return cut.rstrip()


def bug_description(summary: str, full_text: str, keep: int | None = None) -> str:
    """The report template, and the whole text (or its first ``keep`` characters) when the title
    holds only part of it."""
    full_text = full_text.strip()
    if full_text == summary or keep == 0:
        return DESCRIPTION_TEMPLATE
    kept = full_text if keep is None or keep >= len(full_text) else full_text[:keep] + CUT_MARK
    return f"{DESCRIPTION_TEMPLATE}\nAs first reported:\n{kept}\n"


def enter_bug_url(text: str) -> str:
    """A link to Bugzilla's form for a new Firefox bug, with the title and description filled in.

    When the whole text would make the link too long to open, less of it is kept in the description.
    """
    summary = bug_summary(text)
    keep = len(text)
    while True:
        url = _form_url(summary, bug_description(summary, text, keep))
        if len(url) <= MAX_URL_LENGTH or keep == 0:
            return url
        keep = keep * 3 // 4


def _form_url(summary: str, description: str) -> str:
    query = {"product": PRODUCT, "component": COMPONENT, "short_desc": summary, "comment": description}
    # errors="replace": a lone surrogate (possible in JSON from a client) must not stop the link.
    return f"{ENTER_BUG}?{urlencode(query, quote_via=quote, errors='replace')}"
