"""The consult numbers behind !stats and the weekly digest, computed from rows without any I/O.

"Answered within the window" follows the program's own measure: a first answer by someone other than
the requester no later than the window's end. The share is taken over the consults whose outcome is
known (answered in time, or the window closed while they waited), so consults opened an hour ago
do not drag it down.
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.storage.consults import Consult


@dataclass(frozen=True)
class ConsultFigures:
    opened: int = 0
    answered_in_window: int = 0
    expired: int = 0              # the window closed while still waiting for a first answer
    answered_late: int = 0        # of the expired, how many got an answer afterwards
    waiting: int = 0              # unanswered, still inside the window
    median_first_answer: timedelta | None = None

    @property
    def decided(self) -> int:
        return self.answered_in_window + self.expired

    @property
    def share_in_window(self) -> float | None:
        return self.answered_in_window / self.decided if self.decided else None


def median(values: Iterable[float]) -> float | None:
    ordered = sorted(values)
    return statistics.median(ordered) if ordered else None


def consult_figures(consults: Iterable[Consult], now: datetime) -> ConsultFigures:
    consults = list(consults)
    expired = [c for c in consults if _expired(c, now)]
    waits = [(c.first_answer_at - c.opened_at).total_seconds() for c in consults if c.first_answer_at is not None]
    middle = median(waits)
    return ConsultFigures(
        opened=len(consults),
        answered_in_window=sum(1 for c in consults if c.answered_in_window),
        expired=len(expired),
        answered_late=sum(1 for c in expired if c.answered),
        waiting=sum(1 for c in consults if _waiting(c, now)),
        median_first_answer=None if middle is None else timedelta(seconds=middle),
    )


def _expired(consult: Consult, now: datetime) -> bool:
    closes = consult.window_closes_at
    closed_early = consult.closed_at is not None and consult.closed_at < closes
    return closes <= now and not consult.answered_in_window and not closed_early


def _waiting(consult: Consult, now: datetime) -> bool:
    return not consult.answered and not consult.closed and now < consult.window_closes_at
