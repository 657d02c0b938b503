"""The double's in-memory state of GitHub: apps, installations, repositories, issues, tokens.

Plain data plus the few rules that are about the data itself (numbering, timeline entries,
label auto-creation). HTTP, auth checks and JSON shapes live in the server modules.
The double shares no code with the product: it is an independent stand-in for GitHub.
"""

from __future__ import annotations

import itertools
import threading
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, second, tzinfo=timezone.utc)


class Clock:
    """An injectable clock: tests move time forward to expire tokens and JWTs."""

    def __init__(self, start: datetime | None = None) -> None:
        self._offset = timedelta(0)
        self._fixed = start

    def now(self) -> datetime:
        base = self._fixed if self._fixed is not None else datetime.now(timezone.utc)
        return (base + self._offset).replace(microsecond=0)

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

    @property
    def full_name(self) -> str:
        return f"{self.owner}/{self.name}"


@dataclass
class Token:
    """An installation access token (or, with app_id None, a workflow's GITHUB_TOKEN)."""

    value: str
    installation_id: int | None
    repositories: list[str] | None  # full names; None means every repo the installation can see
    permissions: dict[str, str]
    expires_at: datetime
    revoked: bool = False
    rate_limit: int = 5000
    rate_used: int = 0


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

    # -- building the world ------------------------------------------------------------------
    def add_app(self, app_id: int, public_key_pem: str, *, client_id: str | None = None,
                slug: str = "factory-sync", name: str = "Factory Sync", owner: str = "ohdsi-demo") -> App:
        app = App(app_id, client_id or f"Iv1.{app_id:016x}", slug, name, public_key_pem, owner)
        self.apps[app_id] = app
        return app

    def add_repo(self, full_name: str, *, private: bool = False, labels: list[str] | None = None) -> Repository:
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

    # -- issue changes that GitHub records on the timeline ----------------------------------
    def create_issue(self, repo: Repository, title: str, body: str | None, user: str, *,
                     labels: list[str] | None = None, assignees: list[str] | None = None) -> Issue:
        now = self.clock.now()
        issue = Issue(self.next_id(), repo.next_number, title, body, user,
                      assignees=list(assignees or []), created_at=now, updated_at=now)
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
