"""The plan: what the Factory's tracking issue should become, computed from the study's truth.

Reconcile, don't patch: the plan depends only on the study and the issue as they are now, so
replayed, late or missed events cannot leave the tracking issue wrong, and an issue that
already matches is left alone.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

from factory_sync.errors import FactorySyncError
from factory_sync.stage import Catalog, Progress, is_stage_label
from factory_sync.study import Study
from factory_sync.tracking_issue import (
    BODY_LIMIT,
    FINISHED,
    NOT_STARTED,
    TRACKING_LABEL,
    adopt,
    body_size,
    desired_labels,
    escape,
    names_study,
    new_issue_title,
    render_block,
    same_block,
    shown_in_block,
    shown_stage,
    split_body,
)


@dataclass(frozen=True)
class TrackingIssue:
    """A Factory issue as it is now (the adapter passes "" for an empty body)."""

    number: int
    title: str
    body: str
    labels: list[str]
    url: str


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


class DuplicateTrackingIssues(FactorySyncError):
    """More than one Factory issue tracks the same study."""


class WrongTrackingIssue(FactorySyncError):
    """The issue given as the study's tracking issue names another study."""


def find_tracking_issue(issues: Iterable[TrackingIssue], study_repo: str) -> TrackingIssue | None:
    """The one issue whose block or old-format line names the study (names are case-insensitive)."""
    wanted = study_repo.lower()
    matches = sorted((issue for issue in issues if (names_study(issue.body) or "").lower() == wanted),
                     key=lambda issue: issue.number)
    if len(matches) > 1:
        numbers = [f"#{issue.number}" for issue in matches]
        listed = ", ".join(numbers[:-1]) + " and " + numbers[-1]
        raise DuplicateTrackingIssues(
            f"Factory issues {listed} all track {study_repo}; close all but one or remove the study's "
            "factory-sync block from the others, and run again")
    return matches[0] if matches else None


def plan(study: Study, progress: Progress, catalog: Catalog, existing: TrackingIssue | None,
         run_url: str | None, create_missing: bool, tracking_label: str = TRACKING_LABEL) -> Plan:
    """What to write. An existing issue that names no study (one chosen by number) gets the block."""
    stage_after = shown_stage(progress)
    stage_label = progress.current.label if progress.current is not None else None
    if existing is None:
        return _plan_new(study, progress, run_url, create_missing, tracking_label, stage_after, stage_label)
    named = names_study(existing.body)
    if named is not None and named.lower() != study.repo.lower():
        raise WrongTrackingIssue(f"Factory issue #{existing.number} tracks {named}, not {study.repo}; "
                                 "choose the study's own tracking issue")
    before, block, after = split_body(existing.body)
    if block is None:
        before, after = adopt(existing.body), ""
    new_block = render_block(study, progress, run_url, room=BODY_LIMIT - body_size(before) - body_size(after))
    labels = desired_labels(list(existing.labels), progress, tracking_label)
    stage_before = _stage_shown(block, existing.labels, catalog)
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
                    stage_before, stage_after, stage_label)
    return Plan(Action.UPDATE, existing.number, existing.title, before + new_block + after, labels,
                tuple(changes), stage_before, stage_after, stage_label)


def _plan_new(study: Study, progress: Progress, run_url: str | None, create_missing: bool,
              tracking_label: str, stage_after: str, stage_label: str | None) -> Plan:
    body = render_block(study, progress, run_url)
    labels = desired_labels([], progress, tracking_label)
    if create_missing:
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
