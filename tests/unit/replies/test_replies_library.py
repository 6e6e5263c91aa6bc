"""The reply library: the shipped replies, validation of broken ones, search, rendering."""

from dataclasses import replace
from pathlib import Path

import pytest
import yaml

from bot.features.replies.library import ReplyLibrary
from bot.features.replies.loading import LONGEST_HANDLE, ReplyLibraryError
from bot.features.replies.model import LOCALES, Reply, resolve_locale
from bot.features.replies.render import render_reply
from bot.features.replies.ui_strings import VARIETIES
from bot.features.x_text import X_LIMIT, has_fxhelp_hashtag, weighted_length

SHIPPED = Path(__file__).resolve().parents[3] / "replies"
SYNC_ARTICLE = "https://support.mozilla.org/kb/how-do-i-set-sync-my-computer"


@pytest.fixture(scope="module")
def library() -> ReplyLibrary:
    return ReplyLibrary.load(SHIPPED)


def a_reply(key: str = "sync-setup", **changes) -> dict:
    reply = {
        "key": key,
        "title": "Set up Sync",
        "tags": ["sync", "devices"],
        "article": SYNC_ARTICLE,
        "text": {locale: f"Sign in with your Mozilla account ({locale})." for locale in LOCALES},
    }
    reply.update(changes)
    return reply


def write_topic(folder: Path, topic: str, replies: list, **changes) -> None:
    folder.mkdir(exist_ok=True)
    document = {"topic": topic, "title": topic.title(), "replies": replies}
    document.update(changes)
    (folder / f"{topic}.yaml").write_text(yaml.safe_dump(document, allow_unicode=True, sort_keys=False))


def problems_loading(folder: Path) -> list[str]:
    with pytest.raises(ReplyLibraryError) as caught:
        ReplyLibrary.load(folder)
    return caught.value.problems


# --- the shipped library ----------------------------------------------------------------


def test_the_shipped_library_loads_with_at_least_42_replies(library):
    assert len(library) >= 42
    assert len(library.keys()) == len(library)


def test_every_shipped_reply_has_a_text_for_every_variety(library):
    for key in library.keys():
        assert set(library.get(key).texts) == set(VARIETIES), key


def test_the_escalation_holding_reply_exists(library):
    reply = library.get("escalation-holding")
    assert reply is not None
    assert "team" in reply.texts["en-US"]


def test_every_shipped_reply_fits_on_x_in_every_locale(library):
    for key in library.keys():
        reply = library.get(key)
        for locale in LOCALES:
            rendered = render_reply(reply, locale, LONGEST_HANDLE, reply.article)
            assert rendered.weighted_length <= X_LIMIT, (key, locale)


def test_shipped_texts_leave_handle_link_and_hashtag_to_the_renderer(library):
    for key in library.keys():
        for text in library.get(key).texts.values():
            assert "#fxhelp" not in text.lower() and "@" not in text and "http" not in text, key


def test_topics_list_every_key_once(library):
    keys_in_topics = [key for topic in library.topics() for key in topic.keys]
    assert sorted(keys_in_topics) == library.keys()
    assert all(topic.title for topic in library.topics())


def test_get_is_case_and_space_tolerant_and_none_when_unknown(library):
    assert library.get(" Crashes ").key == "crashes"
    assert library.get("no-such-reply") is None


# --- validation -------------------------------------------------------------------------


def test_a_valid_library_in_a_temporary_folder_loads(tmp_path):
    folder = tmp_path / "replies"
    write_topic(folder, "sync", [a_reply()])
    library = ReplyLibrary.load(folder)
    assert library.keys() == ["sync-setup"]
    assert library.get("sync-setup").topic == "sync"


def test_broken_yaml_names_the_file_and_the_line(tmp_path):
    folder = tmp_path / "replies"
    folder.mkdir()
    (folder / "sync.yaml").write_text("topic: sync\nreplies: [\n  - key: x\n")
    [problem] = problems_loading(folder)
    assert problem.startswith("replies/sync.yaml: not valid YAML (line ")


def test_a_missing_field_names_file_key_and_field(tmp_path):
    folder = tmp_path / "replies"
    reply = a_reply()
    del reply["title"]
    write_topic(folder, "sync", [reply])
    assert problems_loading(folder) == ["replies/sync.yaml: reply 'sync-setup': field 'title' is missing"]


