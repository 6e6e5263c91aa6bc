"""The prefilled Bugzilla link: parse it back and compare; any text gives a link that opens."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

from hypothesis import given
from hypothesis import strategies as st

from bot.features.bugzilla import (
    DESCRIPTION_TEMPLATE,
    MAX_SUMMARY,
    MAX_URL_LENGTH,
    bug_summary,
    enter_bug_url,
)
from tests.unit.world import ALICE, build_world


def form_fields(url: str) -> dict[str, str]:
    parts = urlsplit(url)
    assert (parts.scheme, parts.netloc, parts.path) == ("https", "bugzilla.mozilla.org", "/enter_bug.cgi")
    fields = parse_qs(parts.query, keep_blank_values=True, strict_parsing=True)
    assert all(len(values) == 1 for values in fields.values())
    return {name: values[0] for name, values in fields.items()}


def test_a_one_line_summary_becomes_the_title_and_the_description_is_the_template() -> None:
    fields = form_fields(enter_bug_url("Videos stutter on YouTube after updating to 135"))

    assert fields == {
        "product": "Firefox",
        "component": "Untriaged",
        "short_desc": "Videos stutter on YouTube after updating to 135",
        "comment": DESCRIPTION_TEMPLATE,
    }


def test_the_template_asks_for_what_a_good_report_needs() -> None:
    for heading in ("Steps to reproduce:", "Expected results:", "Actual results:", "Firefox version",
                    "Platform"):
        assert heading in DESCRIPTION_TEMPLATE


def test_the_link_is_url_encoded() -> None:
    url = enter_bug_url('Tabs & "pinned" sites = gone? 100% #lost')
    query = urlsplit(url).query

    assert " " not in url and '"' not in url and "#" not in url
    assert "short_desc=Tabs%20%26%20%22pinned%22%20sites%20%3D%20gone%3F%20100%25%20%23lost" in query
    assert form_fields(url)["short_desc"] == 'Tabs & "pinned" sites = gone? 100% #lost'


def test_non_ascii_survives() -> None:
    summary = "Les onglets épinglés disparaissent — 固定タブが消える 🦊"

    assert form_fields(enter_bug_url(summary))["short_desc"] == summary


def test_more_lines_keep_the_first_as_title_and_all_in_the_description() -> None:
    fields = form_fields(enter_bug_url("Sync stopped\nafter I changed my password\non two devices"))

    assert fields["short_desc"] == "Sync stopped"
    assert fields["comment"].startswith(DESCRIPTION_TEMPLATE)
    assert fields["comment"].endswith("As first reported:\nSync stopped\nafter I changed my password\non two devices\n")


def test_a_long_summary_is_cut_at_a_word_within_255_characters() -> None:
    summary = "Firefox freezes when " + "opening many tabs " * 20

    title = bug_summary(summary)

    assert len(title) <= MAX_SUMMARY
    assert title.endswith("tabs") and summary.startswith(title)
    assert summary.strip() in form_fields(enter_bug_url(summary))["comment"]


def test_a_long_word_is_cut_where_it_must() -> None:
    assert bug_summary("x" * 400) == "x" * MAX_SUMMARY


def test_two_thousand_characters_still_make_a_link_that_opens() -> None:
    summary = ("Ünïcödé and \"quotes\" and\nnew lines & more " * 60)[:2000]

    url = enter_bug_url(summary)
    fields = form_fields(url)

    assert len(url) <= MAX_URL_LENGTH
    assert summary.startswith(fields["short_desc"])
    assert "As first reported:" in fields["comment"]


@given(st.text(max_size=3000))
def test_any_text_gives_a_valid_link_whose_title_is_a_prefix_of_it(summary: str) -> None:
    url = enter_bug_url(summary)
    fields = form_fields(url)

    assert len(url) <= MAX_URL_LENGTH
    assert summary.startswith(fields["short_desc"])
    assert len(fields["short_desc"]) <= MAX_SUMMARY
    assert fields["comment"].startswith(DESCRIPTION_TEMPLATE)
    assert (fields["product"], fields["component"]) == ("Firefox", "Untriaged")


# -- the command ----------------------------------------------------------------------------------


async def test_the_bug_command_gives_the_link_and_what_a_good_report_needs(tmp_path) -> None:
    world = await build_world(tmp_path / "fxhelp.db")
    sender = world.sender
    message = world.message(ALICE, "!bug Tabs <vanish> after restart", event_id="$bug")

    await world.dispatcher.handle(message)
    await world.close()

    [answer] = sender.sent
    assert answer.reply_to == "$bug"
    assert "open the prefilled bug form (https://bugzilla.mozilla.org/enter_bug.cgi?" in answer.text
    assert 'href="https://bugzilla.mozilla.org/enter_bug.cgi?product=Firefox&amp;' in answer.message.html
    assert "Tabs%20%3Cvanish%3E%20after%20restart" in answer.message.html
    for need in ("steps to reproduce", "expected result and the actual result", "version", "One problem per bug"):
        assert need in answer.text
