"""The portfolio: which studies a resync checks, and what became of each. Plain functions, no I/O.

In: the Factory's tracking issues and, when discovering, the repositories the App's installation
can see. Out: the studies to read, the reader token's narrowing, each study's result and the counts.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum

from factory_sync.events import Trigger
from factory_sync.github_limits import NARROW_LIMIT
from factory_sync.model import TrackingIssue, is_repo_name
from factory_sync.planner import Action, Plan
from factory_sync.tracking_body import names_study


@dataclass(frozen=True)
class Portfolio:
    """The Factory's tracking issues, by the study each names (marker or old-format line)."""

    issues: dict[str, list[TrackingIssue]]  # lower-cased owner/name -> the issues naming it
    names: dict[str, str]  # lower-cased owner/name -> as the lowest-numbered issue spells it
    unnamed: tuple[TrackingIssue, ...]  # carry the tracking label but name no repository

    @property
    def studies(self) -> list[str]:
        """Every tracked study, in a stable order."""
        return sorted(self.names.values(), key=str.lower)

    def issues_of(self, study: str) -> list[TrackingIssue]:
        return self.issues.get(study.lower(), [])


def portfolio_of(issues: Iterable[TrackingIssue]) -> Portfolio:
    by_study: dict[str, list[TrackingIssue]] = {}
    names: dict[str, str] = {}
    unnamed = []
    for issue in sorted(issues, key=lambda issue: issue.number):
        named = names_study(issue.body)
        if named is None or not is_repo_name(named):
            unnamed.append(issue)
            continue
        by_study.setdefault(named.lower(), []).append(issue)
        names.setdefault(named.lower(), named)
    return Portfolio(by_study, names, tuple(unnamed))


def studies_to_check(trigger: Trigger, portfolio: Portfolio, factory_repo: str) -> list[str]:
    """The study the trigger names, or every tracked study (never the Factory itself)."""
    if not trigger.all_studies:
        return [trigger.study] if trigger.study else []
    return [study for study in portfolio.studies if study.lower() != factory_repo.lower()]


def untracked(visible: Iterable[str], portfolio: Portfolio, factory_repo: str) -> list[str]:
    """Repositories the installation can see that no tracking issue names: candidates for discovery."""
    return sorted((repo for repo in visible
                   if repo.lower() not in portfolio.issues and repo.lower() != factory_repo.lower()),
                  key=str.lower)


def reader_repositories(studies: Sequence[str], factory_repo: str, discover: bool) -> list[str] | None:
    """What to narrow the study reader's token to: the studies (in the installation's account, the
    Factory's owner), or None (all the installation's repositories) when discovering or too many."""
    if discover:
        return None
    owner = factory_repo.split("/", 1)[0].lower()
    mine = sorted({study for study in studies if study.split("/", 1)[0].lower() == owner}, key=str.lower)
    return mine if 0 < len(mine) <= NARROW_LIMIT else None


# -- results ---------------------------------------------------------------------------------

class Status(StrEnum):
    CREATED = "created"
    UPDATED = "updated"
    UNCHANGED = "unchanged"
    UNTRACKED = "untracked"  # no tracking issue, and create-missing is false
    DEFERRED = "deferred"  # differs, and the run's write budget is spent: the next run writes it
    FAILED = "failed"


CHANGED = (Status.CREATED, Status.UPDATED)


@dataclass(frozen=True)
class StudyResult:
    study: str
    status: Status
    stage_before: str | None = None
    stage_after: str | None = None
    issue: TrackingIssue | None = None  # as it stands after the run (dry run: as it stood)
    changes: tuple[str, ...] = ()
    reason: str = ""  # why it failed
    stage_label: str | None = None  # the current stage's label; None when not started


_STATUS_OF_PLAN = {Action.CREATE: Status.CREATED, Action.UPDATE: Status.UPDATED,
                   Action.NONE: Status.UNCHANGED, Action.MISSING: Status.UNTRACKED}


def result_of(study: str, wanted: Plan, issue: TrackingIssue | None) -> StudyResult:
    """What became of a study whose plan was carried out (in a dry run: would become)."""
    return StudyResult(study, _STATUS_OF_PLAN[wanted.action], wanted.stage_before, wanted.stage_after, issue,
                       wanted.changes, stage_label=wanted.stage_label)


def failed(study: str, reason: str) -> StudyResult:
    return StudyResult(study, Status.FAILED, reason=reason)


@dataclass(frozen=True)
class Counts:
    checked: int
    changed: int
    unchanged: int
    failed: int
    untracked: int
    deferred: int = 0


def count(results: Sequence[StudyResult]) -> Counts:
    def of(*statuses: Status) -> int:
        return sum(result.status in statuses for result in results)

    return Counts(len(results), of(*CHANGED), of(Status.UNCHANGED), of(Status.FAILED), of(Status.UNTRACKED),
                  of(Status.DEFERRED))


def deferred(result: StudyResult) -> StudyResult:
    """A study whose tracking issue differs but is left for the next run: the write budget is spent."""
    return StudyResult(result.study, Status.DEFERRED, result.stage_before, result.stage_after, result.issue,
                       result.changes, stage_label=result.stage_label)


# GitHub's hourly content-creating requests of an installation are shared by every study repository's
# own runs: an hourly resync within this budget leaves them CONTENT_WRITES_PER_HOUR - WRITE_BUDGET.
WRITE_BUDGET = 300


class WriteBudget:
    """The writes one run may make (None: no bound), so that a resync leaves room in GitHub's hourly
    budget of content-creating requests for the study repositories' own runs."""

    def __init__(self, writes: int | None) -> None:
        self.left = writes

    @property
    def spent(self) -> bool:
        return self.left is not None and self.left <= 0

    def spend(self) -> None:
        if self.left is not None:
            self.left -= 1


