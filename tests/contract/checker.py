"""Checks the double's recorded exchanges against GitHub's published API descriptions.

REST requests and responses are validated with openapi-core against the vendored subset of
GitHub's OpenAPI description (`github-rest-subset.json`, see SOURCE.md); GraphQL requests are
parsed and validated against GitHub's GraphQL schema. Anything the descriptions do not allow
becomes a `Violation` naming the exchange, the side and the problem.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

from graphql import GraphQLSyntaxError, parse, validate
from openapi_core import OpenAPI
from openapi_core.datatypes import RequestParameters
from werkzeug.datastructures import Headers, ImmutableMultiDict

from github_double.graphql_api import github_schema
from github_double.request_log import LoggedRequest

SUBSET = Path(__file__).with_name("github-rest-subset.json")
GITHUB_API = "https://api.github.com"  # the description's server: requests are checked as if sent there
GRAPHQL_PATH = "/graphql"
DETAIL_LIMIT = 400
BY_ID = re.compile(r"^/repositories/(\d+)(?=/|$)")
# A file's path is one parameter of several segments (`x-multi-segment` in the description), which
# openapi-core matches as one segment: its slashes are checked encoded.
MULTI_SEGMENT = re.compile(r"^(/repos/[^/]+/[^/]+/contents/)(.+?)/?$")


@dataclass(frozen=True)
class Violation:
    exchange: str  # e.g. "GET /repos/o/r/issues -> 200"
    side: str  # "request" or "response"
    problem: str

    def __str__(self) -> str:
        return f"{self.exchange}: {self.side}: {self.problem}"


@dataclass(frozen=True)
class _Request:
    """A recorded request in openapi-core's Request protocol, addressed to api.github.com."""

    path: str
    method: str
    body: bytes | None
    content_type: str
    parameters: RequestParameters = field(compare=False)
    host_url: str = GITHUB_API


@dataclass(frozen=True)
class _Response:
    status_code: int
    content_type: str
    headers: Headers
    data: bytes | None


def _header(headers: Mapping[str, str], name: str) -> str | None:
    return next((value for key, value in headers.items() if key.lower() == name.lower()), None)


def _describe(error: Exception) -> str:
    """An openapi-core error by its kind and the schema errors behind it, each kept short."""
    schema_errors = getattr(error.__cause__, "schema_errors", None) or ()
    details = [f"{'/'.join(str(p) for p in e.absolute_path) or '(root)'}: {e.message}" for e in schema_errors]
    if not details:
        details = [str(error) + (f" ({error.__cause__})" if error.__cause__ else "")]
    shortened = [d if len(d) <= DETAIL_LIMIT else d[:DETAIL_LIMIT] + "..." for d in details]
    return f"{type(error).__name__}: " + "; ".join(shortened)


@cache
def _subset_document() -> dict:
    return json.loads(SUBSET.read_text(encoding="utf-8"))


@cache
def rest_description() -> OpenAPI:
    return OpenAPI.from_dict(_subset_document())


def subset_operations() -> set[str]:
    """Every operation the vendored description holds, as "METHOD /path/{template}"."""
    return {f"{method.upper()} {path}" for path, item in _subset_document()["paths"].items()
            for method in item if method in ("get", "put", "post", "delete", "patch")}


def documented_path(path: str) -> str:
    """GitHub's pagination links name a repository by id, /repositories/{id}/issues, a form its
    description does not document: such a request is checked as the /repos/{owner}/{repo}/...
    operation it stands for (owner "repository", name the id). A file's path keeps its slashes
    encoded, as one parameter."""
    path = BY_ID.sub(r"/repos/repository/\1", path)
    return MULTI_SEGMENT.sub(lambda match: match[1] + match[2].replace("/", "%2F"), path)


def operation_of(entry: LoggedRequest) -> str | None:
    """The operation a recorded request addressed ("POST /graphql" for GraphQL), or None."""
    if entry.path.rstrip("/") == GRAPHQL_PATH:
        return f"{entry.method} {GRAPHQL_PATH}"
    for operation in subset_operations():
        method, template = operation.split(" ", 1)
        pattern = re.sub(r"\{[^}]+\}", "[^/]+", template)  # GitHub's paths hold no other regex syntax
        if method == entry.method and re.fullmatch(pattern, documented_path(entry.path).rstrip("/")):
            return operation
    return None


class ContractChecker:
    """`check(entries)` returns every violation in the double's request log; empty when all conform."""

    def __init__(self, description: OpenAPI | None = None) -> None:
        self.description = description or rest_description()

    def check(self, entries: Iterable[LoggedRequest]) -> list[Violation]:
        return [violation for entry in entries for violation in self.check_one(entry)]

    def check_one(self, entry: LoggedRequest) -> list[Violation]:
        exchange = f"{entry.method} {entry.path} -> {entry.status}"
        if entry.status is None or entry.fault is not None:
            return []  # a scripted fault is the test's answer, not the double's
        if entry.method == "POST" and entry.path.rstrip("/") == GRAPHQL_PATH:
            return [Violation(exchange, side, problem) for side, problem in self._graphql(entry)]
        request = _Request(
            path=documented_path(entry.path),
            method=entry.method.lower(),
            body=entry.request_body or None,
            content_type=(_header(entry.request_headers, "Content-Type") or "application/json").lower(),
            parameters=RequestParameters(query=ImmutableMultiDict(entry.query),
                                         header=Headers(list(entry.request_headers.items()))),
        )
        response = _Response(
            status_code=entry.status,
            content_type=(_header(entry.response_headers, "Content-Type") or "").lower(),
            headers=Headers(list(entry.response_headers.items())),
            data=entry.response_body or None,
        )
        found = [Violation(exchange, "request", _describe(e))
                 for e in self.description.iter_request_errors(request)]
        found += [Violation(exchange, "response", _describe(e))
                  for e in self.description.iter_response_errors(request, response)]
        return found

    @staticmethod
    def _graphql(entry: LoggedRequest) -> list[tuple[str, str]]:
        """The document must be valid against GitHub's schema; the answer must be a GraphQL response."""
        problems: list[tuple[str, str]] = []
        try:
            payload = json.loads(entry.request_body)
            document = parse(payload["query"])
        except (ValueError, KeyError, TypeError, GraphQLSyntaxError) as error:
            problems.append(("request", f"not a GraphQL request: {error}"))
        else:
            problems += [("request", f"invalid against GitHub's schema: {e.message}")
                         for e in validate(github_schema(), document)]
        try:
            answer = json.loads(entry.response_body)
        except ValueError as error:
            return [*problems, ("response", f"not JSON: {error}")]
        if not isinstance(answer, dict) or not {"data", "errors"} & answer.keys():
            return [*problems, ("response", "a GraphQL answer holds `data` or `errors`")]
        for error in answer.get("errors") or ():
            if not isinstance(error, dict) or not isinstance(error.get("message"), str):
                problems.append(("response", f"an error without a message: {error!r}"))
        return problems


def report(violations: list[Violation]) -> str:
    """One readable block per violation, for an assertion message."""
    if not violations:
        return "no contract violations"
    return f"{len(violations)} contract violation(s):\n" + "\n".join(f"- {v}" for v in violations)
