"""The one adapter to GitHub. PyGithub does the HTTP, auth, paging and retries; this module
chooses the requests (few, narrow) and turns GitHub's failures into messages people can act on."""

from __future__ import annotations

import contextlib
import functools
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TypeVar

import requests
from cryptography.hazmat.primitives.serialization import load_pem_private_key
from github import (
    Auth,
    BadCredentialsException,
    Github,
    GithubException,
    GithubIntegration,
    GithubRetry,
    RateLimitExceededExceedsMaxWait,
    RateLimitExceededException,
)
from github.PaginatedList import PaginatedList
from github.Repository import Repository
from urllib3.exceptions import MaxRetryError, NewConnectionError, ProtocolError
from urllib3.exceptions import TimeoutError as Urllib3Timeout

from factory_sync.errors import FactorySyncError
from factory_sync.reconcile import TrackingIssue
from factory_sync.study import ReadFailure, Study, StudyReading

# GitHub asks for a pause between writes; reads need none when sent one after another.
SECONDS_BETWEEN_WRITES = 1.0
TIMEOUT_SECONDS = 30  # the longest wait for one answer, whole seconds (input http-timeout)
# After a secondary rate limit that names no Retry-After, GitHub asks to wait at least a minute
# (input rate-limit-wait).
SECONDARY_RATE_WAIT = 60.0
# After a 5xx, a dropped connection or a timeout, the first retry goes at once, the second after twice
# this many seconds, the third after four times (input retry-backoff: urllib3's backoff factor).
RETRY_BACKOFF = 0.5
PER_PAGE = 100
# The longest single wait for a rate limit (primary reset, secondary Retry-After); longer, and the
# request fails with GitHub's answer instead of holding the job.
MAX_RATE_LIMIT_WAIT = 15 * 60
# An installation token lives an hour; a new one is minted this long before the old one expires.
RENEW_BEFORE_EXPIRY = timedelta(minutes=5)
# A token this young is never renewed by the clock (guards against a runner clock that is off).
MIN_TOKEN_AGE = timedelta(minutes=1)

T = TypeVar("T")


# Retried on any failure: reads, GraphQL queries and token minting (POST), and PATCHes of a whole body,
# which give the same result however often they land. A POST that creates an issue is retried only
# when GitHub refused it outright (a rate limit: nothing was created); after any other failure it may
# have landed, so the caller looks before it tries again (see resync.create_tracking_issue).
READ_METHODS = frozenset({"GET", "HEAD", "POST"})
WRITE_METHODS = frozenset({"GET", "HEAD", "PATCH", "PUT", "DELETE"})
RETRIES = 3
RETRIED_STATUSES = (*range(500, 600), 429)  # and 403, when it is a rate limit (GithubRetry decides)


@dataclass(frozen=True)
class Waits:
    """How long a run waits for GitHub: for one answer; before retrying after a secondary rate limit that
    gives no Retry-After; and the back-off between retries after a 5xx, a dropped connection or a timeout.
    A Retry-After from GitHub is honoured; every wait is bounded (MAX_RATE_LIMIT_WAIT)."""

    timeout: int = TIMEOUT_SECONDS
    rate_limit: float = SECONDARY_RATE_WAIT
    backoff: float = RETRY_BACKOFF


