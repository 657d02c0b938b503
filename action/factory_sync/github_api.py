"""The one adapter to GitHub. PyGithub does the HTTP, auth, paging and retries; this module
chooses the requests (few, narrow) and turns GitHub's failures into messages people can act on."""

from __future__ import annotations

import contextlib
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
)
from github.PaginatedList import PaginatedList
from github.Repository import Repository

from factory_sync.errors import FactorySyncError
from factory_sync.reconcile import TrackingIssue
from factory_sync.study import ReadFailure, Study, StudyReading

# GitHub asks for a pause between writes; reads need none when sent one after another.
SECONDS_BETWEEN_WRITES = 1.0
TIMEOUT_SECONDS = 30
PER_PAGE = 100
# The longest single wait for a rate limit (primary reset, secondary Retry-After); longer, and the
# request fails with GitHub's answer instead of holding the job.
MAX_RATE_LIMIT_WAIT = 15 * 60
# An installation token lives an hour; a new one is minted this long before the old one expires.
RENEW_BEFORE_EXPIRY = timedelta(minutes=5)
# A token this young is never renewed by the clock (guards against a runner clock that is off).
MIN_TOKEN_AGE = timedelta(minutes=1)

T = TypeVar("T")


# Retried: reads, GraphQL queries and token minting (POST), and PATCHes of a whole body, which give
# the same result however often they land. Not retried: creating an issue, which could make two.
READ_METHODS = frozenset({"GET", "HEAD", "POST"})
WRITE_METHODS = frozenset({"GET", "HEAD", "PATCH", "PUT", "DELETE"})


class _Retry(GithubRetry):
    """PyGithub's retry (5xx, secondary and primary rate limits), with every rate-limit wait bounded."""

    def get_retry_after(self, response):  # type: ignore[no-untyped-def]
        seconds = super().get_retry_after(response)
        if seconds is not None and seconds > MAX_RATE_LIMIT_WAIT:
            raise RateLimitExceededExceedsMaxWait(response.status, {"message": (
                f"a rate limit, with Retry-After {seconds:.0f} s, longer than the {MAX_RATE_LIMIT_WAIT} s "
                "this action waits")}, dict(response.headers), wait=seconds)
        return seconds


def _retry(methods: frozenset[str]) -> GithubRetry:
    # raise_on_status=False: when the retries run out, PyGithub sees GitHub's last answer and raises
    # a GithubException with its status, instead of urllib3's bare RetryError.
    return _Retry(total=3, backoff_factor=0.5, allowed_methods=methods, raise_on_status=False,
                  max_rate_limit_wait=MAX_RATE_LIMIT_WAIT)


def _github(auth: Auth.Auth, api_url: str, writes: bool, write_interval: float | None) -> Github:
    return Github(auth=auth, base_url=api_url, per_page=PER_PAGE, timeout=TIMEOUT_SECONDS,
                  retry=_retry(WRITE_METHODS if writes else READ_METHODS), lazy=True,
                  seconds_between_requests=None, seconds_between_writes=write_interval or None)


def connect(token: str, api_url: str, *, writes: bool = False) -> Github:
    """A client acting with a token: the workflow's own, or an installation token."""
    return _github(Auth.Token(token), api_url, writes, SECONDS_BETWEEN_WRITES)


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
        return ReadFailure(None, f"could not reach GitHub ({type(exc).__name__})")
    message = exc.message or (exc.data.get("message") if isinstance(exc.data, dict) else None)
    return ReadFailure(exc.status, f"GitHub answered {exc.status}" + (f" ({message})" if message else ""))


def _failed(doing: str, failure: ReadFailure, hints: Mapping[int, str] | None) -> str:
    """One line: what failed, GitHub's answer, what to do."""
    if failure.status is None and failure.answer.startswith("could not reach"):
        hint = "Check github-api-url and the runner's network, then run the job again."
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


