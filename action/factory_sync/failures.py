"""A failed exchange with GitHub, typed, and the one line a person reads about it.

Plain data, no I/O: the GitHub client turns exceptions into a `Failure`, the study reader turns
GraphQL errors into one, and `explain` says what failed, GitHub's answer and what to do.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum


class FailureKind(StrEnum):
    ANSWERED = "answered"  # GitHub answered with an error status, or a GraphQL error
    RATE_LIMITED = "rate limited"  # GitHub refused the request for a rate limit: nothing was done
    UNREACHABLE = "unreachable"  # no connection could be made
    TIMED_OUT = "timed out"  # sent, and no answer came in time
    CLOSED = "closed"  # the connection closed before an answer


@dataclass(frozen=True)
class Failure:
    """Why an exchange failed: its kind, GitHub's status when it answered, and the answer as a phrase
    (e.g. "GitHub answered 404 (Not Found)")."""

    kind: FailureKind
    status: int | None
    answer: str

    @property
    def unsure(self) -> bool:
        """Whether a write may have landed all the same (no answer, or GitHub's own trouble)."""
        return self.status is None or self.status >= 500


def answered(status: int, message: str | None) -> Failure:
    """GitHub's error answer; a 403 or 429 that says "rate limit" is a rate limit."""
    limited = status in (403, 429) and "rate limit" in (message or "").lower()
    kind = FailureKind.RATE_LIMITED if limited else FailureKind.ANSWERED
    return Failure(kind, status, f"GitHub answered {status}" + (f" ({message})" if message else ""))


def explain(doing: str, failure: Failure, hints: Mapping[int, str] | None = None) -> str:
    """One line: what failed, GitHub's answer, what to do."""
    if failure.kind is FailureKind.RATE_LIMITED:
        hint = "GitHub's rate limit: run again once it has reset; a resync writes only what still differs."
    elif failure.kind is FailureKind.UNREACHABLE:
        hint = "Check github-api-url and the runner's network, then run the job again."
    elif failure.kind is FailureKind.TIMED_OUT:
        hint = ("GitHub is slow or having trouble: run the job again later; if it keeps happening, raise "
                "`http-timeout`.")
    elif failure.status is None:
        hint = _generic_hint(500)
    else:
        hint = (hints or {}).get(failure.status) or _generic_hint(failure.status)
    return f"{doing} failed: {failure.answer}. {hint}".rstrip()


def _generic_hint(status: int) -> str:
    if status == 401:
        return "The credentials were refused: check the secret, and that it has not expired or been revoked."
    if status == 403:
        return ("The token lacks a permission or hit a rate limit: check the App's permissions and the "
                "workflow's `permissions:` block.")
    if status >= 500:
        return "GitHub is having trouble: run the job again later (https://www.githubstatus.com)."
    return ""
