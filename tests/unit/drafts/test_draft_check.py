"""`!check`: each rule fires on a bad draft and stays quiet on a good one; nothing raises."""

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.features.drafts.check import CheckRules, Finding, check_draft, default_check_rules
from bot.features.links.policy import DEFAULT_ALLOWED_HOSTS, LinkRefused, normalise_link
from bot.features.replies.library import ReplyLibrary
from bot.features.replies.render import render_reply

SHIPPED = Path(__file__).resolve().parents[3] / "replies"
GOOD_DRAFT = (
    "@maria So sorry Firefox keeps crashing when you open Gmail! Could you update it and "
    "your graphics drivers, then tell us if it still happens? https://mzl.la/3abc #fxhelp"
)
SUMO_LINK = "https://support.mozilla.org/kb/firefox-crashes-troubleshoot-prevent-and-get-help"


@pytest.fixture(scope="module")
def rules() -> CheckRules:
    return default_check_rules()


@pytest.fixture(scope="module")
def library() -> ReplyLibrary:
    return ReplyLibrary.load(SHIPPED)


def rules_fired(draft: str, rules: CheckRules, library: ReplyLibrary | None = None) -> list[str]:
    return [finding.rule for finding in check_draft(draft, rules, library)]


def finding(draft: str, rule: str, rules: CheckRules, library: ReplyLibrary | None = None) -> Finding:
    [found] = [item for item in check_draft(draft, rules, library) if item.rule == rule]
    return found


def test_a_good_draft_passes_clean(rules, library):
    assert check_draft(GOOD_DRAFT, rules, library) == []


def test_the_shipped_word_lists_load_in_every_language(rules):
    assert {"election", "elecciones", "wahlkampf", "élection", "#maga"} <= set(rules.political)
    assert {"fuck", "mierda", "scheiße", "merde"} <= set(rules.profanity)


# --- length -----------------------------------------------------------------------------


def test_length_fires_over_280_and_says_how_much_to_cut(rules):
    draft = "@maria " + "a" * 280 + " #fxhelp"
    found = finding(draft, "length", rules)
    assert "295 characters" in found.problem  # 7 + 280 + 8
    assert "Cut 15 characters" in found.fix


def test_length_counts_links_as_23_like_x(rules):
    long_but_fine = "@maria " + "a" * 200 + " " + SUMO_LINK + " #fxhelp"  # 300 raw, 239 on X
    assert "length" not in rules_fired(long_but_fine, rules)


def test_length_counts_emoji_and_cjk_as_2(rules):
    assert "length" in rules_fired("😀" * 137 + " #fxhelp", rules)  # 274 + 8
    assert "length" not in rules_fired("😀" * 136 + " #fxhelp", rules)  # 272 + 8
    assert "length" in rules_fired("火" * 137 + " #fxhelp", rules)


# --- #fxhelp ----------------------------------------------------------------------------


def test_invalid_characters_fire_with_their_name_and_position(rules):
    # twitter-text's validate.yml: U+FFFE, U+FEFF, U+FFFF and the directional U+202A-U+202E make a post invalid.
    draft = "Try\ufeff Troubleshoot \u202eMode #fxhelp\uffff"
    found = finding(draft, "invalid-character", rules)
    assert found.problem == ("X refuses posts with U+FEFF ZERO WIDTH NO-BREAK SPACE at position 4, "
                             "U+202E RIGHT-TO-LEFT OVERRIDE at position 19, U+FFFF (a noncharacter) at position 32.")
    assert "paste it as plain text" in found.fix


@pytest.mark.parametrize("character", ["\ufffe", "\u202a", "\u202b", "\u202c", "\u202d"])
def test_every_character_x_refuses_is_flagged(rules, character):
    assert "invalid-character" in rules_fired(f"Thanks!{character} #fxhelp", rules)


def test_other_invisible_characters_are_not_invalid(rules):
    # A zero-width space or a left-to-right mark is allowed on X (twitter-text counts them, valid).
    assert "invalid-character" not in rules_fired("Thanks!\u200b\u200e #fxhelp", rules)


def test_hashtag_fires_when_fxhelp_is_missing(rules):
    assert finding("@maria Try a refresh: https://mzl.la/x", "hashtag", rules).problem == "#fxhelp is missing."


@pytest.mark.parametrize("almost", ["fxhelp", "a#fxhelp", "#fxhelpers", "#fx_help", "# fxhelp"])
def test_hashtag_wants_a_real_fxhelp_hashtag(rules, almost):
    assert "hashtag" in rules_fired(f"@maria Try a refresh {almost}", rules)


@pytest.mark.parametrize("tagged", ["#fxhelp", "#FXHELP", "#FxHelp!", "(#fxhelp)", "＃fxhelp"])
def test_hashtag_accepts_any_case_and_punctuation_around(rules, tagged):
    assert "hashtag" not in rules_fired(f"@maria Try a refresh {tagged}", rules)


# --- long links -------------------------------------------------------------------------