def test_an_empty_field_is_refused(tmp_path):
    folder = tmp_path / "replies"
    write_topic(folder, "sync", [a_reply(title="  ")])
    assert problems_loading(folder) == ["replies/sync.yaml: reply 'sync-setup': field 'title' is empty"]


def test_a_wrong_type_is_refused(tmp_path):
    folder = tmp_path / "replies"
    write_topic(folder, "sync", [a_reply(tags="sync")])
    assert problems_loading(folder) == ["replies/sync.yaml: reply 'sync-setup': field 'tags' must be a list, got text"]


def test_a_key_of_the_wrong_type_is_named_by_position(tmp_path):
    folder = tmp_path / "replies"
    write_topic(folder, "sync", [a_reply(), a_reply(key=42)])
    assert problems_loading(folder) == ["replies/sync.yaml: reply #2: field 'key' must be text, got a number"]


def test_a_key_must_be_lower_case_words_with_dashes(tmp_path):
    folder = tmp_path / "replies"
    write_topic(folder, "sync", [a_reply(key="Sync_Setup")])
    [problem] = problems_loading(folder)
    assert problem.startswith("replies/sync.yaml: reply #1: field 'key' must be lower-case")


def test_a_duplicate_key_across_files_names_both_files(tmp_path):
    folder = tmp_path / "replies"
    write_topic(folder, "general", [a_reply()])
    write_topic(folder, "sync", [a_reply()])
    assert problems_loading(folder) == [
        "replies/sync.yaml: reply 'sync-setup': field 'key' repeats 'sync-setup', already used in replies/general.yaml"
    ]


def test_a_missing_locale_names_the_locale(tmp_path):
    folder = tmp_path / "replies"
    reply = a_reply()
    del reply["text"]["de"]
    write_topic(folder, "sync", [reply])
    assert problems_loading(folder) == ["replies/sync.yaml: reply 'sync-setup': field 'text.de' is missing"]


def test_an_unknown_locale_is_refused_as_a_likely_typo(tmp_path):
    folder = tmp_path / "replies"
    reply = a_reply()
    reply["text"]["en_US"] = "Hello"
    write_topic(folder, "sync", [reply])
    [problem] = problems_loading(folder)
    assert problem.startswith("replies/sync.yaml: reply 'sync-setup': field 'text' has unknown locale 'en_US'")


@pytest.mark.parametrize(
    "article",
    [
        "https://example.com/kb/how-do-i-set-sync-my-computer",
        "http://support.mozilla.org/kb/how-do-i-set-sync-my-computer",
        "https://support.mozilla.org/en-US/kb/how-do-i-set-sync-my-computer",
        "https://support.mozilla.org.evil.example/kb/how-do-i-set-sync-my-computer",
        "https://support.mozilla.org/questions/123456",
    ],
)
def test_an_article_must_be_a_sumo_kb_link_without_locale(tmp_path, article):
    folder = tmp_path / "replies"
    write_topic(folder, "sync", [a_reply(article=article)])
    [problem] = problems_loading(folder)
    assert problem.startswith("replies/sync.yaml: reply 'sync-setup': field 'article' must be a https://support.mozilla.org/kb/")


def test_a_text_too_long_in_one_locale_names_the_locale_and_the_length(tmp_path):
    folder = tmp_path / "replies"
    reply = a_reply()
    reply["text"]["fr"] = "Bonjour ! " * 25
    write_topic(folder, "sync", [reply])
    [problem] = problems_loading(folder)
    expected_length = weighted_length(f"{LONGEST_HANDLE} {reply['text']['fr'].strip()} {SYNC_ARTICLE} #fxhelp")
    assert problem.startswith(
        f"replies/sync.yaml: reply 'sync-setup': field 'text.fr' is {expected_length} characters in fr when "
        "rendered with a 16-character @handle"
    )
    assert f"cut {expected_length - 280}" in problem


@pytest.mark.parametrize(
    ("text", "complaint"),
    [
        ("Thanks! #fxhelp", "must not contain #fxhelp"),
        ("Thanks! ＃fxhelp", "must not contain #fxhelp"),  # fullwidth: X reads it as the hashtag too
        ("See https://mzl.la/abc for more", "must not contain a link"),
        ("Hi @someone, sorry!", "must not contain an @handle"),
        ("Yay 🎉🎉🎉🎉", "emoji"),
    ],
)
def test_a_text_must_leave_the_hashtag_link_and_handle_to_the_renderer(tmp_path, text, complaint):
    folder = tmp_path / "replies"
    reply = a_reply()
    reply["text"]["es"] = text
    write_topic(folder, "sync", [reply])
    [problem] = problems_loading(folder)
    assert problem.startswith("replies/sync.yaml: reply 'sync-setup': field 'text.es'")
    assert complaint in problem


