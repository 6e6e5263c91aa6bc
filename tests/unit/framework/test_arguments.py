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


@given(st.text(), st.sampled_from(["word", "text", "words", "integer", "choice", "trailing"]))
def test_no_input_crashes_the_parser(line, kind):
    declared = {
        "word": [word("a"), word("b", optional=True)],
        "text": [word("a"), text("b")],
        "words": [words("a")],
        "integer": [integer("n", optional=True)],
        "choice": [choice("c", ["x", "y"], optional=True)],
        "trailing": [text("a"), choice("c", ["x", "y"], trailing=True)],
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


# -- text, then an optional trailing word ----------------------------------------------------------

REASONS = ("trending", "no-kb", "paid", "brand", "other")
TEXT_THEN_REASON = (text("what"), choice("reason", REASONS, trailing=True))


@pytest.mark.parametrize(("line", "what", "reason"), [
    ('"new logo complaints" brand', '"new logo complaints"', "brand"),
    ("people ask about refunds   PAID", "people ask about refunds", "paid"),
    ("a   b  'no-kb'", "a   b", "no-kb"),
    ("paid people ask about it", "paid people ask about it", None),  # a reason word not last is text
    ('"the logo, paid"', '"the logo, paid"', None),  # quoted: one word, not a reason
    ("two reasons paid brand", "two reasons paid", "brand"),
    ("https://x.com/a/status/1", "https://x.com/a/status/1", None),
])
def test_the_last_word_is_the_trailing_choice_when_it_is_one(line, what, reason):
    assert parse_arguments(TEXT_THEN_REASON, line) == {"what": what, "reason": reason}


def test_a_trailing_choice_alone_leaves_a_required_text_missing_and_says_so():
    with pytest.raises(UsageError, match="^'paid' is the reason; put the what before it$"):
        parse_arguments(TEXT_THEN_REASON, '"paid"')
    with pytest.raises(UsageError, match="what is missing"):
        parse_arguments(TEXT_THEN_REASON, "   ")
    optional = (text("what", optional=True), choice("reason", REASONS, trailing=True, default="other"))
    assert parse_arguments(optional, "paid") == {"what": "", "reason": "paid"}
    assert parse_arguments(optional, "") == {"what": "", "reason": "other"}


def test_a_trailing_word_converts_or_stays_with_the_words():
    def locale(value: str) -> str:
        if value not in {"es", "de", "pt-BR"}:
            raise UsageError(f"{value} is not a locale")
        return value

    declared = (words("words"), word("lang", convert=locale, trailing=True, help="a locale"))

    assert parse_arguments(declared, "borrar cookies es") == {"words": ["borrar", "cookies"], "lang": "es"}
    assert parse_arguments(declared, "clear cookies") == {"words": ["clear", "cookies"], "lang": None}
    assert declared[1].optional and declared[1].usage() == "[lang]"


def test_a_trailing_argument_must_follow_a_greedy_one():
    with pytest.raises(TypeError):
        parse_arguments((word("key"), choice("reason", REASONS, trailing=True)), "a paid")
    with pytest.raises(TypeError):
        parse_arguments((text("what"), word("key")), "a b")


_WORDISH = st.lists(st.one_of(st.sampled_from([*REASONS, "PAID", '"', "'", "“", "”", " ", "  ", "x", "a b"]),
                              st.text(max_size=6)), max_size=8).map(" ".join)


@given(_WORDISH)
def test_the_trailing_choice_is_exactly_the_last_word_and_the_text_keeps_the_rest(line):
    try:
        parsed = parse_arguments(TEXT_THEN_REASON, line)
    except UsageError as error:
        assert str(error)
        return
    typed = split_words(line)
    if parsed["reason"] is None:
        assert parsed["what"] == line.strip()
        assert not typed or typed[-1].lower() not in REASONS
    else:
        assert typed[-1].lower() == parsed["reason"]
        assert split_words(parsed["what"]) == typed[:-1]
        assert line.strip().startswith(parsed["what"]) and parsed["what"] == parsed["what"].strip()