def test_long_link_fires_on_a_support_link_and_explains_why_shorten(rules):
    found = finding(f"@maria See {SUMO_LINK} #fxhelp", "long-link", rules)
    assert SUMO_LINK in found.problem
    assert "23" in found.fix and "saves no characters" in found.fix
    assert "trusted" in found.fix and "clicks" in found.fix
    assert f"!shorten {SUMO_LINK}" in found.fix


@pytest.mark.parametrize(
    "link",
    ["support.mozilla.org/kb/clear-cookies", "https://addons.mozilla.org/firefox/addon/ublock-origin/", "https://www.firefox.com/"],
)
def test_long_link_fires_on_any_mozilla_link(rules, link):
    assert "long-link" in rules_fired(f"@maria See {link} #fxhelp", rules)


@pytest.mark.parametrize("link", ["https://mzl.la/3abc", "mzl.la/3abc", "https://example.com/mozilla.org", "https://notmozilla.org/x"])
def test_long_link_ignores_short_links_and_other_sites(rules, link):
    assert "long-link" not in rules_fired(f"@maria See {link} #fxhelp", rules)



_HOSTS_TO_TRY = (*DEFAULT_ALLOWED_HOSTS, *(f"foo.{host}" for host in DEFAULT_ALLOWED_HOSTS),
                 "www.mozilla.com", "mozilla.com", "download-installer.cdn.mozilla.net", "mozilla.net",
                 "notmozilla.org", "mozilla.org.example.com", "firefox.com.example.org", "mzl.la", "example.com")


@pytest.mark.parametrize("host", _HOSTS_TO_TRY)
def test_long_link_fires_exactly_on_the_links_shorten_accepts(rules, host):
    """The draft check and `!shorten` read Mozilla's hosts from one list, so "!shorten <link>" is
    suggested for a link exactly when `!shorten` would shorten it."""
    link = f"https://{host}/kb/clear-cookies"
    try:
        normalise_link(link, DEFAULT_ALLOWED_HOSTS)
        shortenable = True
    except LinkRefused:
        shortenable = False
    assert ("long-link" in rules_fired(f"@maria See {link} #fxhelp", rules)) is shortenable


def test_long_link_follows_the_configured_allowed_hosts():
    rules = default_check_rules(link_hosts=("support.mozilla.org",))
    assert "long-link" in rules_fired("@maria See https://support.mozilla.org/kb/x #fxhelp", rules)
    assert "long-link" not in rules_fired("@maria See https://www.firefox.com/ #fxhelp", rules)

# --- political and controversial --------------------------------------------------------


def test_political_fires_and_names_the_words_and_hashtags(rules):
    found = finding("@maria Forget the election, just update #MAGA #fxhelp", "political", rules)
    assert found.problem == "Political or controversial: election, #maga"


@pytest.mark.parametrize(
    "draft",
    [
        "Firefox works in Gaza too #fxhelp",
        "Firefox und die Bundestagswahl #fxhelp",
        "Las elecciones no importan #fxhelp",
        "Avant les élections #fxhelp",
        "Sobre la eleccion de hoy #fxhelp",  # accent left out
        "Talking about gun   control here #fxhelp",  # a phrase, spaces folded
        "#Trump fans love Firefox #fxhelp",  # a word also matches its hashtag
    ],
)
def test_political_fires_in_every_language(rules, draft):
    assert "political" in rules_fired(draft, rules)


@pytest.mark.parametrize(
    "draft",
    [
        "Das war ein Fehler in der Wahl der Einstellungen #fxhelp",  # German "was", "choice"
        "Firefox con cookies, a la izquierda #fxhelp",  # Spanish "with", "to the left"
        "A Russian language pack is available #fxhelp",
        "Un navegador maduro y estable #fxhelp",  # Spanish "mature"
        "I woke up and Firefox had updated #fxhelp",
    ],
)
def test_political_stays_quiet_on_harmless_words(rules, draft):
    assert "political" not in rules_fired(draft, rules)


# --- profanity --------------------------------------------------------------------------


def test_profanity_fires_and_masks_the_words(rules):
    found = finding("@maria This fucking update, what an idiot #fxhelp", "profanity", rules)
    assert found.problem == "Rude or offensive: f*****g, i***t"


@pytest.mark.parametrize(
    "draft",
    [
        "Qué mierda #fxhelp",
        "So eine Scheiße #fxhelp",
        "SO EINE SCHEISSE #fxhelp",
        "Quel connard #fxhelp",
        "you i\u200bdiot #fxhelp",  # zero-width space inside
        "you i\u00addiot #fxhelp",  # soft hyphen inside
        "you ｉｄｉｏｔ #fxhelp",  # fullwidth letters
        "you 𝐢𝐝𝐢𝐨𝐭 #fxhelp",  # mathematical bold letters
        "ta gueule #fxhelp",
    ],
)
def test_profanity_sees_through_case_accents_and_invisible_characters(rules, draft):
    assert "profanity" in rules_fired(draft, rules)


