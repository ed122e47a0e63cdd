"""Escaping untrusted text for Slack, and Slack markup back to plain text."""

from __future__ import annotations

import pytest

from handlers.slack_text import escape, quote, shorten, slack_to_plain


@pytest.mark.parametrize(
    "hostile",
    [
        "<!channel>",
        "<!here>",
        "<!everyone>",
        "<@U123>",
        "<!subteam^S1|@team>",
        "<#C1|general>",
        "<https://evil.example|click me>",
    ],
)
def test_escape_neutralises_every_mention_and_link(hostile: str) -> None:
    escaped = escape(f"hi {hostile} there")
    assert "<" not in escaped and ">" not in escaped
    assert escape("a & b") == "a &amp; b"


def test_escape_leaves_other_characters_alone() -> None:
    assert escape("*bold* _it_ \"q\" 'a' é 🎉") == "*bold* _it_ \"q\" 'a' é 🎉"


def test_shorten_cuts_at_a_word_with_an_ellipsis() -> None:
    assert shorten("short", 10) == "short"
    cut = shorten("the quick brown fox jumps over the lazy dog", 20)
    assert cut == "the quick brown fox…"
    assert len(shorten("x" * 100, 10)) == 10


def test_quote_marks_every_line() -> None:
    assert quote("a\nb") == ">a\n>b"


@pytest.mark.parametrize(
    ("markup", "plain"),
    [
        ("go to <https://example.com|Example>", "go to https://example.com"),
        ("<https://example.com>", "https://example.com"),
        ("<mailto:a@b.c|a@b.c>", "mailto:a@b.c"),
        ("ask <@U123>", "ask @U123"),
        ("ask <@U123|ada>", "ask @ada"),
        ("in <#C1|general>", "in #general"),
        ("in <#C1>", "in #C1"),
        ("<!here> now", "@here now"),
        ("<!subteam^S1|@devs>", "@devs"),
        ("1 &lt; 2 &amp;&amp; 3 &gt; 2", "1 < 2 && 3 > 2"),
        ("&amp;lt;", "&lt;"),
    ],
)
def test_slack_markup_becomes_plain_text(markup: str, plain: str) -> None:
    assert slack_to_plain(markup) == plain
