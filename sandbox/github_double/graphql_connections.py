"""Relay connections as GitHub serves them: bounded pages, opaque cursors, pageInfo, totalCount.

A cursor holds the sort key of the item it points at (not its offset), so paging stays right
when items are added or removed between requests, as on GitHub.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable, Sequence
from typing import Any

from github_double.graphql_errors import FieldError

MAX_PAGE_SIZE = 100
_CURSOR_PREFIX = "cursor:v2:"

SortKey = tuple


def encode_cursor(key: SortKey) -> str:
    return base64.b64encode((_CURSOR_PREFIX + json.dumps(list(key))).encode()).decode()


def decode_cursor(cursor: str) -> SortKey:
    try:
        text = base64.b64decode(cursor, validate=True).decode()
        if not text.startswith(_CURSOR_PREFIX):
            raise ValueError(cursor)
        key = json.loads(text[len(_CURSOR_PREFIX):])
    except (binascii.Error, UnicodeDecodeError, ValueError) as error:
        raise invalid_cursor(cursor) from error
    if not isinstance(key, list):
        raise invalid_cursor(cursor)
    return tuple(key)


def invalid_cursor(cursor: str) -> FieldError:
    return FieldError("INVALID_CURSOR_ARGUMENTS", f"`{cursor}` does not appear to be a valid cursor.")


def page_size(connection: str, first: int | None, last: int | None) -> None:
    """GitHub's two rules on every connection: a bound must be given, and it may not exceed 100."""
    if first is None and last is None:
        raise FieldError("MISSING_PAGINATION_BOUNDARIES", "You must provide a `first` or `last` value to "
                         f"properly paginate the `{connection}` connection.")
    for name, value in (("first", first), ("last", last)):
        if value is not None and value > MAX_PAGE_SIZE:
            raise FieldError("EXCESSIVE_PAGINATION",
                             f"Requesting {value} records on the `{connection}` connection exceeds the "
                             f"`{name}` limit of {MAX_PAGE_SIZE} records.")


def connection(name: str, items: Sequence[Any], key: Callable[[Any], SortKey], *, descending: bool = False,
               first: int | None = None, after: str | None = None, last: int | None = None,
               before: str | None = None) -> dict:
    """One page of `items` (already filtered) as a GitHub connection object.

    Items are ordered by `key` (reversed when `descending`); `after`/`before` cursors cut the
    list, then `first` keeps the head and `last` the tail, negative counts meaning zero.
    """
    page_size(name, first, last)
    ordered = sorted(items, key=key, reverse=descending)
    keys = [key(item) for item in ordered]
    start, end = 0, len(ordered)
    if after is not None:
        start = _position(keys, decode_cursor(after), descending, inclusive=False)
    if before is not None:
        end = max(start, _position(keys, decode_cursor(before), descending, inclusive=True))
    low, high = start, end
    if first is not None:
        high = min(high, low + max(first, 0))
    if last is not None:
        low = max(low, high - max(last, 0))
    edges = [{"cursor": encode_cursor(keys[i]), "node": ordered[i]} for i in range(low, high)]
    return {
        "edges": edges,
        "nodes": [edge["node"] for edge in edges],
        "pageInfo": {
            "hasNextPage": high < len(ordered),
            "hasPreviousPage": low > 0,
            "startCursor": edges[0]["cursor"] if edges else None,
            "endCursor": edges[-1]["cursor"] if edges else None,
        },
        "totalCount": len(ordered),
    }


def _position(keys: list[SortKey], cursor: SortKey, descending: bool, *, inclusive: bool) -> int:
    """Index of the first item that comes after the cursor (or at it, when `inclusive`)."""
    for index, key in enumerate(keys):
        if not _same_shape(key, cursor):
            raise invalid_cursor(encode_cursor(cursor))
        beyond = key < cursor if descending else key > cursor
        if beyond or (inclusive and key == cursor):
            return index
    return len(keys)


def _same_shape(key: SortKey, cursor: SortKey) -> bool:
    """Whether a decoded cursor can be compared with this connection's keys (it may come from another)."""
    return len(key) == len(cursor) and all(type(a) is type(b) for a, b in zip(key, cursor, strict=True))