@pytest.mark.parametrize(
    "draft",
    [
        "Greetings from Scunthorpe #fxhelp",
        "Das ist idiotensicher #fxhelp",
        "Pass the class assignment #fxhelp",
        "A cul-de-sac and a bite #fxhelp",
        "Das Bild ist zu hell und zu dick #fxhelp",
    ],
)
def test_profanity_matches_whole_words_only(rules, draft):
    assert "profanity" not in rules_fired(draft, rules)


# --- shouting ---------------------------------------------------------------------------


def test_shouting_fires_on_mostly_capitals(rules):
    found = finding("@maria PLEASE UPDATE FIREFOX RIGHT NOW #fxhelp", "shouting", rules)
    assert "100%" in found.problem


def test_shouting_ignores_acronyms_handles_hashtags_and_links(rules):
    draft = "@MARIA_OFFICIAL Use the VPN, a PDF, DNS over HTTPS, on iOS: https://MZL.LA/ABCDEF #FXHELP"
    assert "shouting" not in rules_fired(draft, rules)


def test_shouting_needs_enough_letters(rules):
    assert "shouting" not in rules_fired("@maria OK, THANKS! #fxhelp", rules)


# --- copies of common replies -----------------------------------------------------------


def test_copy_fires_on_a_pasted_common_reply_and_names_it(rules, library):
    pasted = render_reply(library.get("crashes"), "en-US", "@maria", "https://mzl.la/3abc").text
    found = finding(pasted, "copy", rules, library)
    assert "'crashes'" in found.problem
    assert "Tailor it to the user" in found.fix


def test_copy_fires_in_every_locale(rules, library):
    for locale in ("es", "de", "fr"):
        pasted = render_reply(library.get("refresh-firefox"), locale, "@maria", "https://mzl.la/3abc").text
        assert "copy" in rules_fired(pasted, rules, library), locale


def test_copy_stays_quiet_on_the_same_reply_reworded(rules, library):
    reworded = (
        "@maria Ugh, sorry about the crashes! A lot of them go away once Firefox and your "
        "graphics drivers are updated. Still crashing after that? This guide can help find out why: "
        "https://mzl.la/3abc #fxhelp"
    )
    assert rules_fired(reworded, rules, library) == []


def test_copy_is_skipped_without_a_library(rules, library):
    pasted = render_reply(library.get("crashes"), "en-US", "@maria", "https://mzl.la/3abc").text
    assert "copy" not in rules_fired(pasted, rules, None)


# --- robustness -------------------------------------------------------------------------


def test_the_word_lists_refuse_an_entry_that_cannot_match():
    with pytest.raises(ValueError, match="f\\*ck"):
        CheckRules(political=("election",), profanity=("f*ck",))


def test_findings_are_plain_strings(rules, library):
    draft = "<b>IDIOT</b> vote **now** " + SUMO_LINK + " " + "x" * 300
    for item in check_draft(draft, rules, library):
        assert all(isinstance(value, str) and value for value in (item.rule, item.problem, item.fix))


def test_a_huge_draft_gives_findings(rules, library):
    findings = rules_fired(("Firefox is great, " * 600)[:10_000], rules, library)
    assert findings == ["length", "hashtag"]


FRAGMENTS = [
    "<b>", "</b>", "<a href='https://support.mozilla.org/kb/x'>", "</a>", "<script>alert(1)</script>",
    "**bold**", "_em_", "`code`", "[link](https://mzl.la/x)", "> quote\n", "# title\n", "- item\n",
    "\u200b", "\u200c", "\u200d", "\u2060", "\ufeff", "\u00ad", "\u202e", "\u200f", "\u061c",
    "שלום", "مرحبا", "日本語", "😀", "👨‍👩‍👧", "🇫🇷", "#fxhelp", "@maria", "idiot", "election",
    "VPN", "HELLO", " ", "\n", "\t", "mzl.la/abc", "https://", "..", "#", "@",
]


@settings(max_examples=200, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.text())
def test_check_draft_never_raises_on_any_text(rules, library, draft):
    check_draft(draft, rules, library)


def repeated_to(length: int):
    return lambda chunk: (chunk * (length // len(chunk) + 1))[:length]


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    st.text(min_size=1, max_size=40).map(repeated_to(10_000))
    | st.lists(st.sampled_from(FRAGMENTS), min_size=1, max_size=20).map("".join).map(repeated_to(12_000))
)
def test_check_draft_never_raises_on_long_text(rules, library, draft):
    assert isinstance(check_draft(draft, rules, library), list)


@settings(max_examples=200, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.sampled_from(FRAGMENTS) | st.text(max_size=8), max_size=60).map("".join))
def test_check_draft_never_raises_on_markup_invisible_and_rtl_text(rules, library, draft):
    for item in check_draft(draft, rules, library):
        assert isinstance(item, Finding)


def test_a_lone_surrogate_does_not_raise(rules, library):
    assert "hashtag" in rules_fired("broken \ud800 text", rules, library)
