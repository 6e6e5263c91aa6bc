"""!reply and !check at the unit tier: the commands through the real dispatcher with realistic events,
a real sqlite file, a fake clock, the shipped reply library (or a copy of it to break), and a stand-in
for Bitly behind the real shortener."""

from __future__ import annotations

import asyncio
import itertools
import shutil
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.app import build_bot
from bot.cli import main
from bot.clock import FakeClock
from bot.config import ConfigError, config_from_mapping
from bot.features.drafts.check import draft_length
from bot.features.escalations.messages import FALLBACK_HOLDING_REPLY
from bot.features.escalations.service import holding_reply_in
from bot.features.links.policy import DEFAULT_ALLOWED_HOSTS
from bot.features.replies.catalog import ReplyCatalog
from bot.features.replies.loading import ReplyLibraryError
from bot.features.replies.render import render_reply
from bot.framework.dispatcher import MAX_COMMAND_LENGTH, Dispatcher
from bot.matrix.events import IncomingMessage
from bot.services.bitly import ShortenError
from bot.storage import Storage
from commands.replies import SHORT_LINK_WAIT
from tests.fakes.sender import RecordingSender
from tests.unit.events import room_message
from tests.unit.world import Settings
from tests.unit.world import build_world as build_bot_world

LANGUAGES = ("en-US, es, de, fr (Firefox's labels of a variety with es-ES, es-MX, es-419, es-AR, es-CL, "
             "de-DE, de-AT, de-CH)")

SHIPPED = Path(__file__).resolve().parents[3] / "replies"
ROOM = "!contributors:example.org"
BOT = "@fxhelpbot:example.org"
ALICE = "@alice:example.org"
MOD = "@mod:example.org"
CLEAR_CACHE = "https://support.mozilla.org/kb/how-clear-firefox-cache"
SORRY = "Sorry, something went wrong"


class StandInBitly:
    """Answers like Bitly through the real shortener: a link, an error, or nothing for a while."""

    domain = "mzl.la"

    def __init__(self) -> None:
        self.failure: ShortenError | None = None
        self.delay = 0.0
        self.asked: list[str] = []

    async def shorten(self, long_url: str) -> str:
        self.asked.append(long_url)
        await asyncio.sleep(self.delay)
        if self.failure is not None:
            raise self.failure
        return f"https://mzl.la/{len(self.asked)}abc"


@dataclass
class World:
    storage: Storage
    clock: FakeClock
    sender: RecordingSender
    catalog: ReplyCatalog
    bitly: StandInBitly
    dispatcher: Dispatcher

    async def say(self, body: str, who: str = ALICE, **where: Any) -> str:
        """Send one command; return the one answer's plain text."""
        [answer] = await self.answers(command(who, body, **where))
        return answer

    async def answers(self, message: IncomingMessage) -> list[str]:
        before = len(self.sender.sent)
        await self.dispatcher.handle(message)
        return [sent.text for sent in self.sender.sent[before:]]


_event_numbers = itertools.count(1)


def command(sender: str, body: str, thread_root: str | None = None) -> IncomingMessage:
    return room_message(ROOM, sender, body, thread_root=thread_root, event_id=f"$reply{next(_event_numbers)}")


@pytest.fixture
def library_folder(tmp_path: Path) -> Path:
    """A copy of the shipped library, free to break."""
    folder = tmp_path / "replies"
    shutil.copytree(SHIPPED, folder)
    return folder


async def build_world(storage: Storage, library: Path, *, default_locale: str = "en-US", shortening: bool = True,
                      allowed_hosts: tuple[str, ...] = DEFAULT_ALLOWED_HOSTS, check_words: list[str] = ()) -> World:
    """The one world builder's bot (tests/unit/world.py) on ``library`` with a Bitly stand-in."""
    bitly = StandInBitly()
    settings = Settings(default_locale=default_locale, allowed_hosts=allowed_hosts, political=check_words,
                        library=library, moderators=(MOD,))
    bot = await build_bot_world(None, FakeClock(), settings, bitly=bitly if shortening else None, storage=storage)
    assert bot.rooms.contributors == ROOM
    return World(storage, bot.clock, bot.sender, bot.catalog, bitly, bot.dispatcher)


