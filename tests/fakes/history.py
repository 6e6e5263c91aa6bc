"""Plausible past activity for the dashboard's tests, benchmark and screenshot: consults, SUMO forum
questions and escalations spread over some weeks, with first answers that come faster as time goes on
(the share answered within 72 hours rises). Deterministic for a given seed."""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import datetime, timedelta

from bot.storage import Storage
from bot.storage.consults import Consult, ConsultState
from bot.storage.escalations import REASONS, Escalation
from bot.storage.questions import QuestionState, TrackedQuestion

WINDOW = timedelta(hours=72)
HELPERS = ("@ana:example.org", "@bo:example.org", "@chidi:example.org", "@dana:example.org", "@eun:example.org")
ROOM = "!contributors:example.org"


def _answer_delay(rng: random.Random, progress: float) -> timedelta | None:
    """None: never answered. ``progress`` runs 0 → 1 over the period: answers get quicker."""
    if rng.random() < 0.12 - 0.07 * progress:
        return None
    return timedelta(hours=rng.lognormvariate(3.4 - 0.9 * progress, 0.9))


def consults(rng: random.Random, now: datetime, span: timedelta, count: int) -> Iterator[Consult]:
    start = now - span
    for n in range(count):
        progress = rng.random()
        opened = start + span * progress
        closes = opened + WINDOW
        delay = _answer_delay(rng, progress)
        answered = opened + delay if delay is not None and opened + delay <= now else None
        state = ConsultState.OPEN
        if answered is not None and answered <= closes:
            state = ConsultState.ANSWERED
        elif closes <= now:
            state = ConsultState.EXPIRED
        closed = None
        if answered is not None and rng.random() < 0.3 and answered + timedelta(hours=2) <= now:
            state, closed = ConsultState.DONE, answered + timedelta(hours=2)
        requester = HELPERS[n % len(HELPERS)]
        answerer = HELPERS[(n + 1 + rng.randrange(len(HELPERS) - 1)) % len(HELPERS)]
        yield Consult(0, requester, ROOM, f"$consult{n}", f"$thread{n}", f"https://x.com/user{n}/status/{10**17 + n}",
                      "what should we answer?", state, opened, closes, answered, answerer if answered else None,
                      closed, requester if closed else None)


def questions(rng: random.Random, now: datetime, span: timedelta, count: int, first_id: int = 1_000_000
              ) -> Iterator[TrackedQuestion]:
    start = now - span
    for n in range(count):
        progress = rng.random()
        created = start + span * progress
        deadline = created + WINDOW
        delay = _answer_delay(rng, progress)
        answered = created + delay if delay is not None and created + delay <= now else None
        state, left = QuestionState.OPEN, None
        if rng.random() < 0.08:
            state, left, answered = QuestionState.LEFT, "solved", None
        elif answered is not None and answered <= deadline:
            state = QuestionState.ANSWERED
        elif deadline <= now:
            state = QuestionState.EXPIRED
        yield TrackedQuestion(first_id + n, "en-US", f"Firefox question {n}: bookmarks vanished after update", f"asker{n}",
                              created, created + timedelta(hours=48), deadline, state, left, answered,
                              f"helper{n % 7}" if answered else None, 0, None, None)


def escalations(rng: random.Random, now: datetime, span: timedelta, count: int) -> Iterator[Escalation]:
    start = now - span
    for n in range(count):
        created = start + span * rng.random()
        age = now - created
        reason = rng.choices(REASONS, weights=(3, 2, 2, 1, 1))[0]
        state = "resolved" if age > timedelta(days=5) else rng.choice(("open", "acknowledged", "resolved"))
        acked = created + timedelta(hours=1) if state != "open" and created + timedelta(hours=1) <= now else None
        if acked is None and state != "resolved":
            state = "open"
        resolved = created + timedelta(hours=5) if state == "resolved" else None
        yield Escalation(HELPERS[n % len(HELPERS)], ROOM, f"$escalation{n}", None,
                         f"people ask about {reason} #{n}", None, None, reason, created, id=0, state=state, reports=1,
                         acknowledged_by="@mod:example.org" if acked or resolved else None,
                         acknowledged_at=acked or (created if resolved else None),
                         resolved_by="@mod:example.org" if resolved else None, resolved_at=resolved)


async def seed(storage: Storage, now: datetime, *, weeks: int, consult_count: int, question_count: int,
               escalation_count: int, seed_value: int = 16) -> None:
    rng = random.Random(seed_value)
    span = timedelta(weeks=weeks)
    await storage.history.consults(consults(rng, now, span, consult_count))
    await storage.history.questions(questions(rng, now, span, question_count))
    await storage.history.escalations(escalations(rng, now, span, escalation_count))
