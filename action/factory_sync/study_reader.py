"""The study reader: sends study_query's GraphQL queries with a client and hands back the studies,
and lists the repositories an installation can see (to discover untracked studies)."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime

from github.PaginatedList import PaginatedList
from github.Repository import Repository

from factory_sync.errors import FactorySyncError
from factory_sync.failures import Failure, FailureKind, explain
from factory_sync.github_client import Client, GitHubError
from factory_sync.model import Study
from factory_sync.study_query import StudyReading

# All an App token needs to read studies: their issues, and their own stage catalog file.
READ_PERMISSIONS = {"issues": "read", "contents": "read"}
STUDY_HINTS = {
    401: "The `token` input was refused: leave it at its default, `${{ github.token }}`.",
    403: "The token cannot read the study's issues or its stage catalog file: give the job "
         "`permissions:` `issues: read` and `contents: read`.",
    404: "Check the repository's name, and that the token can read it: the workflow's own token reads "
         "only the repository it runs in.",
}
# When GitHub names no reset for a GraphQL rate limit, the next query waits this long.
UNNAMED_RESET_WAIT = 60


def read_study(client: Client, repo: str, hints: Mapping[int, str] = STUDY_HINTS,
               trust_authors: bool = False) -> Study:
    """One study's stage-labelled issues with their timelines: one GraphQL request unless it is large."""
    studies, failures = read_studies(client, [repo], hints, trust_authors=trust_authors)
    if repo in failures:
        raise FactorySyncError(failures[repo])
    return studies[repo]


def read_studies(client: Client, repos: list[str], hints: Mapping[int, str] = STUDY_HINTS,
                 log: Callable[[str], None] | None = None,
                 sleep: Callable[[float], None] = time.sleep,
                 trust_authors: bool = False) -> tuple[dict[str, Study], dict[str, str]]:
    """Read the studies in batched GraphQL queries (see StudyReading), each issue as it counts (see
    trust.counted). Returns the studies read and, for each study that could not be read, a message
    that says why and what to do."""
    reading = StudyReading(repos, trust_authors=trust_authors)
    reset_at: float | None = None  # a rate limit is used up until then (epoch seconds)
    sent, limited = 0, False
    while (query := reading.next_query()) is not None:
        if reset_at is not None:
            wait = seconds_until(reset_at, _now())
            if wait > client.waits.longest:
                used_up = (f"GitHub's GraphQL rate limit is used up for {wait:.0f} s more "
                           "(x-ratelimit-remaining: 0); run again after its reset")
                reading.give_up(Failure(FailureKind.RATE_LIMITED, 403, used_up))
                break
            if log:
                log(f"GraphQL rate limit used up: waiting {wait:.0f} s for its reset")
            sleep(wait)
        sent += 1
        if log:
            studies = len({piece.repo for piece in query.pieces})
            log(f"GraphQL query {sent}: {len(query.pieces)} pages of {studies} studies")
        try:
            headers, body = client.graphql(query.text, query.variables)
        except GitHubError as exc:
            reading.query_failed(query, exc.failure)
            continue
        errors = body.get("errors") or []
        if any(error.get("type") == "RATE_LIMITED" for error in errors):
            if limited:  # refused again after waiting for the reset
                message = errors[0].get("message")
                refused = f"GitHub answered RATE_LIMITED ({message})"
                reading.give_up(Failure(FailureKind.RATE_LIMITED, 403, refused))
                break
            limited = True
            reading.requeue(query)  # refused, so charged nothing: sent again after the reset
            reset = headers.get("x-ratelimit-reset")
            reset_at = float(reset) if reset and reset.isdigit() else _now().timestamp() + UNNAMED_RESET_WAIT
            continue
        limited = False
        reset_at = used_up_until(headers)
        reading.answered(query, body.get("data"), errors)
    failures = {repo: explain(f"Reading the stage-labelled issues of {repo}", failure, hints)
                for repo, failure in reading.failures.items()}
    return reading.studies, failures


def used_up_until(headers: Mapping[str, str]) -> float | None:
    """When GitHub said the rate limit is used up: the epoch second of its reset; else None."""
    remaining, reset = headers.get("x-ratelimit-remaining"), headers.get("x-ratelimit-reset")
    if remaining != "0" or reset is None or not reset.isdigit():
        return None
    return float(reset)


def seconds_until(reset_at: float, now: datetime) -> float:
    """Seconds to wait for a rate limit's reset at the epoch second `reset_at`."""
    return max(reset_at - now.timestamp(), 0) + 1  # GitHub resets within the second it names


def installation_repositories(client: Client) -> list[str]:
    """Every repository the client's installation token can see, as owner/name."""
    def listed(gh) -> list[str]:  # type: ignore[no-untyped-def]
        found = PaginatedList(Repository, gh.requester, "/installation/repositories", None,
                              list_item="repositories")
        return [repo.full_name for repo in found]

    return client.call("Listing the repositories the App's installation can see", listed)


def _now() -> datetime:
    return datetime.now(UTC)