@pytest.fixture
async def world(storage: Storage, library_folder: Path) -> World:
    return await build_world(storage, library_folder)


# -- !reply <key> [lang] [@handle] -----------------------------------------------------------------


async def test_a_reply_comes_ready_to_paste(world: World) -> None:
    answer = await world.say("!reply clear-cache es @someone")

    title, pasted, length = answer.splitlines()
    reply = world.catalog.library.get("clear-cache")
    expected = render_reply(reply, "es", "@someone", "https://mzl.la/1abc")
    assert title == "Clear the cache (clear-cache, es)"
    assert pasted == expected.text
    assert pasted.startswith("@someone " + reply.texts["es"][:20])
    assert pasted.endswith("https://mzl.la/1abc #fxhelp")
    assert length == (f"{expected.weighted_length}/280 as X counts it ({expected.remaining} left; "
                      f"a link counts 23 whatever its length).")
    assert world.bitly.asked == [CLEAR_CACHE]


async def test_the_reply_is_a_code_block_and_pings_nobody(world: World) -> None:
    await world.say("!reply clear-cache @someone")

    sent = world.sender.sent[-1].message
    assert "<pre><code>@someone An old copy of the page" in sent.html
    assert sent.mentions == ()


@pytest.mark.parametrize("typed", [
    "!reply clear-cache es someone",
    "!reply clear-cache @someone es",
    "!reply CLEAR-CACHE ES @someone",
])
async def test_language_and_handle_in_any_usual_spelling(world: World, typed: str) -> None:
    title, pasted, _length = (await world.say(typed)).splitlines()

    assert title.endswith("(clear-cache, es)")
    assert pasted.startswith("@someone Puede que haya una copia antigua")


async def test_a_handle_alone_takes_the_default_language(storage: Storage, library_folder: Path) -> None:
    world = await build_world(storage, library_folder, default_locale="de")

    answer = await world.say("!reply clear-cache @someone")

    assert answer.splitlines()[0].endswith("(clear-cache, de)")
    assert answer.splitlines()[1].startswith("@someone ")
    assert "There is no" not in answer


async def test_a_language_the_library_lacks_falls_back_and_says_so(storage: Storage, library_folder: Path) -> None:
    world = await build_world(storage, library_folder, default_locale="fr")

    answer = await world.say("!reply clear-cache it @someone")

    assert answer.splitlines()[0].endswith("(clear-cache, fr)")
    assert answer.splitlines()[-1] == f"There is no “it” text; this is fr. The replies come in {LANGUAGES}."


async def test_a_word_that_is_no_language_lists_the_languages(world: World) -> None:
    answer = await world.say("!reply clear-cache klingon")

    assert answer == (f"“klingon” is not a language I know. The replies come in {LANGUAGES}. "
                      "To answer someone, put @ before their handle: !reply clear-cache @klingon")


async def test_spanish_varieties_get_their_own_firefox_labels(world: World) -> None:
    spain = (await world.say("!reply troubleshoot-mode es")).splitlines()
    mexico = (await world.say("!reply troubleshoot-mode es-MX")).splitlines()
    argentina = (await world.say("!reply clear-cache es-AR")).splitlines()
    colombia = (await world.say("!reply clear-cache es-CO")).splitlines()

    assert spain[0].endswith("(troubleshoot-mode, es)")
    assert "Ayuda > Modo de resolución de problemas…" in spain[1]  # es-ES appmenu.ftl, menubar.ftl
    assert mexico[0].endswith("(troubleshoot-mode, es-MX)")
    assert "Ayuda > Modo de resolución de problemas…" in mexico[1]  # es-MX appmenu.ftl
    assert "Preferencias > Privacidad y seguridad" in argentina[1]  # es-AR says Preferencias, not Ajustes
    assert colombia[0].endswith("(clear-cache, es-419)") and "Ajustes > Privacidad y seguridad" in colombia[1]
    assert "Privacidad & Seguridad" in (await world.say("!reply clear-cache es")).splitlines()[1]