class _Retry(GithubRetry):
    """PyGithub's retry (5xx, secondary and primary rate limits), with every rate-limit wait bounded,
    429 answers retried like secondary rate limits, and `refused_only` methods retried only when GitHub
    refused them for a rate limit (so a create is never sent twice by the retry itself)."""

    def __init__(self, refused_only: frozenset[str] = frozenset(), **kwargs) -> None:  # type: ignore[no-untyped-def]
        self.refused_only = refused_only
        super().__init__(**kwargs)

    def new(self, **kw):  # type: ignore[no-untyped-def]
        retry = super().new(**kw)
        retry.refused_only = self.refused_only
        return retry

    def is_retry(self, method: str, status_code: int, has_retry_after: bool = False) -> bool:
        if method.upper() in self.refused_only:
            return status_code in (403, 429)  # GithubRetry raises at once for a 403 that is no rate limit
        return super().is_retry(method, status_code, has_retry_after)

    def increment(self, method=None, url=None, response=None, error=None, _pool=None,  # type: ignore[no-untyped-def]
                  _stacktrace=None):
        try:
            retry = super().increment(method, url, response, error, _pool, _stacktrace)
        except MaxRetryError:
            if response is not None and response.status == 403:
                # GithubRetry read this answer's body to tell a rate limit (it raises at once for any
                # other 403), so the body is gone: say what it was.
                still = f"a rate limit, still in force after {RETRIES} retries"
                raise RateLimitExceededException(403, {"message": still}, dict(response.headers)) from None
            raise
        if response is not None and response.status == 429 and not response.headers.get("Retry-After"):
            # GitHub sends 429 for secondary rate limits too: wait as for a 403 one.
            wait = max(self.secondary_rate_wait, retry.get_backoff_time())
            retry.get_backoff_time = lambda: wait  # type: ignore[method-assign]
        return retry

    def get_retry_after(self, response):  # type: ignore[no-untyped-def]
        seconds = super().get_retry_after(response)
        if seconds is not None and seconds > MAX_RATE_LIMIT_WAIT:
            raise RateLimitExceededExceedsMaxWait(response.status, {"message": (
                f"a rate limit, with Retry-After {seconds:.0f} s, longer than the {MAX_RATE_LIMIT_WAIT} s "
                "this action waits")}, dict(response.headers), wait=seconds)
        return seconds


def _retry(methods: frozenset[str], waits: Waits, refused_only: frozenset[str] = frozenset()) -> GithubRetry:
    # raise_on_status=False: when the retries run out, PyGithub sees GitHub's last answer and raises
    # a GithubException with its status, instead of urllib3's bare RetryError.
    return _Retry(refused_only=refused_only, total=RETRIES, backoff_factor=waits.backoff,
                  allowed_methods=methods, status_forcelist=list(RETRIED_STATUSES), raise_on_status=False,
                  secondary_rate_wait=min(waits.rate_limit, MAX_RATE_LIMIT_WAIT),
                  max_rate_limit_wait=MAX_RATE_LIMIT_WAIT)


def _github(auth: Auth.Auth, api_url: str, writes: bool, write_interval: float | None,
            waits: Waits) -> Github:
    retry = (_retry(WRITE_METHODS, waits, refused_only=frozenset({"POST"})) if writes
             else _retry(READ_METHODS, waits))
    return Github(auth=auth, base_url=api_url, per_page=PER_PAGE, timeout=waits.timeout, retry=retry,
                  lazy=True, seconds_between_requests=None, seconds_between_writes=write_interval or None)


def connect(token: str, api_url: str, *, writes: bool = False, waits: Waits = Waits()) -> Github:
    """A client acting with a token: the workflow's own, or an installation token. A writing client
    spaces its writes as GitHub asks; a reading one sends its GraphQL queries (POSTs, but no writes)
    one after another."""
    return _github(Auth.Token(token), api_url, writes, SECONDS_BETWEEN_WRITES if writes else None, waits)


@contextlib.contextmanager
def talking(doing: str, hints: dict[int, str] | None = None) -> Iterator[None]:
    """Turn a failed exchange with GitHub into one clear line: what failed, GitHub's answer, what to do."""
    try:
        yield
    except (GithubException, requests.RequestException) as exc:
        raise FactorySyncError(_failed(doing, _failure(exc), hints)) from None


def _failure(exc: GithubException | requests.RequestException) -> ReadFailure:
    """GitHub's answer to a failed exchange, as one phrase."""
    if isinstance(exc, requests.RequestException):
        return ReadFailure(None, _unanswered(exc))
    message = exc.message or (exc.data.get("message") if isinstance(exc.data, dict) else None)
    return ReadFailure(exc.status, f"GitHub answered {exc.status}" + (f" ({message})" if message else ""))


UNREACHABLE = "could not reach GitHub"
NO_ANSWER_IN_TIME = "GitHub did not answer in time"
CONNECTION_CLOSED = "GitHub closed the connection without answering"


