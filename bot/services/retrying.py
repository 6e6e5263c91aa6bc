"""The one retry rule of the outside services: a failure that may pass is asked again after
``backoff``, then twice that, four times that…, and re-raised once ``retries`` retries are spent.

Which failures may pass (5xx, timeouts, dropped connections) is each client's own reading of its
API; Bitly's 403/429 limits and Kitsune's 429 block are final there and never reach this loop.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TypeVar

T = TypeVar("T")


async def with_retries(
    attempt: Callable[[], Awaitable[T]],
    *,
    retry_on: type[Exception] | tuple[type[Exception], ...],
    retries: int,
    backoff: float,
    on_retry: Callable[[Exception, float], None] | None = None,
) -> T:
    """What ``attempt()`` returns; an exception of ``retry_on`` is retried up to ``retries`` times
    (``on_retry(failure, delay)`` is told before each wait), the last one raised as it came."""
    retries = max(0, retries)
    failures = 0
    while True:
        try:
            return await attempt()
        except retry_on as failure:
            if failures >= retries:
                raise
            delay = backoff * 2**failures
            failures += 1
            if on_retry is not None:
                on_retry(failure, delay)
            await asyncio.sleep(delay)
