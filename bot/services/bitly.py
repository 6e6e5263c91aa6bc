"""A small client for Bitly's v4 API: one call, ``POST /v4/shorten``.

What Bitly answers, from its API reference (the OpenAPI document behind
https://dev.bitly.com/api-reference, operation ``createBitlink``) and its rate-limit page
(https://dev.bitly.com/docs/getting-started/rate-limits):

- 201 for a new link, 200 for one it already had; both carry ``link``.
- Errors are JSON with ``message`` (a code such as ``INVALID_ARG_DOMAIN``), ``description``,
  ``resource`` and ``errors[{field, error_code}]``.
- **403** with an ``X-Ratelimit-Reason`` header is the per-minute or per-hour platform limit (the
  per-minute one is a tenth of the hourly one; both reset on their own). A 403 without that header
  is a token that may not do this: rejected.
- **429** is the monthly limit (``MONTHLY_LIMIT_EXCEEDED``); plan limits reset on the first of the
  month. No answer carries ``Retry-After``.

A short rate limit is not retried here (a per-minute window outlasts any wait a command can make);
5xx answers, timeouts and dropped connections are retried with exponential backoff. A success whose
``link`` is not on the configured domain (``bit.ly`` instead of ``mzl.la`` when the group has no
access to the branded domain) is refused: such a link must never be handed out or stored. Every
failure becomes a ShortenError whose ``user_message`` is safe to show in the room. The token
appears in no log and no message.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import aiohttp

from bot.services.retrying import with_retries

log = logging.getLogger(__name__)

BITLY_API_URL = "https://api-ssl.bitly.com"

# Monthly limits named in the reference; they can come with a status other than 429 too.
_MONTHLY_LIMITS = {"MONTHLY_LIMIT_EXCEEDED", "API_USAGE_LIMIT_EXCEEDED", "BRANDED_LINK_MONTHLY_LIMIT_EXCEEDED",
                   "MONTHLY_BSD_ENCODE_LIMIT_REACHED"}
RATE_LIMIT_HEADER = "X-Ratelimit-Reason"


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


class BitlyRateLimited(ShortenError):
    """Bitly's per-minute or per-hour limit: it passes on its own within the hour."""

    def __init__(self) -> None:
        super().__init__("Bitly's limit of links per minute or per hour is reached; try again in a few minutes",
                         "rate_limited")


class BitlyMonthlyLimit(ShortenError):
    """The account's monthly limit: nothing helps before the month turns."""

    def __init__(self) -> None:
        super().__init__("the Bitly account has used up its links for this month — tell a moderator",
                         "monthly_limit")


def _wrong_domain(link: str, domain: str) -> ShortenError:
    host = urlsplit(link).hostname or "another domain"
    return ShortenError(
        f"Bitly made a {host} link instead of a {domain} one (the Bitly group may lack the {domain} domain) "
        "— tell a moderator",
        "wrong_domain",
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
    rate_limit_reason: str | None = None  # the X-Ratelimit-Reason header

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

    @property
    def domain(self) -> str:
        return self._domain

    async def shorten(self, long_url: str) -> str:
        """The short link for ``long_url``; raises ShortenError when Bitly cannot make one."""
        try:
            return await with_retries(lambda: self._attempt(long_url), retry_on=_WorthRetrying,
                                      retries=self._retries, backoff=self._backoff, on_retry=_log_retry)
        except _WorthRetrying as failure:
            log.warning("Bitly: giving up after %d attempts: %s", self._retries + 1, failure.detail)
            raise failure.final_error from None

    async def _attempt(self, long_url: str) -> str:
        answer = await self._post(self._payload(long_url))
        if answer.status in (200, 201):
            link = self._link_from(answer)
            if (urlsplit(link).hostname or "").lower() != self._domain.lower():
                log.warning("Bitly answered with a link on %s, not on %s; refused",
                            urlsplit(link).hostname, self._domain)
                raise _wrong_domain(link, self._domain)
            return link
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
                return _Answer(response.status, _json_or_none(raw), response.headers.get(RATE_LIMIT_HEADER))
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
        if status == 429 or message in _MONTHLY_LIMITS:
            log.warning("Bitly: the monthly limit is reached (%s)", detail)
            return BitlyMonthlyLimit()
        if status == 403 and answer.rate_limit_reason is not None:
            log.info("Bitly: rate limited (%s: %s)", detail, answer.rate_limit_reason[:200])
            return BitlyRateLimited()
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


def _log_retry(failure: Exception, delay: float) -> None:
    log.info("Bitly: %s; retrying in %.1f s", failure, delay)


def _json_or_none(raw: bytes) -> Any:
    try:
        return json.loads(raw)
    except ValueError:  # also covers bytes that are not UTF-8
        return None