def _unanswered(exc: requests.RequestException) -> str:
    """What became of a request GitHub gave no answer to (after the retries), as one phrase."""
    reason = exc.args[0] if exc.args else None
    reason = getattr(reason, "reason", None) or reason  # urllib3's MaxRetryError holds the last error
    if isinstance(reason, NewConnectionError) or isinstance(exc, requests.exceptions.InvalidURL):
        return f"{UNREACHABLE} ({type(exc).__name__})"
    if isinstance(exc, requests.Timeout) or isinstance(reason, (Urllib3Timeout, TimeoutError)):
        return f"{NO_ANSWER_IN_TIME} (a timeout)"
    if isinstance(reason, (ProtocolError, ConnectionError)):
        return CONNECTION_CLOSED
    return f"{UNREACHABLE} ({type(exc).__name__})"


def _failed(doing: str, failure: ReadFailure, hints: Mapping[int, str] | None) -> str:
    """One line: what failed, GitHub's answer, what to do."""
    if failure.status is None and failure.answer.startswith(UNREACHABLE):
        hint = "Check github-api-url and the runner's network, then run the job again."
    elif failure.status is None and failure.answer.startswith(NO_ANSWER_IN_TIME):
        hint = ("GitHub is slow or having trouble: run the job again later; if it keeps happening, raise "
                "`http-timeout`.")
    elif failure.status is None:
        hint = _generic_hint(500)
    elif failure.status in (403, 429) and "rate limit" in failure.answer.lower():
        hint = ("GitHub's rate limit: run again once it has reset; a resync writes only what still "
                "differs.")
    else:
        hint = (hints or {}).get(failure.status) or _generic_hint(failure.status)
    return f"{doing} failed: {failure.answer}. {hint}".rstrip()


def _renewing(gh: Github, call: Callable[[], T]) -> T:
    """`call()`, once more with a new installation token if GitHub refused the one it had."""
    try:
        return call()
    except BadCredentialsException:
        auth = gh.requester.auth
        if not isinstance(auth, RenewingToken):
            raise
        auth.renew(refused=True)
        return call()


def _generic_hint(status: int) -> str:
    if status == 401:
        return "The credentials were refused: check the secret, and that it has not expired or been revoked."
    if status == 403:
        return ("The token lacks a permission or hit a rate limit: check the App's permissions and the "
                "workflow's `permissions:` block.")
    if status >= 500:
        return "GitHub is having trouble: run the job again later (https://www.githubstatus.com)."
    return ""


# -- the App ----------------------------------------------------------------------------------

def parse_app_id(value: str) -> int | str:
    """The App's numeric id, or its client id (GitHub accepts either as the JWT issuer)."""
    value = value.strip()
    if value.isdigit() and int(value) > 0:
        return int(value)
    if value.startswith("Iv") and value.replace(".", "").isalnum() and len(value) >= 8:
        return value
    raise FactorySyncError(
        "app-id is not a GitHub App id: give the App's numeric id or its client id "
        "(App settings > General > About), e.g. `app-id: ${{ vars.FACTORY_APP_ID }}`."
    )


@functools.lru_cache(maxsize=4)  # checking a key takes tens of milliseconds; a good key is checked once
def check_private_key(pem: str) -> None:
    """Fail early, and without echoing the key, when the secret is not an RSA private key in PEM."""
    try:
        load_pem_private_key(pem.strip().encode(), password=None)
    except (ValueError, TypeError):
        raise FactorySyncError(
            "private-key is not a PEM private key: paste the whole .pem file the App generated "
            "(all of it, from its BEGIN line to its END line) into the secret."
        ) from None


@dataclass(frozen=True)
class InstallationToken:
    value: str
    expires_at: str
    repositories: tuple[str, ...]
    permissions: dict[str, str]


