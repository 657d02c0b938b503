"""The planner: what the Factory's tracking issue should become, computed from the study's truth.

Reconcile, don't patch: the plan depends only on the study and the issue as they are now, so
replayed, late or missed events cannot leave the tracking issue wrong, and an issue that
already matches is left alone.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

from factory_sync.errors import FactorySyncError
from factory_sync.github_limits import BODY_LIMIT, ISSUE_LABEL_LIMIT
from factory_sync.markdown import escape
from factory_sync.model import Study, TrackingIssue, is_stage_label
from factory_sync.stages import Catalog, Progress
from factory_sync.tracking_block import (
    FINISHED,
    NOT_STARTED,
    TRACKING_LABEL,
    body_size,
    desired_labels,
    new_issue_title,
    render_block,
    shown_stage,
)
from factory_sync.tracking_body import (
    DamagedBlock,
    adopt,
    names_study,
    same_block,
    shown_in_block,
    split_body,
)


@dataclass(frozen=True)
class Policy:
    """What a run was asked to do with every study's tracking issue (from the inputs)."""

    catalog: Catalog
    run_url: str | None  # the run's page, linked from the block
    create_missing: bool = True
    tracking_label: str = TRACKING_LABEL


class Action(StrEnum):
    CREATE = "create"
    UPDATE = "update"
    NONE = "none"
    MISSING = "missing"  # no tracking issue, and creating one is turned off


@dataclass(frozen=True)
class Plan:
    action: Action
    number: int | None  # the issue to update; None for create and missing
    title: str
    body: str
    labels: list[str]
    changes: tuple[str, ...]  # one human-readable line per change, for the log
    stage_before: str | None  # the stage the issue showed; None when it showed none
    stage_after: str  # a stage name, "Not started" or "Complete"
    stage_label: str | None  # the current stage's label; None when not started
    warnings: tuple[str, ...] = ()  # what could not be done, and what to do about it


class DuplicateTrackingIssues(FactorySyncError):
    """More than one Factory issue tracks the same study."""


class WrongTrackingIssue(FactorySyncError):
    """The issue given as the study's tracking issue names another study."""


@dataclass(frozen=True)
class Claim:
    """The issues that name one study: the one kept as its tracking issue (None: there is none), and
    spare copies to retire."""

    keep: TrackingIssue | None
    retire: tuple[TrackingIssue, ...] = ()


def claim(issues: Iterable[TrackingIssue], study_repo: str) -> Claim:
    """The study's tracking issue, when runs that raced each created one.

    A spare copy holds nothing anyone wrote: factory-sync's own title and nothing but the block, as a
    run creates it. With several claimants, the lowest-numbered one that people have written in is
    kept (the lowest-numbered of all when none is), and the spare copies are retired; two that people
    have written in are not chosen between (DuplicateTrackingIssues). Every run that sees the same
    issues chooses the same one, so runs that raced converge on it.
    """
    matches = _claiming(issues, study_repo)
    spare = [issue for issue in matches if holds_only_its_block(issue, study_repo)]
    written = [issue for issue in matches if issue not in spare]
    if len(written) > 1:
        raise _duplicates(written, study_repo)
    if not matches:
        return Claim(None)
    keep = written[0] if written else spare[0]
    return Claim(keep, tuple(issue for issue in spare if issue is not keep))


def holds_only_its_block(issue: TrackingIssue, study_repo: str) -> bool:
    """Whether the issue is as a run created it: the standard title, its block and nothing around it."""
    if issue.title.strip().lower() != new_issue_title(study_repo).lower():
        return False
    try:
        before, block, after = split_body(issue.body)
    except DamagedBlock:
        return False
    return block is not None and not before.strip() and not after.strip()


def retired(spare: TrackingIssue, keep: TrackingIssue, study_repo: str,
            tracking_label: str = TRACKING_LABEL) -> tuple[str, list[str]]:
    """The body and labels of a spare copy once retired: a note pointing to the issue kept, and no longer
    the tracking or a stage label, so that it claims nothing. It is closed as not planned."""
    body = (f"Closed by factory-sync: a duplicate of #{keep.number}, the tracking issue of "
            f"{escape(study_repo)}, made when two runs created one at the same time. This copy held only "
            f"factory-sync's block, which #{keep.number} keeps up to date.")
    labels = [label for label in spare.labels
              if not is_stage_label(label) and label.lower() != tracking_label.lower()]
    return body, labels


def _claiming(issues: Iterable[TrackingIssue], study_repo: str) -> list[TrackingIssue]:
    wanted = study_repo.lower()
    return sorted((issue for issue in issues if (names_study(issue.body) or "").lower() == wanted),
                  key=lambda issue: issue.number)


def _duplicates(matches: list[TrackingIssue], study_repo: str) -> DuplicateTrackingIssues:
    numbers = [f"#{issue.number}" for issue in matches]
    listed = ", ".join(numbers[:-1]) + " and " + numbers[-1]
    return DuplicateTrackingIssues(
        f"Factory issues {listed} all track {study_repo}; close all but one or remove the study's "
        "factory-sync block from the others, and run again")


