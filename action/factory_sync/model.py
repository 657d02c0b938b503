"""The domain model: a study as read from its repository, and a tracking issue as it stands in the
Factory. Plain data, and the rules that name them (repository names, stage labels, GitHub's times)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime

from factory_sync.github_limits import OWNER_NAME_LIMIT, REPO_NAME_LIMIT

STAGE_PREFIX = "stage:"
GHOST = "ghost"  # GitHub's stand-in for a deleted account
DEFAULT_SERVER_URL = "https://github.com"  # the web host, unless the runner or a study's URL names another
STUDY_CATALOG_PATH = ".github/factory-stages.yml"  # a study's own stage catalog, in its repository

# An account's login (letters, digits, hyphens; underscores in managed users' logins), then a
# repository's name (letters, digits, '.', '_', '-'; not '.' or '..').
OWNER_PATTERN = rf"[A-Za-z0-9][A-Za-z0-9_-]{{0,{OWNER_NAME_LIMIT - 1}}}"
ORGANIZATION_PATTERN = OWNER_PATTERN.replace("_", "")  # an organisation's login has no underscore
NAME_PATTERN = rf"[A-Za-z0-9._-]{{1,{REPO_NAME_LIMIT}}}"
_REPO_NAME = re.compile(f"{OWNER_PATTERN}/{NAME_PATTERN}")


def is_repo_name(text: str) -> bool:
    """owner/name as GitHub spells repositories."""
    return bool(_REPO_NAME.fullmatch(text)) and text.split("/", 1)[1] not in (".", "..")


def is_stage_label(name: str) -> bool:
    return name.lower().startswith(STAGE_PREFIX)


def parse_time(value: str) -> datetime:
    """A timestamp as GitHub writes them (ISO 8601, `Z` for UTC); ValueError when it is not one."""
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def as_utc(moment: datetime) -> datetime:
    """The moment in UTC; a naive one is taken to be UTC already."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


@dataclass(frozen=True)
class IssueEvent:
    """One timeline entry of a study issue."""

    kind: str  # labeled, unlabeled, closed, reopened
    at: datetime
    actor: str | None  # login; None when GitHub reports a deleted account ("ghost")
    label: str | None = None  # for labeled / unlabeled


@dataclass(frozen=True)
class StudyIssue:
    number: int
    title: str
    url: str
    open: bool
    created_at: datetime
    closed_at: datetime | None
    labels: tuple[str, ...]  # its stage labels (names starting with "stage:")
    events: tuple[IssueEvent, ...]  # in time order
    author: str | None = None  # login; None for a deleted account


@dataclass(frozen=True)
class Study:
    repo: str  # "owner/name" as GitHub spells it
    url: str  # the repository's html url
    issues: tuple[StudyIssue, ...]  # every issue carrying a stage label, by number
    catalog: str | None = None  # the text of its own STUDY_CATALOG_PATH file; None when it has none
    stage_labels: tuple[str, ...] = ()  # the names of the repository's stage labels, read with its issues


@dataclass(frozen=True)
class TrackingIssue:
    """A Factory issue as it is now (the adapter passes "" for an empty body)."""

    number: int
    title: str
    body: str
    labels: list[str]
    url: str
