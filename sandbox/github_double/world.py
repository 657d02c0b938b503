"""The double's in-memory state of GitHub: apps, installations, repositories, issues, tokens.

Plain data plus the few rules that are about the data itself (numbering, timeline entries,
label auto-creation). HTTP, auth checks and JSON shapes live in the server modules.
The double shares no code with the product: it is an independent stand-in for GitHub.
"""

from __future__ import annotations

import base64
import itertools
import secrets
import string
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from github_double.limits import Budgets, SecondaryLimits

if TYPE_CHECKING:
    from github_double.projects import Project

TOKEN_LIFETIME = timedelta(hours=1)
INSTALLATION_RATE_LIMIT = 5000
WORKFLOW_RATE_LIMIT = 1000
WORKFLOW_ACTOR = "github-actions[bot]"
_TOKEN_ALPHABET = string.ascii_letters + string.digits


def node_id(type_name: str, database_id: int) -> str:
    """GitHub's legacy global node id ("05:Issue1" in base64), shared by the REST and GraphQL faces."""
    return base64.b64encode(f"{len(type_name):02d}:{type_name}{database_id}".encode()).decode()


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, second, tzinfo=UTC)


class Clock:
    """An injectable clock: tests move time forward to expire tokens and JWTs, and run it faster to
    pass through rate-limit windows: with `speed=60.0` each real second is a minute of the double's
    time. Without a speed it follows real time, or stays at `start` when one is given. A fast clock
    ages tokens and JWTs as fast: a client that signs its JWTs on real time is soon refused."""

    def __init__(self, start: datetime | None = None, *, speed: float | None = None) -> None:
        if speed is not None and speed < 0:
            raise ValueError("a clock's speed is 0 or more")
        self._offset = timedelta(0)
        self._fixed = start
        self.speed = speed
        self._origin = (start or datetime.now(UTC), time.monotonic())

    def exact(self) -> datetime:
        """The time to the microsecond (GitHub's timestamps, from now(), are whole seconds)."""
        if self.speed is None:
            base = self._fixed if self._fixed is not None else datetime.now(UTC)
        else:
            began, real = self._origin
            base = began + timedelta(seconds=(time.monotonic() - real) * self.speed)
        return base + self._offset

    def now(self) -> datetime:
        return self.exact().replace(microsecond=0)

    def advance(self, seconds: float) -> None:
        self._offset += timedelta(seconds=seconds)


@dataclass
class App:
    id: int
    client_id: str
    slug: str
    name: str
    public_key_pem: str
    owner: str


@dataclass
class Installation:
    id: int
    app_id: int
    account: str  # user or organization login
    account_type: str  # "Organization" or "User"
    repository_selection: str  # "all" or "selected"
    repositories: list[str]  # full names ("owner/name"); with "all", every repo of the account
    permissions: dict[str, str]  # e.g. {"issues": "write", "metadata": "read"}


@dataclass
class Label:
    id: int
    name: str
    color: str = "ededed"
    description: str | None = None
    default: bool = False


@dataclass
class TimelineEvent:
    id: int
    event: str  # labeled, unlabeled, closed, reopened, renamed
    actor: str
    created_at: datetime
    label: str | None = None  # labeled / unlabeled
    state_reason: str | None = None  # closed: completed / not_planned
    rename_from: str | None = None  # renamed
    rename_to: str | None = None


@dataclass
class Issue:
    id: int
    number: int
    title: str
    body: str | None
    user: str
    state: str = "open"  # open / closed
    state_reason: str | None = None
    labels: list[str] = field(default_factory=list)  # label names, in the order applied
    assignees: list[str] = field(default_factory=list)
    created_at: datetime | None = None
    updated_at: datetime | None = None
    closed_at: datetime | None = None
    timeline: list[TimelineEvent] = field(default_factory=list)
    is_pull_request: bool = False


@dataclass
class Repository:
    id: int
    owner: str
    name: str
    private: bool = False
    default_branch: str = "main"
    labels: dict[str, Label] = field(default_factory=dict)  # keyed by lower-cased name
    issues: dict[int, Issue] = field(default_factory=dict)  # keyed by number
    next_number: int = 1
    created_at: datetime | None = None
    files: dict[str, bytes] = field(default_factory=dict)  # the default branch's files, keyed by path
    head_sha: str = ""  # the default branch's last commit made through the contents API

    @property
    def full_name(self) -> str:
        return f"{self.owner}/{self.name}"