class App:
    """A GitHub App acting through short-lived installation tokens."""

    def __init__(self, app_id: int | str, private_key: str, api_url: str, waits: Waits = Waits()) -> None:
        self.app_id = app_id
        # A run makes a handful of App requests (the installation, a few tokens): no pause between them.
        self.integration = GithubIntegration(
            auth=Auth.AppAuth(app_id, private_key.strip()), base_url=api_url, timeout=waits.timeout,
            retry=_retry(READ_METHODS, waits), seconds_between_requests=None, seconds_between_writes=None,
        )
        self.api_url = api_url
        self.waits = waits

    def installation_id(self, repo: str) -> int:
        owner, name = repo.split("/", 1)
        with talking(f"Finding the App's installation on {repo}", {
            401: "GitHub refused the App's JWT: check that app-id and private-key belong to the same App, "
                 "that the key was not deleted, and that the runner's clock is right.",
            404: f"Install the App on {repo} (App settings > Install App), or give `installation-id`.",
        }):
            return self.integration.get_repo_installation(owner, name).id

    def name(self) -> str:
        """The App's name, as GitHub knows it: proves the JWT (app-id and private-key) is accepted."""
        with talking("Signing in as the App", {
            401: "GitHub refused the App's JWT: check that app-id and private-key belong to the same App, "
                 "that the key was not deleted, and that the runner's clock is right.",
        }):
            return self.integration.get_app().name

    def grants(self, installation_id: int) -> dict[str, str]:
        """The permissions the installation has granted the App."""
        with talking(f"Reading installation {installation_id}", {
            404: "The installation was not found: check `installation-id`, or leave it empty.",
        }):
            return dict(self.integration.get_app_installation(installation_id).permissions)

    def mint(self, installation_id: int, repos: list[str] | None,
             permissions: dict[str, str]) -> InstallationToken:
        """A token limited to these repositories (None: all the installation's) and permissions."""
        where = describe_repositories(repos)
        body: dict = {"permissions": permissions}
        if repos is not None:
            body["repositories"] = [r.split("/", 1)[1] for r in repos]
        doing = f"Creating an installation token for {where}"
        with talking(doing, {
            401: "GitHub refused the App's JWT: check app-id, private-key and the runner's clock.",
            404: "The installation was not found: check `installation-id`, or leave it empty.",
        }):
            try:
                # PyGithub's get_access_token cannot narrow repositories; its requester sends the same call.
                _, data = self.integration.requester.requestJsonAndCheck(
                    "POST", f"/app/installations/{installation_id}/access_tokens", input=body)
            except GithubException as exc:
                if exc.status != 422:
                    raise
                raise MintRefused(
                    f"{doing} failed: GitHub answered 422. The installation cannot grant "
                    f"{_describe(permissions)} on {where}: give the App those permissions, accept them on "
                    "the installation, and make sure the installation includes the repositories.") from None
        return InstallationToken(
            data["token"], data.get("expires_at", ""),
            tuple(r["full_name"] for r in data.get("repositories", [])), data.get("permissions", {}),
        )

    def revoke(self, token: str) -> None:
        with talking("Revoking the installation token"):
            client = connect(token, self.api_url, writes=True, waits=self.waits)
            client.requester.requestJsonAndCheck("DELETE", "/installation/token")


class CreateUnsure(FactorySyncError):
    """Creating an issue failed in a way that may have created it all the same (no answer, or a 5xx)."""


class MintRefused(FactorySyncError):
    """GitHub would not grant the token asked for (422): the installation lacks a permission or repository."""


def _describe(permissions: dict[str, str]) -> str:
    return ", ".join(f"{name}: {level}" for name, level in permissions.items())


def describe_repositories(repos: list[str] | None) -> str:
    """A token's repositories in a log line (None: all the installation's)."""
    if repos is None:
        return "all the installation's repositories"
    return ", ".join(repos) if len(repos) <= 3 else f"{len(repos)} repositories"