def check_private_key(pem: str) -> None:
    """Fail early, and without echoing the key, when the secret is not an RSA private key in PEM."""
    try:
        load_pem_private_key(pem.strip().encode(), password=None)
    except (ValueError, TypeError):
        raise FactorySyncError(
            "private-key is not a PEM private key: paste the whole .pem file the App generated "
            "(from -----BEGIN RSA PRIVATE KEY----- to -----END RSA PRIVATE KEY-----) into the secret."
        ) from None


@dataclass(frozen=True)
class InstallationToken:
    value: str
    expires_at: str
    repositories: tuple[str, ...]
    permissions: dict[str, str]


class App:
    """A GitHub App acting through short-lived installation tokens."""

    def __init__(self, app_id: int | str, private_key: str, api_url: str) -> None:
        self.app_id = app_id
        # A run makes a handful of App requests (the installation, a few tokens): no pause between them.
        self.integration = GithubIntegration(
            auth=Auth.AppAuth(app_id, private_key.strip()), base_url=api_url, timeout=TIMEOUT_SECONDS,
            retry=_retry(READ_METHODS), seconds_between_requests=None, seconds_between_writes=None,
        )
        self.api_url = api_url

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
        where = _repositories(repos)
        body: dict = {"permissions": permissions}
        if repos is not None:
            body["repositories"] = [r.split("/", 1)[1] for r in repos]
        try:
            with talking(f"Creating an installation token for {where}", {
                401: "GitHub refused the App's JWT: check app-id, private-key and the runner's clock.",
                404: "The installation was not found: check `installation-id`, or leave it empty.",
                422: f"The installation cannot grant {_describe(permissions)} on {where}: "
                     "give the App those permissions, accept them on the installation, and make sure the "
                     "installation includes the repositories.",
            }):
                # PyGithub's get_access_token cannot narrow repositories; its requester sends the same call.
                _, data = self.integration.requester.requestJsonAndCheck(
                    "POST", f"/app/installations/{installation_id}/access_tokens", input=body)
        except FactorySyncError as exc:
            raise (MintRefused(str(exc)) if "GitHub answered 422" in str(exc) else exc) from None
        return InstallationToken(
            data["token"], data.get("expires_at", ""),
            tuple(r["full_name"] for r in data.get("repositories", [])), data.get("permissions", {}),
        )

    def revoke(self, token: str) -> None:
        with talking("Revoking the installation token"):
            client = connect(token, self.api_url, writes=True)
            client.requester.requestJsonAndCheck("DELETE", "/installation/token")


class MintRefused(FactorySyncError):
    """GitHub would not grant the token asked for (422): the installation lacks a permission or repository."""


def _describe(permissions: dict[str, str]) -> str:
    return ", ".join(f"{name}: {level}" for name, level in permissions.items())


def _repositories(repos: list[str] | None) -> str:
    if repos is None:
        return "all the installation's repositories"
    return ", ".join(repos) if len(repos) <= 3 else f"{len(repos)} repositories"


class RenewingToken(Auth.Auth):
    """An installation token as PyGithub's auth: asked for before every request, so it is renewed when
    it is about to expire (or when GitHub refused it), each new token announced (masked) before it is
    used and the one it replaces revoked. Tokens last an hour; a resync of a large portfolio can last
    longer."""

    def __init__(self, app: App, installation_id: int, repos: list[str] | None, permissions: dict[str, str],
                 announce: Callable[[InstallationToken], None], clock: Callable[[], datetime]) -> None:
        self._app, self._installation_id = app, installation_id
        self._repos, self._permissions = repos, permissions
        self._announce, self._clock = announce, clock
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
            with contextlib.suppress(FactorySyncError):  # it expires within minutes anyway
                self._app.revoke(old.value)

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
        auth = RenewingToken(self.app, self.installation_id, repos, permissions, self._announce, self._clock)
        self._auths.append(auth)
        return _github(auth, self.app.api_url, writes, write_interval if writes else None)

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
        with talking(f"Creating a tracking issue in {self.repo_name}", self._hints):
            return _renewing(self.gh, lambda: _tracking_issue(
                self.repo.create_issue(title=title, body=body, labels=labels)))

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