async def test_firefox_focus_is_firefox_klar_for_german_speakers(world: World) -> None:
    german = (await world.say("!reply firefox-focus de-DE")).splitlines()[1]
    austrian = (await world.say("!reply firefox-focus de-AT")).splitlines()[1]
    english = (await world.say("!reply firefox-focus")).splitlines()[1]

    assert german.startswith("Firefox Klar ist unser privater Browser")
    assert austrian.startswith("Firefox Klar ist unser privater Browser")
    assert english.startswith("Firefox Focus is our private browser")


async def test_swiss_german_writes_ss_in_the_prose(world: World) -> None:
    germany = (await world.say("!reply addon-install-failed de")).splitlines()[1]
    switzerland = (await world.say("!reply addon-install-failed de-CH")).splitlines()[1]

    assert germany.startswith("Heißt es „Download fehlgeschlagen“")
    assert switzerland.startswith("Heisst es „Download fehlgeschlagen“")


@pytest.mark.parametrize("handle", ["@some-one", "@way_too_long_handle", "@", "@<b>x</b>", "@mod:example.org"])
async def test_a_handle_x_would_not_accept_is_refused_kindly(world: World, handle: str) -> None:
    answer = await world.say(f"!reply clear-cache es {handle}")

    assert answer.startswith(f"“{handle}” is not an X handle: those are 1 to 15 letters, digits or underscores")
    assert world.bitly.asked == []


async def test_two_handles_are_refused(world: World) -> None:
    assert (await world.say("!reply clear-cache @one @two")).startswith("One @handle at a time, please")


async def test_an_unknown_key_suggests_the_closest_and_search(world: World) -> None:
    answer = await world.say("!reply cler-cache")

    assert answer == ("There is no common reply “cler-cache”. Did you mean clear-cache or clear-cache-cookies? "
                      "Find one with !reply search <words>, or see them all with !reply list.")


async def test_an_unknown_key_with_nothing_close_still_points_to_search(world: World) -> None:
    answer = await world.say("!reply zzzzzzzzzz")

    assert answer == ("There is no common reply “zzzzzzzzzz”. Find one with !reply search <words>, "
                      "or see them all with !reply list.")


async def test_without_a_shortener_the_full_link_comes_silently(storage: Storage, library_folder: Path) -> None:
    world = await build_world(storage, library_folder, shortening=False)

    answer = await world.say("!reply clear-cache")

    assert answer.splitlines()[1].endswith(f"{CLEAR_CACHE} #fxhelp")
    assert len(answer.splitlines()) == 3


async def test_a_bitly_failure_still_gives_the_reply_with_the_full_link(world: World) -> None:
    world.bitly.failure = ShortenError("Bitly is not answering right now, try again in a few minutes", "unavailable")

    answer = await world.say("!reply clear-cache @someone")

    assert answer.splitlines()[1].endswith(f"{CLEAR_CACHE} #fxhelp")
    assert answer.splitlines()[-1] == ("No mzl.la link this time (Bitly is not answering right now, try again in a "
                                       "few minutes); the full link works just as well, and X counts it 23 either "
                                       "way.")


async def test_a_slow_bitly_does_not_hold_the_reply_back(world: World) -> None:
    world.bitly.delay = SHORT_LINK_WAIT + 1  # the real wait: the wiring keeps !reply's own

    answer = await world.say("!reply clear-cache")

    assert answer.splitlines()[1].endswith(f"{CLEAR_CACHE} #fxhelp")
    assert "No mzl.la link this time (Bitly did not answer in time)" in answer


async def test_a_link_the_policy_refuses_is_given_in_full(storage: Storage, library_folder: Path) -> None:
    world = await build_world(storage, library_folder, allowed_hosts=("www.mozilla.org",))

    answer = await world.say("!reply clear-cache")

    assert answer.splitlines()[1].endswith(f"{CLEAR_CACHE} #fxhelp")
    assert "No mzl.la link this time (support.mozilla.org is not one of the Mozilla sites" in answer
    assert world.bitly.asked == []