class RenewingToken(Auth.Auth):
    """An installation token as PyGithub's auth: asked for before every request, so it is renewed when
    it is about to expire (or when GitHub refused it), each new token announced (masked) before it is
    used and the one it replaces revoked. Tokens last an hour; a resync of a large portfolio can last
    longer."""

    def __init__(self, app: App, installation_id: int, repos: list[str] | None, permissions: dict[str, str],
                 announce: Callable[[InstallationToken], None], clock: Callable[[], datetime],
                 warn: Callable[[str], None]) -> None:
        self._app, self._installation_id = app, installation_id
        self._repos, self._permissions = repos, permissions
        self._announce, self._clock, self._warn = announce, clock, warn
        self._current: InstallationToken | None = None
        self._minted_at = clock()
        self.minted = 0
        self.renew()

    @property
    def token_type(self) -> str:
        return "token"

    @property
    def token(self) -> str:
        if self._current is None or self._due():
            self.renew()
        assert self._current is not None
        return self._current.value

    @property
    def current(self) -> InstallationToken | None:
        return self._current

    def renew(self, refused: bool = False) -> None:
        """Mint a new token; revoke the old one unless GitHub refuses it already."""
        old = self._current
        self._current = None
        new = self._app.mint(self._installation_id, self._repos, self._permissions)
        self._announce(new)  # masks it: nothing may print it before this
        self._current, self._minted_at = new, self._clock()
        self.minted += 1
        if old is not None and not refused:
            try:
                self._app.revoke(old.value)
            except FactorySyncError as exc:  # not fatal: it expires within minutes; but say so
                self._warn(f"{exc} The replaced token expires by itself at {old.expires_at}.")

    def revoke(self) -> None:
        """Revoke the current token (raises FactorySyncError if GitHub would not)."""
        current, self._current = self._current, None
        if current is not None:
            self._app.revoke(current.value)

    def _due(self) -> bool:
        assert self._current is not None
        expires = _parse_time(self._current.expires_at)
        now = self._clock()
        return (expires is not None and now >= expires - RENEW_BEFORE_EXPIRY
                and now - self._minted_at >= MIN_TOKEN_AGE)

    @property
    def _masked_token(self) -> str:
        return "token (installation token removed)"


def _parse_time(value: str) -> datetime | None:
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None


def _now() -> datetime:
    return datetime.now(UTC)


class InstallationTokens:
    """The installation tokens of one run, each as narrow as its use: minted on demand, announced
    (masked) at once, renewed before they expire, and all revoked when the block ends, however it ends.
    `warn` hears of a token that could not be revoked."""

    def __init__(self, app: App, installation_id: int, announce: Callable[[InstallationToken], None],
                 warn: Callable[[str], None], clock: Callable[[], datetime] = _now) -> None:
        self.app, self.installation_id = app, installation_id
        self._announce, self._warn, self._clock = announce, warn, clock
        self._auths: list[RenewingToken] = []

    def client(self, repos: list[str] | None, permissions: dict[str, str], *, writes: bool = False,
               write_interval: float | None = None) -> Github:
        """A client on a new token for these repositories (None: all the installation's) and permissions.
        Writes are spaced by `write_interval` seconds; reads, GraphQL queries included, are not."""
        auth = RenewingToken(self.app, self.installation_id, repos, permissions, self._announce, self._clock,
                             self._warn)
        self._auths.append(auth)
        return _github(auth, self.app.api_url, writes, write_interval if writes else None, self.app.waits)

    @property
    def minted(self) -> int:
        return sum(auth.minted for auth in self._auths)

    def close(self) -> None:
        for auth in self._auths:
            current = auth.current
            try:
                auth.revoke()
            except FactorySyncError as exc:
                expires = current.expires_at if current else "within the hour"
                self._warn(f"{exc} The token expires by itself at {expires}.")

    def __enter__(self) -> InstallationTokens:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def installation_repositories(gh: Github) -> list[str]:
    """Every repository the client's installation token can see, as owner/name."""
    with talking("Listing the repositories the App's installation can see"):
        def listed() -> list[str]:
            found = PaginatedList(Repository, gh.requester, "/installation/repositories", None,
                                  list_item="repositories")
            return [repo.full_name for repo in found]

        return _renewing(gh, listed)


