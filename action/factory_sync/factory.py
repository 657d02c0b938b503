"""The Factory writer: the Factory repository's tracking issues over REST, and the repository_dispatch
that asks the Factory for a resync."""

from __future__ import annotations

import base64
import binascii
from urllib.parse import quote

from factory_sync.app_tokens import InstallationTokens
from factory_sync.errors import FactorySyncError
from factory_sync.github_client import Client, GitHubError
from factory_sync.github_limits import EVENT_TYPE_LIMIT
from factory_sync.model import TrackingIssue

# All the Factory's token needs: its issues, and reading its config file (factory_config.CONFIG_PATH).
WRITE_PERMISSIONS = {"issues": "write", "contents": "read"}


class CreateUnsure(FactorySyncError):
    """Creating an issue failed in a way that may have created it all the same (no answer, or a 5xx)."""


class Factory:
    """The Factory repository's tracking issues."""

    def __init__(self, client: Client, repo: str) -> None:
        self.client = client
        self.repo_name = repo
        self._repo = client.github.get_repo(repo)  # our clients are lazy: no request until one is needed
        self._hints = {
            404: f"Check `factory-repo` ({repo}) and that the App is installed on it.",
            403: "The App needs Issues: Read and write on the Factory repository.",
            410: f"Issues are turned off in {repo}: turn them on in its settings.",
        }

    @classmethod
    def through(cls, tokens: InstallationTokens, repo: str, write_interval: float,
                also: dict[str, str] | None = None) -> Factory:
        """The Factory, through a token that can only write its issues (and `also`, the board's
        permission when there is one), writes spaced as GitHub asks."""
        permissions = {**WRITE_PERMISSIONS, **(also or {})}
        return cls(tokens.client([repo], permissions, writes=True, write_interval=write_interval), repo)

    def file(self, path: str) -> str | None:
        """A text file on the Factory's default branch (its config), or None when there is none."""
        missing = f"{self.repo_name} has no {path}"
        try:
            _, data = self.client.request(f"Reading {path} in {self.repo_name}", "GET",
                                          f"/repos/{self.repo_name}/contents/{quote(path)}", None, {
                **self._hints, 403: "The App needs Contents: Read-only on the Factory repository, to read "
                                    "its config file.", 404: missing})
        except GitHubError as exc:
            if exc.failure.status == 404:
                return None
            raise
        if not isinstance(data, dict) or data.get("type") != "file":
            raise FactorySyncError(f"{path} in {self.repo_name} is not a file; make it the YAML config file")
        try:
            return base64.b64decode(data.get("content") or "").decode("utf-8")
        except (binascii.Error, UnicodeDecodeError) as exc:
            raise FactorySyncError(f"{path} in {self.repo_name} is not UTF-8 text; save it as UTF-8") from exc

    def labelled(self, label: str) -> list[TrackingIssue]:
        """The open issues carrying `label` (the portfolio dashboard's), lowest number first."""
        def listed(_) -> list[TrackingIssue]:  # type: ignore[no-untyped-def]
            found = self._repo.get_issues(state="open", labels=[label])
            return sorted((_tracking_issue(i) for i in found if "/pull/" not in i.html_url),
                          key=lambda issue: issue.number)

        return self.client.call(f"Listing the issues labelled {label!r} in {self.repo_name}", listed,
                                self._hints)

    def tracking_issues(self, label: str) -> list[TrackingIssue]:
        """The issues labelled `label` (the tracking label), pull requests left out."""
        def listed(_) -> list[TrackingIssue]:  # type: ignore[no-untyped-def]
            found = self._repo.get_issues(state="all", labels=[label])
            # GitHub lists pull requests among issues. Asking `pull_request` of an issue would make
            # PyGithub fetch it again (the field is absent), so tell them apart by their web URL.
            return [_tracking_issue(i) for i in found if "/pull/" not in i.html_url]

        return self.client.call(f"Listing the tracking issues of {self.repo_name}", listed, self._hints)

    def rate_limit(self) -> tuple[int, int]:
        """(remaining, limit) of the token's hourly REST budget."""
        def read(gh) -> tuple[int, int]:  # type: ignore[no-untyped-def]
            core = gh.get_rate_limit().resources.core
            return core.remaining, core.limit

        return self.client.call("Reading the rate limit", read, self._hints)

    def issue(self, number: int) -> TrackingIssue:
        missing = f"Issue #{number} does not exist in {self.repo_name}: check `factory-issue`."
        return self.client.call(f"Reading issue #{number} of {self.repo_name}",
                                lambda _: _tracking_issue(self._repo.get_issue(number)),
                                {**self._hints, 404: missing})

    def create(self, title: str, body: str, labels: list[str]) -> TrackingIssue:
        """POST a new issue, once: retried only when GitHub refused it for a rate limit. A failure after
        which the issue may exist all the same (a 5xx, a dropped connection, a timeout) raises
        CreateUnsure, so that the caller looks for it before trying again."""
        try:
            return self.client.call(f"Creating a tracking issue in {self.repo_name}",
                                    lambda _: _tracking_issue(self._repo.create_issue(title=title, body=body,
                                                                                      labels=labels)),
                                    self._hints)
        except GitHubError as exc:
            if exc.failure.unsure:
                raise CreateUnsure(str(exc)) from exc
            raise

    def retire(self, number: int, body: str, labels: list[str]) -> TrackingIssue:
        """Close a spare copy of a tracking issue as not planned, with its new body and labels, in one
        PATCH (retried: it gives the same result however often it lands)."""
        return self.client.call(f"Closing issue #{number} of {self.repo_name}, a duplicate tracking issue",
                                lambda _: self._edit(number, body=body, labels=labels, state="closed",
                                                     state_reason="not_planned"), self._hints)

    def update(self, number: int, body: str, labels: list[str]) -> TrackingIssue:
        return self.client.call(f"Updating tracking issue #{number} of {self.repo_name}",
                                lambda _: self._edit(number, body=body, labels=labels), self._hints)

    def _edit(self, number: int, **changes: object) -> TrackingIssue:
        issue = self._repo.get_issue(number)  # lazy: the PATCH is the only request
        issue.edit(**changes)
        return _tracking_issue(issue)


def send_dispatch(client: Client, repo: str, event_type: str, client_payload: dict) -> None:
    """POST /repos/{repo}/dispatches. PyGithub's create_repository_dispatch answers only True or False;
    its requester gives GitHub's answer, for a message that says what to fix."""
    client.request(f"Sending the {event_type!r} repository_dispatch to {repo}", "POST",
                   f"/repos/{repo}/dispatches",
                   {"event_type": event_type, "client_payload": client_payload}, {
        401: "The `token` input was refused: check the secret, and that the token has not expired.",
        403: f"The token may not dispatch to {repo}: it needs Contents: Read and write on {repo}.",
        404: f"{repo} is not visible to the token: in mode `dispatch`, `token` must be a fine-grained "
             f"token (or an App token) with Contents: Read and write on {repo}; the workflow's own token "
             "cannot reach another repository.",
        422: f"GitHub refused the event type: check `dispatch-event-type` (at most {EVENT_TYPE_LIMIT} "
             "characters).",
    })


def _tracking_issue(issue) -> TrackingIssue:  # type: ignore[no-untyped-def]
    return TrackingIssue(
        number=issue.number, title=issue.title, body=issue.body or "",
        labels=[label.name for label in issue.labels], url=issue.html_url,
    )