async def test_the_short_link_is_made_once(world: World) -> None:
    await world.say("!reply clear-cache")
    await world.say("!reply clear-cache fr")

    assert world.bitly.asked == [CLEAR_CACHE]


# -- !reply search, !reply list ----------------------------------------------------------------------


async def test_search_tolerates_typos(world: World) -> None:
    answer = await world.say("!reply search cleer cache")

    lines = answer.splitlines()
    assert lines[0] == "Best matches for “cleer cache”:"
    assert lines[1] == "1. clear-cache — Clear the cache"
    assert 2 <= len(lines) - 2 <= 5
    assert lines[-1] == "!reply <key> [lang] [@handle] gives one ready to paste."


async def test_search_without_results_points_to_the_list(world: World) -> None:
    answer = await world.say("!reply search qwxzv")

    assert answer == "No common reply matches “qwxzv”. !reply list shows every topic and its keys."


async def test_search_needs_words(world: World) -> None:
    assert (await world.say("!reply search")).startswith("Words is missing.\nUsage: !reply search <words ...>")


async def test_list_shows_every_topic_with_its_keys(world: World) -> None:
    answer = await world.say("!reply list")

    library = world.catalog.library
    assert answer.splitlines()[0] == f"Common replies by topic ({len(library)} in all):"
    assert "• Firefox basics (basics): update-firefox, refresh-firefox, " in answer
    assert answer.count("\n• ") == len(library.topics())


async def test_list_of_one_topic_gives_keys_and_titles(world: World) -> None:
    answer = await world.say("!reply list Basics")

    assert answer.splitlines()[0] == "Firefox basics (basics):"
    assert "• clear-cache — Clear the cache" in answer


async def test_an_unknown_topic_suggests_the_closest(world: World) -> None:
    answer = await world.say("!reply list privasy")

    assert answer == "There is no topic “privasy”. Did you mean privacy? !reply list shows them all."


# -- !reply reload ---------------------------------------------------------------------------------


async def test_reload_is_for_moderators(world: World) -> None:
    assert await world.say("!reply reload") == "Sorry, !reply reload is for moderators only."


async def test_a_broken_edit_keeps_the_last_good_library(world: World, library_folder: Path) -> None:
    basics = library_folder / "basics.yaml"
    basics.write_text(basics.read_text().replace("    title: Clear the cache\n", "    title:\n", 1)
                      .replace("key: homepage", "key: Home Page", 1))
    loaded = len(world.catalog.library)

    answer = await world.say("!reply reload", who=MOD)

    assert answer.splitlines() == [
        f"The edited library has 2 problems, so the last good one ({loaded} replies) stays in use:",
        "• replies/basics.yaml: reply 'clear-cache': field 'title' is empty",
        "• replies/basics.yaml: reply #7: field 'key' must be lower-case words joined by dashes, got 'Home Page'",
    ]
    assert (await world.say("!reply clear-cache")).startswith("Clear the cache (clear-cache, en-US)")


async def test_a_good_edit_is_used_at_once_by_reply_and_check(world: World, library_folder: Path) -> None:
    basics = library_folder / "basics.yaml"
    basics.write_text(basics.read_text().replace("An old copy of the page may be stuck",
                                                 "Looks like an old copy of the page is stuck", 1))

    answer = await world.say("!reply reload", who=MOD)
    pasted = (await world.say("!reply clear-cache")).splitlines()[1]
    check = await world.say(f"!check {pasted}")

    topics = len(world.catalog.library.topics())
    assert answer == f"Reloaded the reply library: {len(world.catalog.library)} replies in {topics} topics."
    assert pasted.startswith("Looks like an old copy of the page is stuck")
    assert "This is the common reply 'clear-cache' pasted as it is." in check


async def test_only_the_first_ten_problems_are_shown(world: World, library_folder: Path) -> None:
    (library_folder / "broken.yaml").write_text("topic: broken\ntitle: Broken\nreplies:\n"
                                                + "".join(f"  - key: k{n}\n" for n in range(12)))

    answer = await world.say("!reply reload", who=MOD)

    assert answer.startswith("The edited library has ")
    assert answer.count("\n• ") == 10
    assert answer.splitlines()[-1].endswith("more (the bot's log lists them all).")


