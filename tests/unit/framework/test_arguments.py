"""Splitting and typed arguments: quoted words, usage errors, and no input that crashes."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.framework.arguments import UsageError, choice, integer, parse_arguments, split_words, text, word, words


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("a b  c", ["a", "b", "c"]),
        ('"two words" x', ["two words", "x"]),
        ("'single quoted' y", ["single quoted", "y"]),
        ("“curly quotes” z", ["curly quotes", "z"]),
        ('"left open', ["left open"]),
        ('it"s fine', ['it"s', "fine"]),
        ('""', [""]),
        ("", []),
    ],
)
def test_split_words(line, expected):
    assert split_words(line) == expected


def test_optional_arguments_take_their_defaults():
    declared = [word("key"), word("lang", optional=True), word("handle", optional=True)]
    assert parse_arguments(declared, "sync") == {"key": "sync", "lang": None, "handle": None}
    assert parse_arguments(declared, "sync es @bob") == {"key": "sync", "lang": "es", "handle": "@bob"}


def test_missing_and_extra_words_are_usage_errors():
    with pytest.raises(UsageError, match="key is missing"):
        parse_arguments([word("key")], "  ")
    with pytest.raises(UsageError, match="too many words"):
        parse_arguments([word("key")], "a b")


def test_text_keeps_the_raw_rest_of_the_line():
    declared = [word("url"), text("thoughts")]
    parsed = parse_arguments(declared, 'https://x.com/a/status/1   "quoted"  and  spaced')
    assert parsed == {"url": "https://x.com/a/status/1", "thoughts": '"quoted"  and  spaced'}


def test_text_after_a_quoted_word():
    parsed = parse_arguments([word("first"), text("rest")], '"a b" c  d')
    assert parsed == {"first": "a b", "rest": "c  d"}


def test_words_collects_the_rest_as_a_list():
    assert parse_arguments([words("urls")], 'a "b c" d') == {"urls": ["a", "b c", "d"]}


def test_integer_accepts_hash_numbers_and_checks_bounds():
    assert parse_arguments([integer("N")], "#12") == {"N": 12}
    with pytest.raises(UsageError, match="whole number"):
        parse_arguments([integer("N")], "twelve")
    with pytest.raises(UsageError, match="at least 1"):
        parse_arguments([integer("N")], "0")
    with pytest.raises(UsageError, match="between 1 and 10"):
        parse_arguments([integer("days", maximum=10)], "11")


def test_choice_lists_the_options():
    with pytest.raises(UsageError, match="open, all"):
        parse_arguments([choice("which", ["open", "all"])], "some")
    assert parse_arguments([choice("which", ["open", "all"], optional=True, default="open")], "") == {"which": "open"}


def test_usage_line_shapes():
    assert word("key").usage() == "<key>"
    assert word("lang", optional=True).usage() == "[lang]"
    assert choice("which", ["open", "all"], optional=True).usage() == "[open|all]"
    assert words("url").usage() == "<url ...>"


@given(st.text())
def test_no_input_crashes_the_splitter(line):
    result = split_words(line)
    assert all(isinstance(w, str) for w in result)


@given(st.text(), st.sampled_from(["word", "text", "words", "integer", "choice"]))
def test_no_input_crashes_the_parser(line, kind):
    declared = {
        "word": [word("a"), word("b", optional=True)],
        "text": [word("a"), text("b")],
        "words": [words("a")],
        "integer": [integer("n", optional=True)],
        "choice": [choice("c", ["x", "y"], optional=True)],
    }[kind]
    try:
        parsed = parse_arguments(declared, line)
    except UsageError as error:
        assert str(error)
    else:
        assert set(parsed) == {arg.name for arg in declared}


def test_a_curly_opening_quote_closed_by_a_straight_one_ends_the_word_for_the_raw_rest_too():
    # Phones type “ and many people close with "; split_words accepts that, so the raw rest must too.
    args = (word("tweet url"), text("thoughts"))

    values = parse_arguments(args, '“https://x.com/a/status/1" my thoughts')

    assert values == {"tweet url": "https://x.com/a/status/1", "thoughts": "my thoughts"}
