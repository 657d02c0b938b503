"""The one adapter to GitHub. PyGithub does the HTTP, auth, paging and retries; this module
chooses the requests (few, narrow) and turns GitHub's failures into messages people can act on."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass

import requests
from cryptography.hazmat.primitives.serialization import load_pem_private_key
from github import Auth, Github, GithubException, GithubIntegration, GithubRetry

from factory_sync.errors import FactorySyncError
from factory_sync.reconcile import TrackingIssue
from factory_sync.study import LABEL_ISSUES_QUERY, STUDY_QUERY, TIMELINE_QUERY, Study, study_from_graphql

# GitHub asks for a pause between writes; reads need none when sent one after another.
SECONDS_BETWEEN_WRITES = 1.0
TIMEOUT_SECONDS = 30
PER_PAGE = 100


# Retried: reads, GraphQL queries and token minting (POST), and PATCHes of a whole body, which give
# the same result however often they land. Not retried: creating an issue, which could make two.
READ_METHODS = frozenset({"GET", "HEAD", "POST"})
WRITE_METHODS = frozenset({"GET", "HEAD", "PATCH", "PUT", "DELETE"})


def _retry(methods: frozenset[str]) -> GithubRetry:
    # raise_on_status=False: when the retries run out, PyGithub sees GitHub's last answer and raises
    # a GithubException with its status, instead of urllib3's bare RetryError.
    return GithubRetry(total=3, backoff_factor=0.5, allowed_methods=methods, raise_on_status=False)


def connect(token: str, api_url: str, *, writes: bool = False) -> Github:
    """A client acting with a token: the workflow's own, or an installation token."""
    return Github(auth=Auth.Token(token), base_url=api_url, per_page=PER_PAGE, timeout=TIMEOUT_SECONDS,
                  retry=_retry(WRITE_METHODS if writes else READ_METHODS), lazy=True,
                  seconds_between_requests=None, seconds_between_writes=SECONDS_BETWEEN_WRITES)


