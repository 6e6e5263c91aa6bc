"""The kb feature on its own: which trailing word is a language, and the search against a fake Kitsune
that follows the site's JSON search (the command through the dispatcher: tests/unit/questions)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import aiohttp
import pytest

from bot.config import SumoConfig
from bot.features.kb import messages
from bot.features.kb.service import RESULTS, KbSearch, language
from bot.framework.arguments import UsageError, parse_arguments
from bot.framework.command import CommandError
from bot.services.kitsune import KitsuneClient
from commands.kb import KbCommands
from tests.fakes.kitsune import FakeKitsune


@pytest.fixture
async def sumo() -> AsyncIterator[tuple[FakeKitsune, KbSearch]]:
    async with FakeKitsune() as fake, aiohttp.ClientSession() as session:
        kitsune = KitsuneClient(session, fake.url, timeout=2, retries=0)
        yield fake, KbSearch(kitsune, SumoConfig(api_url=fake.url, locales=["de", "en-US"]), None)


@pytest.mark.parametrize(("typed", "locale"), [("es", "es"), ("PT-br", "pt-BR"), ("IT", "it"), ("en", "en-US")])
def test_a_locale_in_any_case_is_a_language(typed: str, locale: str) -> None:
    assert language(typed) == locale


@pytest.mark.parametrize("typed", ["it", "no", "id", "cookies", "klingon", ""])
def test_everyday_words_and_other_words_are_not_languages(typed: str) -> None:
    with pytest.raises(UsageError, match="is not a SUMO locale"):
        language(typed)


def test_kb_declares_its_lang_as_the_trailing_word() -> None:
    [kb] = KbCommands(KbSearch(None, None, None)).commands()

    assert parse_arguments(kb.args, "borrar cookies ES") == {"words": ["borrar", "cookies"], "lang": "es"}
    assert parse_arguments(kb.args, "how to fix it") == {"words": ["how", "to", "fix", "it"], "lang": None}
    assert parse_arguments(kb.args, "es cookies") == {"words": ["es", "cookies"], "lang": None}
    assert kb.usage("!") == "!kb <words ...> [lang]"


async def test_the_search_defaults_to_the_first_watched_locale_and_keeps_the_ranking(
        sumo: tuple[FakeKitsune, KbSearch]) -> None:
    fake, kb = sumo
    for n in range(RESULTS + 2):
        fake.add_article(f"Lesezeichen {n}", f"lesezeichen-{n}", locale="de", summary="lesezeichen")

    found = await kb.search(["lesezeichen"], None)

    assert (found.query, found.locale) == ("lesezeichen", "de")
    assert len(found.articles) == RESULTS
    assert all(url.startswith(f"{fake.url}/de/kb/lesezeichen-") for _, url in found.articles)
    assert fake.requests_to("/de/search/")[0]["q"] == "lesezeichen"
    assert messages.articles(found.query, found.locale, found.articles).plain.startswith(
        "support.mozilla.org articles for “lesezeichen” (de)\n1. Lesezeichen")


async def test_nothing_found_and_not_set_up_are_answers(sumo: tuple[FakeKitsune, KbSearch]) -> None:
    _, kb = sumo

    found = await kb.search(["nothing", "here"], "en-US")
    with pytest.raises(CommandError, match="not set up"):
        await KbSearch(None, None, None).search(["cookies"], None)

    assert found.articles == []
    assert messages.articles(found.query, found.locale, found.articles).plain == (
        "No en-US articles found for “nothing here”. Try other words, or another language.")