def send_dispatch(gh: Github, repo: str, event_type: str, client_payload: dict) -> None:
    """POST /repos/{repo}/dispatches. PyGithub's create_repository_dispatch answers only True or False;
    its requester gives GitHub's answer, for a message that says what to fix."""
    with talking(f"Sending the {event_type!r} repository_dispatch to {repo}", {
        401: "The `token` input was refused: check the secret, and that the token has not expired.",
        403: f"The token may not dispatch to {repo}: it needs Contents: Read and write on {repo}.",
        404: f"{repo} is not visible to the token: in mode `dispatch`, `token` must be a fine-grained "
             f"token (or an App token) with Contents: Read and write on {repo}; the workflow's own token "
             "cannot reach another repository.",
        422: "GitHub refused the event type: check `dispatch-event-type` (at most 100 characters).",
    }):
        gh.requester.requestJsonAndCheck("POST", f"/repos/{repo}/dispatches",
                                         input={"event_type": event_type, "client_payload": client_payload})


# -- the studies ----------------------------------------------------------------------------

STUDY_HINTS = {
    401: "The `token` input was refused: leave it at its default, `${{ github.token }}`.",
    403: "The token cannot read the study's issues: give the job `permissions: issues: read`.",
    404: "Check the repository's name, and that the token can read it: the workflow's own token reads "
         "only the repository it runs in.",
}


def read_study(gh: Github, repo: str, hints: Mapping[int, str] = STUDY_HINTS) -> Study:
    """One study's stage-labelled issues with their timelines: one GraphQL request unless it is large."""
    studies, failures = read_studies(gh, [repo], hints)
    if repo in failures:
        raise FactorySyncError(failures[repo])
    return studies[repo]


def read_studies(gh: Github, repos: list[str], hints: Mapping[int, str] = STUDY_HINTS,
                 log: Callable[[str], None] | None = None,
                 sleep: Callable[[float], None] = time.sleep) -> tuple[dict[str, Study], dict[str, str]]:
    """Read the studies in batched GraphQL queries (see StudyReading). Returns the studies read and,
    for each study that could not be read, a message that says why and what to do."""
    reading = StudyReading(repos)
    headers: dict = {}
    sent, limited = 0, False
    while (query := reading.next_query()) is not None:
        wait = rate_limit_wait(headers, _now())
        if wait is not None:
            if wait > MAX_RATE_LIMIT_WAIT:
                used_up = (f"GitHub's GraphQL rate limit is used up for {wait:.0f} s more "
                           "(x-ratelimit-remaining: 0); run again after its reset")
                reading.give_up(ReadFailure(403, used_up))
                break
            if log:
                log(f"GraphQL rate limit used up: waiting {wait:.0f} s for its reset")
            sleep(wait)
        sent += 1
        if log:
            studies = len({piece.repo for piece in query.pieces})
            log(f"GraphQL query {sent}: {len(query.pieces)} pages of {studies} studies")
        try:
            headers, body = _renewing(gh, lambda q=query: gh.requester.requestJsonAndCheck(
                "POST", gh.requester.graphql_url, input={"query": q.text, "variables": q.variables}))
        except (GithubException, requests.RequestException) as exc:
            reading.query_failed(query, _failure(exc))
            continue
        errors = body.get("errors") or []
        if any(error.get("type") == "RATE_LIMITED" for error in errors):
            if limited:  # refused again after waiting for the reset
                message = errors[0].get("message")
                reading.give_up(ReadFailure(403, f"GitHub answered RATE_LIMITED ({message})"))
                break
            limited = True
            reading.requeue(query)  # refused, so charged nothing: sent again after the reset
            reset = headers.get("x-ratelimit-reset") or str(int(_now().timestamp()) + 60)
            headers = {**headers, "x-ratelimit-remaining": "0", "x-ratelimit-reset": reset}
            continue
        limited = False
        reading.answered(query, body.get("data"), errors)
    failures = {repo: _failed(f"Reading the stage-labelled issues of {repo}", failure, hints)
                for repo, failure in reading.failures.items()}
    return reading.studies, failures