@contextlib.contextmanager
def talking(doing: str, hints: dict[int, str] | None = None) -> Iterator[None]:
    """Turn a failed exchange with GitHub into one clear line: what failed, GitHub's answer, what to do."""
    try:
        yield
    except GithubException as exc:
        message = exc.message or (exc.data.get("message") if isinstance(exc.data, dict) else None)
        hint = (hints or {}).get(exc.status) or _generic_hint(exc.status)
        answer = f"GitHub answered {exc.status}" + (f" ({message})" if message else "")
        raise FactorySyncError(f"{doing} failed: {answer}. {hint}".rstrip()) from None
    except requests.RequestException as exc:
        raise FactorySyncError(
            f"{doing} failed: could not reach GitHub ({type(exc).__name__}). "
            "Check github-api-url and the runner's network, then run the job again."
        ) from None


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
        self.integration = GithubIntegration(
            auth=Auth.AppAuth(app_id, private_key.strip()), base_url=api_url, timeout=TIMEOUT_SECONDS,
            retry=_retry(READ_METHODS),
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

    def mint(self, installation_id: int, repos: list[str], permissions: dict[str, str]) -> InstallationToken:
        """A token limited to these repositories and permissions (GitHub narrows it for us)."""
        names = [r.split("/", 1)[1] for r in repos]
        with talking(f"Creating an installation token for {', '.join(repos)}", {
            401: "GitHub refused the App's JWT: check app-id, private-key and the runner's clock.",
            404: "The installation was not found: check `installation-id`, or leave it empty.",
            422: f"The installation cannot grant {_describe(permissions)} on {', '.join(repos)}: "
                 "give the App those permissions, accept them on the installation, and make sure the "
                 "installation includes the repositories.",
        }):
            # PyGithub's get_access_token cannot narrow repositories; its requester sends the same call.
            _, data = self.integration.requester.requestJsonAndCheck(
                "POST", f"/app/installations/{installation_id}/access_tokens",
                input={"repositories": names, "permissions": permissions},
            )
        return InstallationToken(
            data["token"], data.get("expires_at", ""),
            tuple(r["full_name"] for r in data.get("repositories", [])), data.get("permissions", {}),
        )

    def revoke(self, token: str) -> None:
        with talking("Revoking the installation token"):
            client = connect(token, self.api_url, writes=True)
            client.requester.requestJsonAndCheck("DELETE", "/installation/token")


def _describe(permissions: dict[str, str]) -> str:
    return ", ".join(f"{name}: {level}" for name, level in permissions.items())


# -- the study ------------------------------------------------------------------------------

def read_study(gh: Github, repo: str) -> Study:
    """The study's stage-labelled issues with their timelines: one GraphQL request unless it is large."""
    owner, name = repo.split("/", 1)
    hints = {401: "The `token` input was refused: leave it at its default, `${{ github.token }}`."}
    with talking(f"Reading the stage-labelled issues of {repo}", hints):
        repository, labels = _read_labels(gh, owner, name, repo)
        issues_by_label: dict[str, list[dict]] = {}
        events: dict[int, list[dict]] = {}
        for label in labels:
            nodes = _all_label_issues(gh, owner, name, label)
            issues_by_label[label["name"]] = nodes
            for node in nodes:
                events.setdefault(node["number"], _all_timeline(gh, owner, name, node))
    return study_from_graphql(repository, issues_by_label, events)


def _graphql(gh: Github, query: str, variables: dict) -> dict:
    try:
        _, data = gh.requester.graphql_query(query, variables)
    except GithubException as exc:
        errors = exc.data.get("errors") if isinstance(exc.data, dict) else None
        if errors:  # GraphQL answers 200 with errors; make the first one the message
            exc = GithubException(exc.status, {"message": errors[0].get("message", "")}, exc.headers)
        raise exc from None
    return data["data"]


def _read_labels(gh: Github, owner: str, name: str, repo: str) -> tuple[dict, list[dict]]:
    labels: list[dict] = []
    cursor = None
    while True:
        data = _graphql(gh, STUDY_QUERY, {"owner": owner, "name": name, "labelCursor": cursor})
        repository = data.get("repository")
        if repository is None:
            raise FactorySyncError(f"Study repository {repo} was not found, or the token cannot read it.")
        page = repository["labels"]
        labels.extend(page["nodes"])
        if not page["pageInfo"]["hasNextPage"]:
            return repository, labels
        cursor = page["pageInfo"]["endCursor"]


def _all_label_issues(gh: Github, owner: str, name: str, label: dict) -> list[dict]:
    page = label["issues"]
    nodes = list(page["nodes"])
    while page["pageInfo"]["hasNextPage"]:
        data = _graphql(gh, LABEL_ISSUES_QUERY, {"owner": owner, "name": name, "label": label["name"],
                                                  "cursor": page["pageInfo"]["endCursor"]})
        page = data["repository"]["label"]["issues"]
        nodes.extend(page["nodes"])
    return nodes


def _all_timeline(gh: Github, owner: str, name: str, issue: dict) -> list[dict]:
    page = issue["timelineItems"]
    nodes = list(page["nodes"])
    while page["pageInfo"]["hasNextPage"]:
        data = _graphql(gh, TIMELINE_QUERY, {"owner": owner, "name": name, "number": issue["number"],
                                              "cursor": page["pageInfo"]["endCursor"]})
        page = data["repository"]["issue"]["timelineItems"]
        nodes.extend(page["nodes"])
    return nodes


# -- the Factory ----------------------------------------------------------------------------

class Factory:
    """The Factory repository's tracking issues."""

    def __init__(self, gh: Github, repo: str, tracking_label: str) -> None:
        self.repo_name = repo
        self.repo = gh.get_repo(repo, lazy=True)
        self.tracking_label = tracking_label
        self._hints = {
            404: f"Check `factory-repo` ({repo}) and that the App is installed on it.",
            403: "The App needs Issues: Read and write on the Factory repository.",
            410: f"Issues are turned off in {repo}: turn them on in its settings.",
        }

    def tracking_issues(self) -> list[TrackingIssue]:
        with talking(f"Listing the tracking issues of {self.repo_name}", self._hints):
            found = self.repo.get_issues(state="all", labels=[self.tracking_label])
            # GitHub lists pull requests among issues. Asking `pull_request` of an issue would make
            # PyGithub fetch it again (the field is absent), so tell them apart by their web URL.
            return [_tracking_issue(i) for i in found if "/pull/" not in i.html_url]

    def issue(self, number: int) -> TrackingIssue:
        missing = f"Issue #{number} does not exist in {self.repo_name}: check `factory-issue`."
        hints = {**self._hints, 404: missing}
        with talking(f"Reading issue #{number} of {self.repo_name}", hints):
            return _tracking_issue(self.repo.get_issue(number))

    def create(self, title: str, body: str, labels: list[str]) -> TrackingIssue:
        with talking(f"Creating a tracking issue in {self.repo_name}", self._hints):
            return _tracking_issue(self.repo.create_issue(title=title, body=body, labels=labels))

    def update(self, number: int, body: str, labels: list[str]) -> TrackingIssue:
        with talking(f"Updating tracking issue #{number} of {self.repo_name}", self._hints):
            issue = self.repo.get_issue(number)  # lazy: the PATCH is the only request
            issue.edit(body=body, labels=labels)
            return _tracking_issue(issue)


def _tracking_issue(issue) -> TrackingIssue:
    return TrackingIssue(
        number=issue.number, title=issue.title, body=issue.body or "",
        labels=[label.name for label in issue.labels], url=issue.html_url,
    )
