"""Study-provided text made safe for the Factory's Markdown: escaped so that it can neither break a
block or a table, nor ping anyone, nor inject HTML; links whose URLs cannot break out; counted nouns."""

from __future__ import annotations

import re

TEXT_LIMIT = 120  # longest run of study-provided text shown in one place

_BIDI_CONTROLS = "\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
_BREAKS = "\t\n\v\f\r\x85\u2028\u2029"
# Bidi controls could reorder what readers see and control characters have no business in a title:
# both go. Line breaks become spaces so that text stays on its table row.
_CLEAN = str.maketrans(
    {**dict.fromkeys(map(ord, _BIDI_CONTROLS)), **dict.fromkeys(map(ord, _BREAKS), " "),
     **{code: None for code in [*range(0x20), *range(0x7F, 0xA0)] if chr(code) not in _BREAKS}}
)
_ENTITIES = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;"})
_MARKDOWN = str.maketrans({char: "\\" + char for char in "\\`*_[]()~|"})
# What GitHub would turn into a mention or a link: @mentions, issue references (#123, owner/repo#1,
# GH-123) and bare URLs (https://..., www....). A zero-width space after the trigger keeps the text
# as written and makes it inert.
_PING = re.compile(r"@|#(?=\d)|(?<=GH)-(?=\d)|(?<=:)//|(?<=www)\.", re.IGNORECASE)
_UNSAFE_IN_URL = str.maketrans({char: f"%{ord(char):02X}" for char in " \"'<>()[]\\`|"})


def counted(count: int, noun: str, nouns: str | None = None) -> str:
    """`1 study`, `2 studies`: the count and the noun it takes (`nouns` when not noun + s)."""
    return f"{count} {noun if count == 1 else nouns or noun + 's'}"


def escape(text: str, limit: int = TEXT_LIMIT) -> str:
    """Study-provided text made inert: one line, no HTML, no markdown, no pings, at most `limit` chars."""
    clean = text.translate(_CLEAN).strip()
    if len(clean) > limit:
        clean = clean[: limit - 1] + "…"
    inert = clean.translate(_ENTITIES).translate(_MARKDOWN)
    return _PING.sub(lambda match: "&#8203;" + match.group() if match.group() in ("-", ".", "//")
                     else match.group() + "&#8203;", inert)


def fenced(text: str, info: str = "") -> str:
    """A fenced code block holding `text` as is: its fence is longer than any run of backticks in it."""
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    fence = "`" * max(3, longest + 1)
    return f"{fence}{info}\n{text}\n{fence}"


def safe_url(url: str) -> str:
    return url.translate(_UNSAFE_IN_URL)


def link(text: str, url: str) -> str:
    return f"[{text}]({safe_url(url)})"

