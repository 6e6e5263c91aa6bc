"""X's weighted counting, and the helpers that read text the way X does."""

from hypothesis import given, settings
from hypothesis import strategies as st
from twitter_text import parse_tweet

from bot.features.x_text import (
    X_LIMIT,
    emoji_count,
    has_fxhelp_hashtag,
    links_in,
    weighted_length,
)

LONG_SUMO_LINK = "https://support.mozilla.org/kb/firefox-crashes-troubleshoot-prevent-and-get-help"


def test_the_limit_is_280():
    assert X_LIMIT == 280


def test_a_link_counts_23_whatever_its_length():
    assert weighted_length(LONG_SUMO_LINK) == 23
    assert weighted_length("https://mzl.la/3xYz") == 23
    assert weighted_length(f"see {LONG_SUMO_LINK} now") == len("see ") + 23 + len(" now")


def test_a_link_without_scheme_counts_23_too():
    assert weighted_length("mzl.la/3xYz") == 23


def test_cjk_characters_count_2():
    assert weighted_length("日本語") == 6
    assert weighted_length("火狐 ok") == 2 * 2 + 3


def test_emoji_count_2_even_when_built_from_several_code_points():
    assert weighted_length("😀") == 2
    assert weighted_length("👨‍👩‍👧‍👦") == 2  # family: 7 code points joined
    assert weighted_length("🇫🇷") == 2  # flag: 2 regional indicators
    assert weighted_length("👍🏽") == 2  # skin tone modifier
    assert weighted_length("#️⃣") == 2  # keycap


def test_latin_letters_with_accents_count_1():
    assert weighted_length("contraseña über élan") == len("contraseña über élan")


def test_a_windows_line_ending_counts_1():
    assert weighted_length("a\r\nb") == 3


@settings(max_examples=300)
@given(st.text())
def test_the_count_is_the_one_of_twitter_text_parse_tweet(text):
    assert weighted_length(text) == parse_tweet(text).weightedLength


@settings(max_examples=150)
@given(
    st.lists(
        st.sampled_from(
            ["😀", "👨‍👩‍👧", "🇩🇪", "1️⃣", "©", "™️", "日本", "https://mzl.la/x", "example.com", " ", "é", "a"]
        )
        | st.text(max_size=5),
        max_size=40,
    ).map("".join)
)
def test_the_count_matches_parse_tweet_on_emoji_and_links_mixed(text):
    assert weighted_length(text) == parse_tweet(text).weightedLength


def test_a_lone_surrogate_does_not_break_the_count():
    assert weighted_length("a\ud800b") == 4  # the surrogate weighs 2, as any unlisted character


def test_links_are_found_with_their_positions():
    links = links_in(f"hi {LONG_SUMO_LINK} and mzl.la/abc")
    assert [link.url for link in links] == [LONG_SUMO_LINK, "mzl.la/abc"]
    assert links[0].start == 3


def test_emoji_are_counted_as_people_see_them():
    assert emoji_count("Welcome! 🦊 👨‍👩‍👧 ok") == 2
    assert emoji_count("no emoji here 123") == 0


def test_fxhelp_is_found_only_as_a_real_hashtag():
    assert has_fxhelp_hashtag("Try this #fxhelp")
    assert has_fxhelp_hashtag("#FxHelp at the start")
    assert has_fxhelp_hashtag("end with a comma #fxhelp, fine")
    assert not has_fxhelp_hashtag("no hashtag fxhelp")
    assert not has_fxhelp_hashtag("glued a#fxhelp")
    assert not has_fxhelp_hashtag("another tag #fxhelpers")


# -- links on hostile text: the same links, found in linear time -----------------------------------

_LINKISH = st.sampled_from(["a", "b", "com", "org", "la", "mzl", "x", "www", "é", "中", "1", "-", "_", "@", "+",
                            ".", ".", ".", "/", "?", "=", "~", " ", "https://", "http://", "xn--p1ai", "(", ")"])


@settings(max_examples=400)
@given(st.lists(_LINKISH, max_size=40).map("".join))
def test_links_are_the_ones_twitter_text_finds(text):
    # Up to MAX_CHAIN dots in a row and no label longer than DNS allows: where nothing is defused.
    from twitter_text import extract_urls_with_indices

    assert [(link.url, link.start, link.end) for link in links_in(text)] == [
        (entity["url"], *entity["indices"]) for entity in extract_urls_with_indices(text)
    ]


def test_a_run_of_dotted_labels_is_no_link_and_a_domain_after_it_still_is():
    text = "a." * 2000 + " see support.mozilla.org/kb/clear-cache"

    assert [link.url for link in links_in(text)] == ["support.mozilla.org/kb/clear-cache"]


def test_a_long_path_segment_keeps_its_link_whole():
    url = "https://support.mozilla.org/kb/" + "how-to-clear-the-firefox-cache-and-cookies-on-windows-and-macos-" * 3 + "v1.2.3.4"

    assert [link.url for link in links_in(f"Try {url} #fxhelp")] == [url]
