"""The GitHub client: PyGithub with factory-sync's retries and timeouts, and one translation of
failures. Every call to GitHub goes through `Client.call`, which turns a failed exchange into one
clear line and, for an installation token GitHub refused, renews the token and tries once more.
No PyGithub type leaves the adapter modules (this one, app_tokens, study_reader and factory)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TypeVar

import requests
from github import (
    Auth,
    BadCredentialsException,
    Github,
    GithubException,
    GithubRetry,
    RateLimitExceededExceedsMaxWait,
    RateLimitExceededException,
)
from urllib3.exceptions import MaxRetryError, NewConnectionError, ProtocolError
from urllib3.exceptions import TimeoutError as Urllib3Timeout

from factory_sync.errors import FactorySyncError
from factory_sync.failures import Failure, FailureKind, answered, explain
from factory_sync.github_limits import PAGE_LIMIT

# The defaults of the inputs that set how long a run waits for GitHub.
WRITE_INTERVAL = 1.0  # seconds between writes, as GitHub asks (input write-interval)
TIMEOUT_SECONDS = 30  # the longest wait for one answer, whole seconds (input http-timeout)
# After a secondary rate limit that names no Retry-After, GitHub asks to wait at least a minute
# (input rate-limit-wait).
SECONDARY_RATE_WAIT = 60.0
# After a 5xx, a dropped connection or a timeout, the first retry goes at once, the second after twice
# this many seconds, the third after four times (input retry-backoff: urllib3's backoff factor).
RETRY_BACKOFF = 0.5
# The longest single wait for a rate limit (primary reset, secondary Retry-After); longer, and the
# request fails with GitHub's answer instead of holding the job (input longest-wait). At least a minute
# below the shortest example job's timeout, so that a wait never outlives its job (test_workflows.py).
LONGEST_WAIT = 240.0
LONGEST_WAIT_LIMIT = 3600.0

# Retried on any failure: reads, GraphQL queries and token minting (POST), and PATCHes of a whole body,
# which give the same result however often they land. A POST that creates an issue is retried only
# when GitHub refused it outright (a rate limit: nothing was created); after any other failure it may
# have landed, so the caller looks before it tries again (see Engine._create).
READ_METHODS = frozenset({"GET", "HEAD", "POST"})
WRITE_METHODS = frozenset({"GET", "HEAD", "PATCH", "PUT", "DELETE"})
RETRIES = 3
RETRIED_STATUSES = (*range(500, 600), 429)  # and 403, when it is a rate limit (GithubRetry decides)

T = TypeVar("T")


@dataclass(frozen=True)
class Waits:
    """How long a run waits for GitHub: for one answer; before retrying after a secondary rate limit that
    gives no Retry-After; and the back-off between retries after a 5xx, a dropped connection or a timeout.
    A Retry-After from GitHub is honoured up to `longest` seconds; every wait is bounded by it."""

    timeout: int = TIMEOUT_SECONDS
    rate_limit: float = SECONDARY_RATE_WAIT
    backoff: float = RETRY_BACKOFF
    longest: float = LONGEST_WAIT


class GitHubError(FactorySyncError):
    """A failed exchange with GitHub; the message says what to do, `failure` what happened."""

    def __init__(self, message: str, failure: Failure) -> None:
        super().__init__(message)
        self.failure = failure


class RenewableAuth(Auth.Auth):
    """An auth whose token can be replaced when GitHub refuses it (an installation token)."""

    def renew(self, refused: bool = False) -> None:
        raise NotImplementedError


class _Retry(GithubRetry):
    """PyGithub's retry (5xx, secondary and primary rate limits), with every rate-limit wait bounded,
    429 answers retried like secondary rate limits, and `refused_only` methods retried only when GitHub
    refused them for a rate limit (so a create is never sent twice by the retry itself)."""

    def __init__(self, refused_only: frozenset[str] = frozenset(), longest: float = LONGEST_WAIT,
                 **kwargs) -> None:  # type: ignore[no-untyped-def]
        self.refused_only, self.longest = refused_only, longest
        super().__init__(**kwargs)

    def new(self, **kw):  # type: ignore[no-untyped-def]
        retry = super().new(**kw)
        retry.refused_only, retry.longest = self.refused_only, self.longest
        return retry

    def is_retry(self, method: str, status_code: int, has_retry_after: bool = False) -> bool:
        if method.upper() in self.refused_only:
            return status_code in (403, 429)  # GithubRetry raises at once for a 403 that is no rate limit
        return super().is_retry(method, status_code, has_retry_after)

    def increment(self, method=None, url=None, response=None, error=None, _pool=None,  # type: ignore[no-untyped-def]
                  _stacktrace=None):
        try:
            retry = super().increment(method, url, response, error, _pool, _stacktrace)
        except MaxRetryError as exc:
            if response is not None and response.status == 403:
                # GithubRetry read this answer's body to tell a rate limit (it raises at once for any
                # other 403), so the body is gone: say what it was.
                still = f"a rate limit, still in force after {RETRIES} retries"
                raise RateLimitExceededException(403, {"message": still}, dict(response.headers)) from exc
            raise
        if response is not None and response.status == 429 and not response.headers.get("Retry-After"):
            # GitHub sends 429 for secondary rate limits too: wait as for a 403 one.
            wait = max(self.secondary_rate_wait, retry.get_backoff_time())
            retry.get_backoff_time = lambda: wait  # type: ignore[method-assign]
        return retry

    def get_retry_after(self, response):  # type: ignore[no-untyped-def]
        seconds = super().get_retry_after(response)
        if seconds is not None and seconds > self.longest:
            raise RateLimitExceededExceedsMaxWait(response.status, {"message": (
                f"a rate limit, with Retry-After {seconds:.0f} s, longer than the {self.longest:g} s "
                "this action waits (input longest-wait)")}, dict(response.headers), wait=seconds)
        return seconds


def _retry(methods: frozenset[str], waits: Waits, refused_only: frozenset[str] = frozenset()) -> GithubRetry:
    # raise_on_status=False: when the retries run out, PyGithub sees GitHub's last answer and raises
    # a GithubException with its status, instead of urllib3's bare RetryError.
    return _Retry(refused_only=refused_only, longest=waits.longest, total=RETRIES,
                  backoff_factor=waits.backoff,
                  allowed_methods=methods, status_forcelist=list(RETRIED_STATUSES), raise_on_status=False,
                  secondary_rate_wait=min(waits.rate_limit, waits.longest), max_rate_limit_wait=waits.longest)


def read_retry(waits: Waits) -> GithubRetry:
    """The retry of a client that only reads (GraphQL queries and token mints are POSTs that read)."""
    return _retry(READ_METHODS, waits)


class Client:
    """A PyGithub client acting with one token. A writing client spaces its writes by `write_interval`
    seconds and never repeats a create; a reading one sends its GraphQL queries one after another."""

    def __init__(self, auth: Auth.Auth, api_url: str, *, writes: bool = False,
                 write_interval: float | None = None, waits: Waits = Waits()) -> None:
        retry = (_retry(WRITE_METHODS, waits, refused_only=frozenset({"POST"})) if writes
                 else read_retry(waits))
        self.api_url, self.waits = api_url, waits
        self.github = Github(auth=auth, base_url=api_url, per_page=PAGE_LIMIT, timeout=waits.timeout,
                             retry=retry, lazy=True, seconds_between_requests=None,
                             seconds_between_writes=(write_interval or None) if writes else None)

    def reader(self) -> Client:
        """A reading client acting with the same token (its GraphQL queries sent one after another)."""
        return Client(self.github.requester.auth, self.api_url, waits=self.waits)

    def call(self, doing: str, fn: Callable[[Github], T], hints: Mapping[int, str] | None = None) -> T:
        """`fn(github)`, translated (see `attempt`). An installation token GitHub refused is renewed, and
        `fn` tried once more."""
        return attempt(doing, lambda: self._renewing(fn), hints)

    def request(self, doing: str, method: str, path: str, body: dict | None = None,
                hints: Mapping[int, str] | None = None) -> tuple[dict, dict]:
        """One REST or GraphQL request by path: (headers, data)."""
        return self.call(doing, lambda gh: gh.requester.requestJsonAndCheck(method, path, input=body), hints)

    def graphql(self, query: str, variables: dict) -> tuple[dict, dict]:
        """A GraphQL query: (headers, body), errors included; GitHubError when it got no answer."""
        return self.request("A GraphQL query", "POST", self.github.requester.graphql_url,
                            {"query": query, "variables": variables})

    def _renewing(self, fn: Callable[[Github], T]) -> T:
        try:
            return fn(self.github)
        except BadCredentialsException:
            auth = self.github.requester.auth
            if not isinstance(auth, RenewableAuth):
                raise
            auth.renew(refused=True)
            return fn(self.github)


def attempt(doing: str, fn: Callable[[], T], hints: Mapping[int, str] | None = None) -> T:
    """`fn()`; a failed exchange raises GitHubError with one clear line: what failed (`doing`), GitHub's
    answer, and what to do (`hints` by status, else a general hint)."""
    try:
        return fn()
    except (GithubException, requests.RequestException) as exc:
        failure = failure_of(exc)
        raise GitHubError(explain(doing, failure, hints), failure) from exc


def connect(token: str, api_url: str, *, writes: bool = False, write_interval: float = WRITE_INTERVAL,
            waits: Waits = Waits()) -> Client:
    """A client acting with a token: the workflow's own, or one given as an input."""
    return Client(Auth.Token(token), api_url, writes=writes, write_interval=write_interval, waits=waits)


