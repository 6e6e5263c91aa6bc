"""The shared retry rule of the Bitly and Kitsune clients."""

from __future__ import annotations

import pytest

from bot.services.retrying import with_retries


class Passing(Exception):
    pass


class Final(Exception):
    pass


def failing(times: int, error: type[Exception] = Passing):
    calls: list[int] = []

    async def attempt() -> str:
        calls.append(len(calls))
        if len(calls) <= times:
            raise error(f"failure {len(calls)}")
        return "done"

    return attempt, calls


async def test_a_failure_that_passes_is_retried_after_a_doubling_wait() -> None:
    attempt, calls = failing(3)
    waits: list[float] = []
    result = await with_retries(attempt, retry_on=Passing, retries=3, backoff=0.001,
                                on_retry=lambda _failure, delay: waits.append(delay))
    assert result == "done" and len(calls) == 4
    assert waits == [0.001, 0.002, 0.004]


async def test_the_last_failure_is_raised_once_the_retries_are_spent() -> None:
    attempt, calls = failing(5)
    with pytest.raises(Passing, match="failure 3"):
        await with_retries(attempt, retry_on=Passing, retries=2, backoff=0.001)
    assert len(calls) == 3


async def test_a_final_failure_is_not_retried() -> None:
    attempt, calls = failing(1, Final)
    with pytest.raises(Final):
        await with_retries(attempt, retry_on=Passing, retries=3, backoff=0.001)
    assert len(calls) == 1


async def test_no_retries_means_one_attempt() -> None:
    attempt, calls = failing(1)
    with pytest.raises(Passing):
        await with_retries(attempt, retry_on=Passing, retries=-1, backoff=0.001)
    assert len(calls) == 1
