"""Text going in and out of Slack: escaping untrusted text, and Slack markup back to plain text."""

from __future__ import annotations

import re

ELLIPSIS = "…"


def escape(text: str) -> str:
    """Escape Slack's three control characters so untrusted text can never mention or link.

    `<!channel>`, `<@U…>`, `<!subteam^…>` and `<https://x|label>` all need `<`, so escaping it
    neutralises every one of them.
    """
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def shorten(text: str, limit: int) -> str:
    """At most `limit` characters, cut at a word boundary where one is near, with an ellipsis."""
    text = text.strip()
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    space = cut.rfind(" ")
    # Back up to the last whole word, unless the cut already falls between words.
    if not text[limit - 1].isspace() and space > limit * 0.6:
        cut = cut[:space]
    return cut.rstrip() + ELLIPSIS


def escape_within(text: str, limit: int) -> str:
    """`text` escaped, in at most `limit` characters as Slack counts them (after escaping: each
    `&` becomes five), shortened at a word boundary with an ellipsis when it does not fit."""
    text = text.strip()
    escaped = escape(text)
    if len(escaped) <= limit:
        return escaped
    # The longest prefix whose escaped form leaves room for the ellipsis.
    size, keep = 0, 0
    for char in text:
        size += len(escape(char))
        if size > limit - 1:
            break
        keep += 1
    return escape(shorten(text, keep + 1)) if keep else ELLIPSIS


def quote(text: str) -> str:
    """A mrkdwn block quote of already-escaped text."""
    return "\n".join(f">{line}" for line in text.splitlines() or [""])


_MARKUP = re.compile(r"<([^<>]*)>")


def _plain_markup(match: re.Match[str]) -> str:
    inner = match.group(1)
    target, _, label = inner.partition("|")
    if target.startswith("@"):  # <@U123> or <@U123|name>
        return f"@{label or target[1:]}"
    if target.startswith("#"):  # <#C123|general>
        return f"#{label or target[1:]}"
    if target.startswith("!subteam^"):
        return f"@{label.lstrip('@') or 'group'}"
    if target.startswith("!"):  # <!here>, <!channel>, <!date^…|fallback>
        return label or f"@{target[1:]}"
    return target  # a link: the URL itself matters to a browser, not its label


def slack_to_plain(text: str) -> str:
    """Slack's message markup as the plain text a person meant (links become their URLs)."""
    text = _MARKUP.sub(_plain_markup, text)
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def usd(amount: float) -> str:
    """Dollars and cents; under a dollar, to the tenth of a cent (tasks often cost cents)."""
    if amount >= 1 or round(amount, 2) == round(amount, 4):
        return f"${amount:,.2f}"
    return "$" + f"{amount:.4f}".rstrip("0")