def failure_of(exc: GithubException | requests.RequestException) -> Failure:
    """GitHub's answer to a failed exchange."""
    if isinstance(exc, requests.RequestException):
        return _unanswered(exc)
    message = exc.message or (exc.data.get("message") if isinstance(exc.data, dict) else None)
    failure = answered(exc.status, message)
    if isinstance(exc, RateLimitExceededException) and failure.kind is not FailureKind.RATE_LIMITED:
        return Failure(FailureKind.RATE_LIMITED, failure.status, failure.answer)
    return failure


def _unanswered(exc: requests.RequestException) -> Failure:
    """What became of a request GitHub gave no answer to (after the retries)."""
    reason = exc.args[0] if exc.args else None
    reason = getattr(reason, "reason", None) or reason  # urllib3's MaxRetryError holds the last error
    if isinstance(reason, NewConnectionError) or isinstance(exc, requests.exceptions.InvalidURL):
        return Failure(FailureKind.UNREACHABLE, None, f"could not reach GitHub ({type(exc).__name__})")
    if isinstance(exc, requests.Timeout) or isinstance(reason, (Urllib3Timeout, TimeoutError)):
        return Failure(FailureKind.TIMED_OUT, None, "GitHub did not answer in time (a timeout)")
    if isinstance(reason, (ProtocolError, ConnectionError)):
        return Failure(FailureKind.CLOSED, None, "GitHub closed the connection without answering")
    return Failure(FailureKind.UNREACHABLE, None, f"could not reach GitHub ({type(exc).__name__})")