def rate_limit_wait(headers: Mapping[str, str], now: datetime) -> float | None:
    """Seconds to wait before the next request, when GitHub said the rate limit is used up; else None."""
    remaining, reset = headers.get("x-ratelimit-remaining"), headers.get("x-ratelimit-reset")
    if remaining != "0" or reset is None or not reset.isdigit():
        return None
    return max(int(reset) - now.timestamp(), 0) + 1  # GitHub resets within the second it names


# -- the Factory ----------------------------------------------------------------------------

class Factory:
    """The Factory repository's tracking issues."""

    def __init__(self, gh: Github, repo: str, tracking_label: str) -> None:
        self.gh = gh
        self.repo_name = repo
        self.repo = gh.get_repo(repo)  # our clients are lazy: no request until one is needed
        self.tracking_label = tracking_label
        self._hints = {
            404: f"Check `factory-repo` ({repo}) and that the App is installed on it.",
            403: "The App needs Issues: Read and write on the Factory repository.",
            410: f"Issues are turned off in {repo}: turn them on in its settings.",
        }

    def tracking_issues(self) -> list[TrackingIssue]:
        def listed() -> list[TrackingIssue]:
            found = self.repo.get_issues(state="all", labels=[self.tracking_label])
            # GitHub lists pull requests among issues. Asking `pull_request` of an issue would make
            # PyGithub fetch it again (the field is absent), so tell them apart by their web URL.
            return [_tracking_issue(i) for i in found if "/pull/" not in i.html_url]

        with talking(f"Listing the tracking issues of {self.repo_name}", self._hints):
            return _renewing(self.gh, listed)

    def rate_limit(self) -> tuple[int, int]:
        """(remaining, limit) of the token's hourly REST budget."""
        with talking("Reading the rate limit", self._hints):
            core = self.gh.get_rate_limit().resources.core
            return core.remaining, core.limit

    def issue(self, number: int) -> TrackingIssue:
        missing = f"Issue #{number} does not exist in {self.repo_name}: check `factory-issue`."
        hints = {**self._hints, 404: missing}
        with talking(f"Reading issue #{number} of {self.repo_name}", hints):
            return _renewing(self.gh, lambda: _tracking_issue(self.repo.get_issue(number)))

    def create(self, title: str, body: str, labels: list[str]) -> TrackingIssue:
        """POST a new issue, once: retried only when GitHub refused it for a rate limit. A failure after
        which the issue may exist all the same (a 5xx, a dropped connection, a timeout) raises
        CreateUnsure, so that the caller looks for it before trying again."""
        doing = f"Creating a tracking issue in {self.repo_name}"
        try:
            return _renewing(self.gh, lambda: _tracking_issue(
                self.repo.create_issue(title=title, body=body, labels=labels)))
        except (GithubException, requests.RequestException) as exc:
            failure = _failure(exc)
            unsure = failure.status is None or failure.status >= 500
            error = CreateUnsure if unsure else FactorySyncError
            raise error(_failed(doing, failure, self._hints)) from None

    def retire(self, number: int, body: str, labels: list[str]) -> TrackingIssue:
        """Close a spare copy of a tracking issue as not planned, with its new body and labels, in one
        PATCH (retried: it gives the same result however often it lands)."""
        def closed() -> TrackingIssue:
            issue = self.repo.get_issue(number)  # lazy: the PATCH is the only request
            issue.edit(body=body, labels=labels, state="closed", state_reason="not_planned")
            return _tracking_issue(issue)

        with talking(f"Closing issue #{number} of {self.repo_name}, a duplicate tracking issue", self._hints):
            return _renewing(self.gh, closed)

    def update(self, number: int, body: str, labels: list[str]) -> TrackingIssue:
        def edited() -> TrackingIssue:
            issue = self.repo.get_issue(number)  # lazy: the PATCH is the only request
            issue.edit(body=body, labels=labels)
            return _tracking_issue(issue)

        with talking(f"Updating tracking issue #{number} of {self.repo_name}", self._hints):
            return _renewing(self.gh, edited)


def _tracking_issue(issue) -> TrackingIssue:
    return TrackingIssue(
        number=issue.number, title=issue.title, body=issue.body or "",
        labels=[label.name for label in issue.labels], url=issue.html_url,
    )