# -- !reply stats ----------------------------------------------------------------------------------


async def test_stats_count_each_command_once_and_only_the_last_30_days(world: World) -> None:
    await world.say("!reply clear-cache")
    world.clock.advance(timedelta(days=31))
    replayed = command(ALICE, "!reply clear-cache es")
    await world.answers(replayed)
    # The handled mark gone (as after a crash before it was written): the command is answered again...
    await world.storage.handled_events.forget_before(world.clock.now() + timedelta(seconds=1))
    assert len(await world.answers(replayed)) == 1
    await world.say("!reply sync-setup")
    await world.say("!reply sync-setup fr")

    answer = await world.say("!reply stats", who=MOD)

    # ...but counted once; the use 31 days ago is out of the window.
    assert answer.splitlines() == [
        "Most used common replies, last 30 days:",
        "1. sync-setup — Set up Sync: 2 times",
        "2. clear-cache — Clear the cache: 1 time",
    ]


async def test_stats_without_uses_and_for_moderators_only(world: World) -> None:
    assert await world.say("!reply stats") == "Sorry, !reply stats is for moderators only."
    assert await world.say("!reply stats", who=MOD) == "No common reply was used in the last 30 days."


async def test_an_unknown_key_is_not_counted(world: World) -> None:
    await world.say("!reply no-such-reply")

    assert await world.storage.reply_usage.most_used(world.clock.now() - timedelta(days=1)) == []


# -- !check ----------------------------------------------------------------------------------------

GOOD_DRAFT = ("@maria So sorry Firefox keeps crashing when you open Gmail! Could you update it and "
              "your graphics drivers, then tell us if it still happens? https://mzl.la/3abc #fxhelp")


async def test_a_good_draft_passes_with_its_count(world: World) -> None:
    answer = await world.say(f"!check {GOOD_DRAFT}")

    length = draft_length(GOOD_DRAFT)
    assert answer == (f"Looks good: {length}/280 as X counts it ({280 - length} left), #fxhelp present, "
                      "no long Mozilla links, nothing political, rude or shouted, and not a pasted common reply.")


async def test_findings_come_with_their_fixes(world: World) -> None:
    draft = "@maria Sorry about the election mess! " + "Firefox is great. " * 15 + " #fxhelp"

    answer = await world.say(f"!check {draft}")

    lines = answer.splitlines()
    assert lines[0] == f"2 things to fix before posting ({draft_length(draft)}/280 as X counts it):"
    assert lines[1].startswith(f"• {draft_length(draft)} characters as X counts them; X allows 280.")
    assert lines[2].startswith(f"→ Cut {draft_length(draft) - 280} characters.")
    assert lines[3] == "• Political or controversial: election"
    assert lines[4].startswith("→ Leave these out and answer only the Firefox question.")
    html = world.sender.sent[-1].message.html
    assert "<ul><li><strong>" in html


async def test_the_draft_is_checked_exactly_as_typed(world: World) -> None:
    draft = '@maria  “Firefox”   says:\n\n"hello"   https://support.mozilla.org/kb/x #fxhelp'

    answer = await world.say(f"!check   {draft}")

    assert answer.startswith(f"1 thing to fix before posting ({draft_length(draft)}/280")
    assert "Mozilla link not shortened: https://support.mozilla.org/kb/x" in answer


async def test_a_draft_in_a_thread_is_answered_in_the_thread(world: World) -> None:
    await world.say(f"!check {GOOD_DRAFT}", thread_root="$root")

    sent = world.sender.sent[-1]
    assert sent.thread_root == "$root"
    assert sent.text.startswith("Looks good")


async def test_html_and_room_pings_come_back_escaped(world: World) -> None:
    draft = "<b>hi</b> @room https://support.mozilla.org/kb/x?a=1&b=2"

    await world.say(f"!check {draft}")

    sent = world.sender.sent[-1].message
    assert "<b>hi" not in sent.html
    assert "https://support.mozilla.org/kb/x?a=1&amp;b=2" in sent.html
    assert "@room" not in sent.plain and sent.mentions == ()


