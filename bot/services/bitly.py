"""A small client for Bitly's v4 API: one call, ``POST /v4/shorten``.

Bitly answers 201 for a new link and 200 for one it already had. Its errors are JSON with
``message`` (a code such as ``RATE_LIMIT_EXCEEDED``), ``description``, ``resource`` and
``errors[{field, error_code}]``. A 429 carries no Retry-After, so rate limits are retried with
exponential backoff; a monthly limit is not worth retrying. Every failure becomes a ShortenError
whose ``user_message`` is safe to show in the room. The token appears in no log and no message.
"""

from __future__ import annotations

import asyncio
import json
import logging
from dataclasses import dataclass
from typing import Any

import aiohttp

log = logging.getLogger(__name__)

BITLY_API_URL = "https://api-ssl.bitly.com"

_MONTHLY_LIMITS = {"MONTHLY_LIMIT_EXCEEDED", "API_USAGE_LIMIT_EXCEEDED"}


class ShortenError(Exception):
    """Shortening failed; ``user_message`` is friendly and safe to show, ``code`` is for logs and tests."""

    def __init__(self, user_message: str, code: str) -> None:
        super().__init__(user_message)
        self.user_message = user_message
        self.code = code


def _invalid_url() -> ShortenError:
    return ShortenError("Bitly refused that URL", "invalid_url")


def _domain_not_set_up() -> ShortenError:
    return ShortenError(
        "the mzl.la domain is not set up for this account — tell a moderator", "domain_not_set_up"
    )


def _token_rejected() -> ShortenError:
    return ShortenError("the token was rejected — tell a moderator", "token_rejected")


def _rate_limited() -> ShortenError:
    return ShortenError(
        "Bitly says we are making too many links too fast; try again in a minute", "rate_limited"
    )


def _monthly_limit() -> ShortenError:
    return ShortenError(
        "the Bitly account has used up its links for this month — tell a moderator", "monthly_limit"
    )


def _unavailable() -> ShortenError:
    return ShortenError("Bitly is not answering right now, try again in a few minutes", "unavailable")


def _unexpected(status: int) -> ShortenError:
    return ShortenError(
        f"Bitly gave an unexpected answer (HTTP {status}); tell a moderator if it keeps happening",
        "unexpected",
    )


class _WorthRetrying(Exception):
    """A failure that may pass (rate limit, 5xx, timeout); carries the error to give up with."""

    def __init__(self, final_error: ShortenError, detail: str) -> None:
        super().__init__(detail)
        self.final_error = final_error
        self.detail = detail


@dataclass(frozen=True)
class _Answer:
    status: int
    body: Any  # the decoded JSON, or None when the body was not JSON

    @property
    def message(self) -> str:
        return str(self.body.get("message", "")) if isinstance(self.body, dict) else ""

    @property
    def error_fields(self) -> set[str]:
        errors = self.body.get("errors") if isinstance(self.body, dict) else None
        if not isinstance(errors, list):
            return set()
        return {str(error.get("field")) for error in errors if isinstance(error, dict)}


class BitlyClient:
    def __init__(
        self,
        session: aiohttp.ClientSession,
        api_url: str,
        token: str,
        domain: str = "mzl.la",
        group_guid: str | None = None,
        timeout: float = 10,
        retries: int = 3,
        backoff: float = 1.0,
    ) -> None:
        self._session = session
        self._endpoint = api_url.rstrip("/") + "/v4/shorten"
        self._headers = {"Authorization": f"Bearer {token}"}
        self._domain = domain
        self._group_guid = group_guid
        self._timeout = aiohttp.ClientTimeout(total=timeout)
        self._retries = max(0, retries)
        self._backoff = backoff

    def __repr__(self) -> str:
        return f"BitlyClient({self._endpoint!r}, domain={self._domain!r})"

    async def shorten(self, long_url: str) -> str:
        """The short link for ``long_url``; raises ShortenError when Bitly cannot make one."""
        for attempt in range(self._retries + 1):
            try:
                return await self._attempt(long_url)
            except _WorthRetrying as failure:
                if attempt == self._retries:
                    log.warning("Bitly: giving up after %d attempts: %s", attempt + 1, failure.detail)
                    raise failure.final_error from None
                delay = self._backoff * 2**attempt
                log.info("Bitly: %s; retrying in %.1f s", failure.detail, delay)
                await asyncio.sleep(delay)
        raise AssertionError("unreachable: the loop returns or raises")

    async def _attempt(self, long_url: str) -> str:
        answer = await self._post(self._payload(long_url))
        if answer.status in (200, 201):
            return self._link_from(answer)
        raise self._error_for(answer)

    def _payload(self, long_url: str) -> dict[str, str]:
        payload = {"long_url": long_url, "domain": self._domain}
        if self._group_guid:
            payload["group_guid"] = self._group_guid
        return payload

    async def _post(self, payload: dict[str, str]) -> _Answer:
        try:
            async with self._session.post(
                self._endpoint, json=payload, headers=self._headers, timeout=self._timeout
            ) as response:
                raw = await response.read()
                return _Answer(response.status, _json_or_none(raw))
        except TimeoutError:
            raise _WorthRetrying(_unavailable(), "no answer within the timeout") from None
        except aiohttp.ClientError as error:
            # Only the class name: an aiohttp error's text can carry request details.
            raise _WorthRetrying(_unavailable(), f"connection failed ({type(error).__name__})") from None

    @staticmethod
    def _link_from(answer: _Answer) -> str:
        link = answer.body.get("link") if isinstance(answer.body, dict) else None
        if not isinstance(link, str) or not link.startswith(("https://", "http://")):
            # A success without a link is a broken answer; asking again is safe, Bitly answers 200.
            raise _WorthRetrying(_unavailable(), f"HTTP {answer.status} without a link")
        return link

    @staticmethod
    def _error_for(answer: _Answer) -> Exception:
        """The exception for a non-success answer: a ShortenError, or _WorthRetrying."""
        status, message = answer.status, answer.message
        detail = f"HTTP {status} {message or '(no JSON message)'}"
        if status == 429:
            if message in _MONTHLY_LIMITS:
                return _monthly_limit()
            return _WorthRetrying(_rate_limited(), detail)
        if status >= 500:
            return _WorthRetrying(_unavailable(), detail)
        log.warning("Bitly refused a request: %s %s", detail, sorted(answer.error_fields))
        if status == 417 or message == "INVALID_ARG_DOMAIN" or "domain" in answer.error_fields:
            return _domain_not_set_up()
        if status == 400 and (message == "INVALID_ARG_LONG_URL" or "long_url" in answer.error_fields):
            return _invalid_url()
        if status in (401, 403):
            return _token_rejected()
        return _unexpected(status)


def _json_or_none(raw: bytes) -> Any:
    try:
        return json.loads(raw)
    except ValueError:  # also covers bytes that are not UTF-8
        return None
