"""GraphQL over HTTP in the double's tests: the data of an answer that must have no errors."""

from __future__ import annotations

from collections.abc import Callable


def data_of(gql: Callable[..., dict], query: str, variables: dict | None = None,
            token: str | None = None) -> dict:
    body = gql(query, variables, token)
    assert "errors" not in body, body
    return body["data"]
