"""The portfolio: which studies a resync checks, and how their results are told.

Plain functions, no I/O. In: the Factory's tracking issues and, when discovering, the repositories
the App's installation can see. Out: the studies to read, the token's narrowing, progress lines,
the counts and the job summary.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum

from factory_sync.event import Trigger, is_repo_name
from factory_sync.reconcile import TrackingIssue
from factory_sync.tracking_issue import escape, names_study

NARROW_LIMIT = 500  # GitHub narrows an installation token to at most this many repositories
TABLE_ROWS = 300  # rows of a table in the job summary; the log lists every study
REASON_LIMIT = 400


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


@dataclass(frozen=True)
class Counts:
    checked: int
    changed: int
    unchanged: int
    failed: int
    untracked: int


def count(results: Sequence[StudyResult]) -> Counts:
    def of(*statuses: Status) -> int:
        return sum(result.status in statuses for result in results)

    return Counts(len(results), of(*CHANGED), of(Status.UNCHANGED), of(Status.FAILED), of(Status.UNTRACKED))


def describe(result: StudyResult, dry_run: bool) -> str:
    """What happened to one study, in a few words: `unchanged`, `updated (A -> B)`, `FAILED: why`."""
    if result.status is Status.FAILED:
        return f"FAILED: {result.reason}"
    if result.status is Status.UNCHANGED:
        return "unchanged"
    if result.status is Status.UNTRACKED:
        return f"untracked, at {result.stage_after} (create-missing is false: no tracking issue created)"
    verb = {Status.CREATED: "create", Status.UPDATED: "update"}[result.status]
    done = f"would {verb}" if dry_run else f"{verb}d"
    issue = f" #{result.issue.number}" if result.issue is not None else ""
    if result.stage_before != result.stage_after:
        return f"{done}{issue} ({result.stage_before or 'none shown'} -> {result.stage_after})"
    return f"{done}{issue} ({'; '.join(result.changes)})"


def progress_line(index: int, total: int, result: StudyResult, dry_run: bool) -> str:
    """E.g. `[120/1000] org/Study: unchanged`."""
    return f"[{index}/{total}] {result.study}: {describe(result, dry_run)}"


def failure_message(results: Sequence[StudyResult]) -> str:
    """The run's closing error when studies failed."""
    failed = [result.study for result in results if result.status is Status.FAILED]
    named = ", ".join(failed[:10]) + (f" and {len(failed) - 10} more" if len(failed) > 10 else "")
    return (f"{len(failed)} of {len(results)} studies failed: {named}. The others were checked; the job "
            "summary says why each failed. Fix those and run again: a resync writes only what differs.")


def render_summary(results: Sequence[StudyResult], title: str, dry_run: bool,
                   notes: Sequence[str] = ()) -> str:
    """The job summary of a resync: counts, then the studies that changed, failed or are untracked."""
    counts = count(results)
    lines = [f"### factory-sync: {title}", ""]
    if dry_run:
        lines += ["Dry run: nothing was written; *changed* counts what a run would write.", ""]
    lines += ["| checked | changed | unchanged | failed | untracked |",
              "| ---: | ---: | ---: | ---: | ---: |",
              f"| {counts.checked} | {counts.changed} | {counts.unchanged} | {counts.failed} | "
              f"{counts.untracked} |", ""]
    lines += [f"{note}" for note in notes] + ([""] if notes else [])
    changed = [result for result in results if result.status in CHANGED]
    lines += _table(f"Changed ({len(changed)})", ["Study", "Stage before", "Stage after", "Tracking issue",
                                                  "What changed"],
                    [[_code(r.study), _text(r.stage_before or "none shown"), _text(r.stage_after or ""),
                      _issue_link(r.issue) or ("(new)" if dry_run else ""),
                      "<br>".join(_text(change) for change in r.changes)] for r in changed])
    failed = [result for result in results if result.status is Status.FAILED]
    lines += _table(f"Failed ({len(failed)})", ["Study", "Why"],
                    [[_code(r.study), _text(r.reason, REASON_LIMIT)] for r in failed])
    missing = [result for result in results if result.status is Status.UNTRACKED]
    lines += _table(f"Untracked ({len(missing)}): stage-labelled issues but no tracking issue; "
                    "`create-missing: true` creates one", ["Study", "Stage"],
                    [[_code(r.study), _text(r.stage_after or "")] for r in missing])
    return "\n".join(lines) + "\n"


def _table(heading: str, columns: list[str], rows: list[list[str]]) -> list[str]:
    if not rows:
        return []
    lines = [f"#### {heading}", "", "| " + " | ".join(columns) + " |", "|" + " --- |" * len(columns)]
    lines += ["| " + " | ".join(row) + " |" for row in rows[:TABLE_ROWS]]
    if len(rows) > TABLE_ROWS:
        lines.append(f"\n… and {len(rows) - TABLE_ROWS} more: the log lists every study.")
    return [*lines, ""]


def _code(repo: str) -> str:
    return f"`{repo}`" if is_repo_name(repo) else _text(repo)


def _text(text: str, limit: int = 200) -> str:
    return escape(text, limit)


def _issue_link(issue: TrackingIssue | None) -> str:
    return f"[#{issue.number}]({issue.url})" if issue is not None else ""