def plan(study: Study, progress: Progress, existing: TrackingIssue | None, policy: Policy) -> Plan:
    """What to write. An existing issue that names no study (one chosen by number) gets the block."""
    stage_after = shown_stage(progress)
    stage_label = progress.current.label if progress.current is not None else None
    if existing is None:
        return _plan_new(study, progress, policy, stage_after, stage_label)
    named = names_study(existing.body)
    if named is not None and named.lower() != study.repo.lower():
        raise WrongTrackingIssue(f"Factory issue #{existing.number} tracks {named}, not {study.repo}; "
                                 "choose the study's own tracking issue")
    try:
        before, block, after = split_body(existing.body)
        if block is None:
            before, after = adopt(existing.body), ""
    except DamagedBlock as exc:  # nothing is written: say which issue to repair
        raise DamagedBlock(f"damaged factory-sync block in Factory issue #{existing.number} "
                           f"({existing.url}): {exc}") from exc
    new_block = render_block(study, progress, policy.run_url,
                             room=BODY_LIMIT - body_size(before) - body_size(after))
    desired = desired_labels(list(existing.labels), progress, policy.tracking_label)
    labels, left_out = within_label_limit(desired, existing.labels)
    warnings = (_label_limit_warning(existing.number, left_out),) if left_out else ()
    stage_before = _stage_shown(block, existing.labels, policy.catalog)
    changes = []
    if stage_before != stage_after:
        changes.append(f"stage: {stage_before or '(none shown)'} -> {stage_after}")
    if block is None:
        changes.append("block added to an old-format issue" if named else "block added")
    elif not same_block(block, new_block) and stage_before == stage_after:
        changes.append("progress block updated")
    label_change = _label_change(existing.labels, labels)
    if label_change:
        changes.append(label_change)
    if block is not None and same_block(block, new_block) and not label_change:
        return Plan(Action.NONE, existing.number, existing.title, existing.body, list(existing.labels), (),
                    stage_before, stage_after, stage_label, warnings)
    return Plan(Action.UPDATE, existing.number, existing.title, before + new_block + after, labels,
                tuple(changes), stage_before, stage_after, stage_label, warnings)


def within_label_limit(desired: list[str], current: list[str]) -> tuple[list[str], list[str]]:
    """The desired labels, less those GitHub's limit of labels an issue leaves no room for, and those.

    The labels the issue has stay (they are people's, or the stage label that is replaced); labels to
    add are added in order (the tracking label before the stage label) while there is room. GitHub
    would refuse the whole write otherwise, body included.
    """
    if len(desired) <= ISSUE_LABEL_LIMIT:
        return desired, []
    have = {label.lower() for label in current}
    room = ISSUE_LABEL_LIMIT - sum(1 for label in desired if label.lower() in have)
    new = [label for label in desired if label.lower() not in have]
    added, left_out = new[:max(room, 0)], new[max(room, 0):]
    return [label for label in desired if label.lower() in have or label in added], left_out


def _label_limit_warning(number: int, left_out: list[str]) -> str:
    labels = " and ".join(left_out)
    return (f"Factory issue #{number} carries {ISSUE_LABEL_LIMIT} labels, GitHub's limit, so the "
            f"{'label' if len(left_out) == 1 else 'labels'} {labels} could not be added; its block is up to "
            "date. Remove a label it does not need, and the next run adds it.")


def _plan_new(study: Study, progress: Progress, policy: Policy, stage_after: str,
              stage_label: str | None) -> Plan:
    body = render_block(study, progress, policy.run_url)
    labels = desired_labels([], progress, policy.tracking_label)
    if policy.create_missing:
        return Plan(Action.CREATE, None, new_issue_title(study.repo), body, labels,
                    ("tracking issue created",), None, stage_after, stage_label)
    return Plan(Action.MISSING, None, new_issue_title(study.repo), body, labels,
                (f"no Factory issue tracks {study.repo} and creating one is turned off",), None, stage_after,
                stage_label)


def _stage_shown(block: str | None, labels: list[str], catalog: Catalog) -> str | None:
    """The stage the issue shows now: its block's headline, else its stage label."""
    shown = shown_in_block(block) if block is not None else None
    if shown is not None:
        names = (NOT_STARTED, FINISHED, *(stage.name for stage in catalog.stages))
        return next((name for name in names if escape(name) == shown), shown)
    for label in labels:
        if is_stage_label(label):
            stage = catalog.find(label)
            return stage.name if stage is not None else label
    return None


def _label_change(current: list[str], desired: list[str]) -> str | None:
    """E.g. "labels: +stage:x -stage:y"; None when the sets agree (label names are case-insensitive)."""
    have = {label.lower() for label in current}
    want = {label.lower() for label in desired}
    added = [f"+{label}" for label in desired if label.lower() not in have]
    removed = [f"-{label}" for label in current if label.lower() not in want]
    return "labels: " + " ".join(added + removed) if added or removed else None
