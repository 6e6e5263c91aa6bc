"""The words of the !check answers: what to fix in a draft, or a clear pass.

Kept apart from ``commands/check.py`` so the command reads as parse -> check -> answer and these read as
text. Each finding's problem and fix are said by ``check`` (with its word lists); this module frames them.
"""

from __future__ import annotations

from collections.abc import Sequence

from bot.features.drafts.check import Finding
from bot.features.x_text import X_LIMIT
from bot.matrix.rendering import Fragment, bold, bullets, lines
from bot.text import shortened

# A finding can quote the draft (every long link in it); a pasted wall of links must still give an
# answer small enough for one Matrix event.
FINDING_LENGTH = 600


def assessment(findings: Sequence[Finding], length: int) -> Fragment | str:
    return _to_fix(findings, length) if findings else _looks_good(length)


def _counted(length: int) -> str:
    return f"{length}/{X_LIMIT} as X counts it"


def _to_fix(findings: Sequence[Finding], length: int) -> Fragment:
    things = "1 thing" if len(findings) == 1 else f"{len(findings)} things"
    return lines(
        f"{things} to fix before posting ({_counted(length)}):",
        bullets(lines(bold(shortened(finding.problem, FINDING_LENGTH)), "→ " + shortened(finding.fix, FINDING_LENGTH))
                for finding in findings),
    )


def _looks_good(length: int) -> str:
    return (f"Looks good: {_counted(length)} ({X_LIMIT - length} left), #fxhelp present, no long Mozilla links, "
            "nothing political, rude or shouted, and not a pasted common reply.")