def test_an_unknown_field_is_refused_as_a_likely_typo(tmp_path):
    folder = tmp_path / "replies"
    write_topic(folder, "sync", [a_reply(artcle=SYNC_ARTICLE)])
    assert problems_loading(folder) == [
        "replies/sync.yaml: reply 'sync-setup': unknown field 'artcle' (expected key, title, tags, article, text)"
    ]


def test_topic_level_problems_name_the_file_and_field(tmp_path):
    folder = tmp_path / "replies"
    write_topic(folder, "sync", [], title=None)
    assert problems_loading(folder) == [
        "replies/sync.yaml: field 'title' is empty",
        "replies/sync.yaml: field 'replies' is empty",
    ]


def test_every_problem_is_collected_into_one_error(tmp_path):
    folder = tmp_path / "replies"
    broken = a_reply()
    del broken["text"]["fr"]
    write_topic(folder, "sync", [broken, a_reply(key="sync-again", article="https://example.com/kb/x")])
    (folder / "zzz.yaml").write_text("topic: [unclosed\n")
    with pytest.raises(ReplyLibraryError) as caught:
        ReplyLibrary.load(folder)
    assert len(caught.value.problems) == 3
    message = str(caught.value)
    assert message.startswith("the reply library has 3 problems:")
    for problem in caught.value.problems:
        assert f"  - {problem}" in message


def test_a_missing_folder_or_an_empty_one_is_reported(tmp_path):
    assert problems_loading(tmp_path / "nowhere") == [f"{tmp_path / 'nowhere'}: not a folder of reply files"]
    (tmp_path / "empty").mkdir()
    assert problems_loading(tmp_path / "empty") == [f"{tmp_path / 'empty'}: has no *.yaml reply files"]


# --- search -----------------------------------------------------------------------------


def keys_found(library: ReplyLibrary, words: str) -> list[str]:
    return [hit.reply.key for hit in library.search(words)]


def test_search_tolerates_a_typo(library):
    assert "password" in keys_found(library, "paswords")[0]


def test_search_tolerates_a_typo_among_several_words(library):
    assert keys_found(library, "bookmark restor")[0] == "restore-bookmarks"
    assert keys_found(library, "cleer cache")[0] in {"clear-cache", "clear-cache-cookies"}


def test_search_finds_words_of_every_locale(library):
    assert keys_found(library, "Abstürze")[0] == "crashes"
    assert keys_found(library, "Lesezeichen Sicherung Verlust")[0] == "restore-bookmarks"
    assert keys_found(library, "ventanas emergentes")[0] == "popups-redirects"
    assert keys_found(library, "clé de récupération")[0] == "mozilla-account-password"


def test_search_ignores_accents(library):
    assert keys_found(library, "contrasena")[0] == keys_found(library, "contraseña")[0]


def test_search_completes_a_prefix(library):
    assert "password" in keys_found(library, "passw")[0]


def test_search_returns_at_most_the_limit_best_first(library):
    hits = library.search("firefox")
    assert len(hits) == 5
    assert len(library.search("firefox", limit=2)) == 2
    scores = [hit.score for hit in library.search("sync not working")]
    assert scores == sorted(scores, reverse=True)
    assert library.search("sync not working")[0].reply.key == "sync-not-working"


def test_search_finds_nothing_for_nonsense(library):
    assert library.search("xyzzy qwrtp") == []
    assert library.search("") == []
    assert library.search("!!! ???") == []


def test_closest_keys_suggest_what_was_meant(library):
    assert library.closest_keys("clear-cach")[0] == "clear-cache"
    assert library.closest_keys("escalation-holdin")[0] == "escalation-holding"
    assert set(library.closest_keys("sync")) <= set(library.keys())
    assert len(library.closest_keys("sync", limit=2)) == 2
    assert library.closest_keys("zzzz") == []


# --- near copies ------------------------------------------------------------------------


def test_a_rendered_reply_is_a_near_copy_of_its_reply(library):
    reply = library.get("crashes")
    for locale in LOCALES:
        rendered = render_reply(reply, locale, "@maria", "https://mzl.la/3abc")
        assert library.near_copy(rendered.text) == reply