async def test_a_wall_of_links_still_gets_a_short_answer(world: World) -> None:
    draft = " ".join(f"https://support.mozilla.org/kb/article-{n}" for n in range(85))
    assert len(draft) < MAX_COMMAND_LENGTH - 10  # as long as a command may be

    answer = await world.say(f"!check {draft}")

    assert answer.startswith("3 things to fix before posting (")
    assert len(answer) < 3000
    assert "Mozilla link not shortened: https://support.mozilla.org/kb/article-0, " in answer


async def test_configured_words_add_to_the_shipped_ones(storage: Storage, library_folder: Path) -> None:
    world = await build_world(storage, library_folder, check_words=["#frobnicate"])

    answer = await world.say("!check @maria #Frobnicate the election #fxhelp")

    assert "Political or controversial: #frobnicate, election" in answer


async def test_an_empty_check_gets_its_usage(world: World) -> None:
    assert await world.say("!check   ") == "Draft is missing.\nUsage: !check <draft>"


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(draft=st.text(min_size=1)
       | st.text(st.characters() | st.characters(min_codepoint=0xD800, max_codepoint=0xDFFF), min_size=1)
       | st.text(alphabet="<>&@#:/.\"' \nabcXYZ😀中", min_size=1))
async def test_no_draft_breaks_check(world: World, draft: str) -> None:
    answers = await world.answers(command(ALICE, f"!check {draft}"))

    assert len(answers) == 1
    assert not answers[0].startswith(SORRY)


# -- wiring: a broken library stops the start; the holding reply reads the catalog ----------------


def broken_library(folder: Path) -> Path:
    basics = folder / "basics.yaml"
    basics.write_text(basics.read_text().replace("    title: Clear the cache\n", "    title:\n", 1))
    return folder


def minimal_config(tmp_path: Path, **sections: Any) -> dict[str, Any]:
    return {
        "matrix": {"homeserver": "http://127.0.0.1:1", "user_id": "@fxhelpbot:example.org", "password": "pw"},
        "rooms": {"contributors": ROOM, "moderators": "!moderators:example.org"},
        "storage": {"path": str(tmp_path / "data" / "fxhelp.db")},
        "http": {"listen": None},
        **sections,
    }


async def test_a_broken_library_stops_the_bot_from_starting(tmp_path: Path, library_folder: Path) -> None:
    config = config_from_mapping(minimal_config(tmp_path, replies={"path": str(broken_library(library_folder))}),
                                 tmp_path, {})

    with pytest.raises(ReplyLibraryError) as refused:
        await build_bot(config)

    assert refused.value.problems == ["replies/basics.yaml: reply 'clear-cache': field 'title' is empty"]
    assert not (tmp_path / "data" / "fxhelp.db").exists()  # refused before anything was opened


def test_check_config_lists_the_library_problems(tmp_path: Path, library_folder: Path, capsys) -> None:
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(minimal_config(tmp_path, replies={"path": str(broken_library(library_folder))})))

    assert main(["check-config", "--config", str(path)]) == 2

    assert capsys.readouterr().err.splitlines() == [
        f"fxhelp-bot: the reply library ({library_folder}) has problems:",
        "  - replies/basics.yaml: reply 'clear-cache': field 'title' is empty",
    ]


def test_a_check_word_that_could_never_match_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as refused:
        config_from_mapping(minimal_config(tmp_path, check={"political": ["fine", "pro-life"]}), tmp_path, {})

    assert refused.value.problems == [
        "check.political: 'pro-life' is not a word, a #hashtag or words separated by spaces"]


async def test_the_holding_reply_follows_the_catalog(world: World, library_folder: Path) -> None:
    general = library_folder / "general.yaml"
    holding = world.catalog.library.get("escalation-holding")
    assert holding is not None
    assert holding_reply_in(world.catalog.library, "es") == render_reply(holding, "es", None, "").text
    general.write_text(general.read_text().replace("key: escalation-holding", "key: escalation-held", 1))

    await world.say("!reply reload", who=MOD)

    assert holding_reply_in(world.catalog.library, "es") == FALLBACK_HOLDING_REPLY