@dataclass
class RateWindow:
    """One principal's use of one rate-limit resource ("core", "graphql") in the current hour."""

    limit: int
    used: int = 0
    reset_at: datetime | None = None

    @property
    def remaining(self) -> int:
        return max(self.limit - self.used, 0)


@dataclass
class Token:
    """An installation access token (or, with installation_id None, a workflow's GITHUB_TOKEN)."""

    value: str
    installation_id: int | None
    repositories: list[str] | None  # full names; None means every repo the installation can see
    permissions: dict[str, str]
    expires_at: datetime
    revoked: bool = False
    rate_limit: int = INSTALLATION_RATE_LIMIT  # per hour, for each resource
    id: str = ""  # short, non-secret name for logs; never the token value

    @property
    def is_workflow(self) -> bool:
        return self.installation_id is None


@dataclass
class Dispatch:
    """A repository_dispatch or workflow_dispatch the double received."""

    kind: str  # "repository_dispatch" or "workflow_dispatch"
    repository: str
    event_type: str | None = None  # repository_dispatch
    client_payload: dict | None = None
    workflow: str | None = None  # workflow_dispatch: file name or id
    ref: str | None = None
    inputs: dict | None = None
    created_at: datetime | None = None


class World:
    """Everything the double knows. One lock serialises mutations from the threaded server."""

    def __init__(self, clock: Clock | None = None) -> None:
        self.clock = clock or Clock()
        self.lock = threading.RLock()
        self.apps: dict[int, App] = {}
        self.installations: dict[int, Installation] = {}
        self.repositories: dict[str, Repository] = {}  # keyed by lower-cased full name
        self.tokens: dict[str, Token] = {}
        self.dispatches: list[Dispatch] = []
        self.users: dict[str, str] = {}  # login -> "User" / "Organization" / "Bot"
        self.user_ids: dict[str, int] = {}
        self.rate_windows: dict[tuple[str, str], RateWindow] = {}  # (principal key, resource)
        self.projects: dict[int, Project] = {}  # ProjectV2 boards by database id (projects.py)
        # Tests: edits of a GraphQL answer's body (as GitHub's schema allows, e.g. a nullable field null),
        # applied in order after the answer is computed.
        self.graphql_edits: list[Callable[[dict], None]] = []
        # Accounts with no role in the world's repositories (they may open and edit their own issues
        # only); every other account is taken to be a member of the organisations that own them.
        self.outsiders: set[str] = set()
        self.limits = SecondaryLimits()  # GitHub's secondary limits; tests that need others set them
        self.budgets = Budgets()  # what each caller used of them
        self._ids = itertools.count(1000)

    def next_id(self) -> int:
        return next(self._ids)

    # -- lookups -----------------------------------------------------------------------------
    def repo(self, full_name: str) -> Repository | None:
        return self.repositories.get(full_name.lower())

    def repo_by_id(self, repo_id: int) -> Repository | None:
        return next((r for r in self.repositories.values() if r.id == repo_id), None)

    def installation_repos(self, inst: Installation) -> list[Repository]:
        if inst.repository_selection == "all":
            return [r for r in self.repositories.values() if r.owner.lower() == inst.account.lower()]
        return [r for name in inst.repositories if (r := self.repo(name)) is not None]

    def token(self, value: str) -> Token | None:
        return self.tokens.get(value)

    def token_repos(self, token: Token) -> list[Repository]:
        if token.repositories is not None:
            return [r for name in token.repositories if (r := self.repo(name)) is not None]
        inst = self.installations.get(token.installation_id or -1)
        return self.installation_repos(inst) if inst else []

    def token_can_see(self, token: Token, repo: Repository) -> bool:
        return any(r is repo for r in self.token_repos(token))

    def is_live(self, token: Token) -> bool:
        return not token.revoked and self.clock.now() < token.expires_at

    def app_of(self, token: Token) -> App | None:
        inst = self.installations.get(token.installation_id or -1)
        return self.apps.get(inst.app_id) if inst else None

    def actor_of(self, token: Token) -> str:
        """The login GitHub shows for changes made with this token."""
        app = self.app_of(token)
        return f"{app.slug}[bot]" if app else WORKFLOW_ACTOR

    def user_id(self, login: str) -> int:
        if login not in self.user_ids:
            self.user_ids[login] = self.next_id()
        return self.user_ids[login]

    def user_type(self, login: str) -> str:
        return self.users.get(login) or ("Bot" if login.endswith("[bot]") else "User")

    def rate_window(self, principal_key: str, resource: str, limit: int) -> RateWindow:
        """The principal's window for the resource, opening a new hour when the last one is over."""
        now = self.clock.now()
        window = self.rate_windows.get((principal_key, resource))
        if window is None or window.reset_at is None or now >= window.reset_at:
            window = RateWindow(limit, 0, now + timedelta(hours=1))
            self.rate_windows[(principal_key, resource)] = window
        return window

    # -- tokens ------------------------------------------------------------------------------
    def mint_installation_token(self, inst: Installation, repositories: list[str] | None,
                                permissions: dict[str, str]) -> Token:
        """A new one-hour token; the caller has checked that the narrowing fits the installation."""
        return self._mint(inst.id, repositories, permissions, INSTALLATION_RATE_LIMIT)

    def mint_workflow_token(self, repo_full_name: str, permissions: dict[str, str] | None = None, *,
                            value: str | None = None) -> str:
        """A workflow's GITHUB_TOKEN for one repository (issues write, contents read unless told);
        returns the token value, a random one unless `value` is given."""
        repo = self.repo(repo_full_name)
        if repo is None:
            raise KeyError(f"no repository {repo_full_name}")
        perms = permissions if permissions is not None else {"issues": "write", "contents": "read"}
        self.users.setdefault(WORKFLOW_ACTOR, "Bot")
        token = self._mint(None, [repo.full_name], {**perms, "metadata": "read"}, WORKFLOW_RATE_LIMIT, value)
        return token.value

    def _mint(self, installation_id: int | None, repositories: list[str] | None,
              permissions: dict[str, str], rate_limit: int, value: str | None = None) -> Token:
        value = value or "ghs_" + "".join(secrets.choice(_TOKEN_ALPHABET) for _ in range(36))
        token = Token(value, installation_id, repositories, dict(permissions),
                      self.clock.now() + TOKEN_LIFETIME, rate_limit=rate_limit, id=f"tok-{self.next_id()}")
        self.tokens[value] = token
        return token

    # -- building the world ------------------------------------------------------------------
    def add_app(self, app_id: int, public_key_pem: str, *, client_id: str | None = None,
                slug: str = "factory-sync", name: str = "Factory Sync", owner: str = "ohdsi-demo") -> App:
        app = App(app_id, client_id or f"Iv1.{app_id:016x}", slug, name, public_key_pem, owner)
        self.apps[app_id] = app
        return app

    def add_repo(self, full_name: str, *, private: bool = False,
                 labels: list[str] | None = None) -> Repository:
        owner, name = full_name.split("/", 1)
        self.users.setdefault(owner, "Organization")
        repo = Repository(self.next_id(), owner, name, private=private, created_at=self.clock.now())
        for label in labels or []:
            self.ensure_label(repo, label)
        self.repositories[full_name.lower()] = repo
        return repo

    def add_installation(self, app_id: int, account: str, repositories: list[str] | None,
                         permissions: dict[str, str], *, installation_id: int | None = None) -> Installation:
        inst = Installation(
            installation_id or self.next_id(), app_id, account, self.users.get(account, "Organization"),
            "all" if repositories is None else "selected", list(repositories or []), dict(permissions),
        )
        self.installations[inst.id] = inst
        return inst

    def ensure_label(self, repo: Repository, name: str, color: str = "ededed",
                     description: str | None = None) -> Label:
        label = repo.labels.get(name.lower())
        if label is None:
            label = Label(self.next_id(), name, color, description)
            repo.labels[name.lower()] = label
        return label

    def association(self, repo: Repository, login: str) -> str:
        """An account's relation to a repository, as GitHub's `author_association` says it."""
        if login.lower() == repo.owner.lower():
            return "OWNER"
        if login.lower() in {outsider.lower() for outsider in self.outsiders}:
            return "NONE"
        return "MEMBER" if self.users.get(repo.owner) == "Organization" else "COLLABORATOR"

    def import_issue(self, repo: Repository, title: str, body: str | None, user: str, *,
                     created_at: datetime, labels: list[str] | None = None,
                     assignees: list[str] | None = None,
                     closed_at: datetime | None = None, state_reason: str | None = None,
                     timeline: list[TimelineEvent] | None = None, number: int | None = None,
                     is_pull_request: bool = False) -> Issue:
        """An issue with a past: without an explicit timeline, its labels are applied when it was
        opened and its closing is recorded at closed_at, both by its author."""
        number = number or repo.next_number
        if number in repo.issues:
            raise ValueError(f"{repo.full_name} already has issue #{number}")
        names = [self.ensure_label(repo, n).name for n in labels or []]
        if timeline is None:
            timeline = [TimelineEvent(self.next_id(), "labeled", user, created_at, label=n) for n in names]
            if closed_at is not None:
                timeline.append(TimelineEvent(self.next_id(), "closed", user, closed_at,
                                              state_reason=state_reason or "completed"))
        issue = Issue(self.next_id(), number, title, body, user,
                      state="closed" if closed_at else "open",
                      state_reason=(state_reason or "completed") if closed_at else None,
                      labels=names, assignees=list(assignees or []), created_at=created_at,
                      updated_at=max([created_at, closed_at or created_at,
                                      *(e.created_at for e in timeline)]),
                      closed_at=closed_at, timeline=timeline, is_pull_request=is_pull_request)
        repo.issues[number] = issue
        repo.next_number = max(repo.next_number, number + 1)
        return issue

    # -- issue changes that GitHub records on the timeline ----------------------------------
    def create_issue(self, repo: Repository, title: str, body: str | None, user: str, *,
                     labels: list[str] | None = None, assignees: list[str] | None = None,
                     is_pull_request: bool = False) -> Issue:
        now = self.clock.now()
        issue = Issue(self.next_id(), repo.next_number, title, body, user,
                      assignees=list(assignees or []), created_at=now, updated_at=now,
                      is_pull_request=is_pull_request)
        repo.next_number += 1
        repo.issues[issue.number] = issue
        for label in labels or []:
            self.add_label(repo, issue, label, user)
        return issue

    def add_label(self, repo: Repository, issue: Issue, name: str, actor: str) -> None:
        label = self.ensure_label(repo, name)  # GitHub creates a missing label when it is applied
        if label.name.lower() in (n.lower() for n in issue.labels):
            return
        issue.labels.append(label.name)
        self._record(issue, "labeled", actor, label=label.name)

    def remove_label(self, repo: Repository, issue: Issue, name: str, actor: str) -> bool:
        for existing in issue.labels:
            if existing.lower() == name.lower():
                issue.labels.remove(existing)
                self._record(issue, "unlabeled", actor, label=existing)
                return True
        return False

    def set_state(self, issue: Issue, state: str, actor: str, state_reason: str | None = None) -> None:
        if state == issue.state:
            return
        now = self.clock.now()
        issue.state = state
        if state == "closed":
            issue.closed_at = now
            issue.state_reason = state_reason or "completed"
            self._record(issue, "closed", actor, state_reason=issue.state_reason)
        else:
            issue.closed_at = None
            issue.state_reason = "reopened"
            self._record(issue, "reopened", actor)

    def rename(self, issue: Issue, title: str, actor: str) -> None:
        if title == issue.title:
            return
        old, issue.title = issue.title, title
        self._record(issue, "renamed", actor, rename_from=old, rename_to=title)

    def touch(self, issue: Issue) -> None:
        issue.updated_at = self.clock.now()

    def _record(self, issue: Issue, kind: str, actor: str, **details: str | None) -> None:
        now = self.clock.now()
        issue.timeline.append(TimelineEvent(self.next_id(), kind, actor, now, **details))
        issue.updated_at = now