def test_a_copy_with_small_edits_is_still_a_copy(library):
    text = library.get("refresh-firefox").texts["en-US"]
    edited = "@maria  " + text.upper().replace("often", "usually") + "   #FXHELP"
    assert library.near_copy(edited).key == "refresh-firefox"


def test_a_reply_with_a_fullwidth_hashtag_is_still_a_copy(library):
    """The library and the draft check share x_text's #fxhelp, which X reads with ＃ too."""
    reply = library.get("crashes")
    rendered = render_reply(reply, "en-US", "@maria", "https://mzl.la/3abc").text
    with_fullwidth = rendered.replace("#fxhelp", "＃fxhelp")
    assert has_fxhelp_hashtag(with_fullwidth) and library.near_copy(with_fullwidth) == reply


def test_a_hashtag_that_only_starts_like_fxhelp_is_a_text_s_own(tmp_path):
    folder = tmp_path / "replies"
    reply = a_reply()
    reply["text"]["es"] = "Gracias a los #fxhelpers por la ayuda."
    write_topic(folder, "sync", [reply])
    assert ReplyLibrary.load(folder).get("sync-setup").texts["es"] == "Gracias a los #fxhelpers por la ayuda."


def test_a_tailored_reply_is_not_a_near_copy(library):
    tailored = (
        "@maria So sorry Firefox keeps crashing when you open Gmail! Could you update it and "
        "your graphics drivers, then tell us if Gmail still takes it down? https://mzl.la/3abc #fxhelp"
    )
    assert library.near_copy(tailored) is None
    assert library.near_copy("") is None


# --- locales and rendering --------------------------------------------------------------


@pytest.mark.parametrize(
    ("requested", "expected"),
    [
        ("es", ("es", False)),
        ("ES", ("es", False)),
        ("es-ES", ("es-ES", False)),
        ("es_MX", ("es-MX", False)),
        ("es-co", ("es-419", False)),
        ("es-419", ("es-419", False)),
        ("es-AR", ("es-AR", False)),
        ("de-DE", ("de-DE", False)),
        ("de-ch", ("de-CH", False)),
        ("de-LI", ("de", False)),
        ("fr-CA", ("fr", False)),
        ("en", ("en-US", False)),
        ("en-GB", ("en-US", False)),
        ("en-us", ("en-US", False)),
        (None, ("en-US", False)),
        ("", ("en-US", False)),
        ("it", ("en-US", True)),
        ("pt-BR", ("en-US", True)),
    ],
)
def test_resolve_locale(requested, expected):
    assert resolve_locale(requested, VARIETIES) == expected


def test_resolve_locale_falls_back_when_the_reply_lacks_the_locale():
    assert resolve_locale("de", ["en-US", "fr"]) == ("en-US", True)
    assert resolve_locale("it", ["en-US", "fr"], default="fr") == ("fr", True)


def sample_reply() -> Reply:
    return Reply(
        key="sync-setup",
        topic="sync",
        title="Set up Sync",
        tags=("sync",),
        article=SYNC_ARTICLE,
        texts={"en-US": "Sign in on each device:", "es": "Inicia sesión en cada dispositivo:"},
    )


def test_render_reply_puts_handle_text_link_and_hashtag_in_order():
    rendered = render_reply(sample_reply(), "en-US", "@maria", "https://mzl.la/3abc")
    assert rendered.text == "@maria Sign in on each device: https://mzl.la/3abc #fxhelp"
    assert rendered.weighted_length == weighted_length(rendered.text)
    assert rendered.remaining == 280 - rendered.weighted_length


def test_render_reply_adds_the_at_sign_and_works_without_handle():
    assert render_reply(sample_reply(), "es", "maria", "https://mzl.la/x").text.startswith("@maria Inicia")
    assert render_reply(sample_reply(), "es", None, "https://mzl.la/x").text.startswith("Inicia")
    assert render_reply(sample_reply(), "es", "  ", "https://mzl.la/x").text.startswith("Inicia")


def test_render_reply_uses_the_article_when_there_is_no_short_link():
    assert SYNC_ARTICLE in render_reply(sample_reply(), "en-US", None, "").text


def test_render_reply_adds_fxhelp_only_once():
    reply = replace(sample_reply(), texts={"en-US": "Already tagged #FxHelp, see:"})
    assert render_reply(reply, "en-US", None, "https://mzl.la/x").text.lower().count("#fxhelp") == 1
