"""Time in stage, and stalled studies. Plain functions: the day it is comes in as data.

A study entered its current stage when that stage last became in progress (an issue carrying its
label is open, and none was just before), or, when the current stage is the pending one after the
last complete stage, when that stage was completed. It is stalled once it has been in that stage
for `stall_days` days or more and is not complete. Time in state, not time since the last push:
activity that is not progress (comments, edits, new issues of the same stage) does not reset it.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime, timedelta

from factory_sync.model import StudyIssue, as_utc
from factory_sync.stages import Progress, StageProgress, StageStatus, TimeInStage

STALL_DAYS = 21  # input stall-days; 0 turns stall checks off


def with_time_in_stage(progress: Progress, today: date, stall_days: int) -> Progress:
    """The progress with its time in stage as of `today` (progress.time)."""
    return replace(progress, time=time_in_stage(progress, today, stall_days))


def time_in_stage(progress: Progress, today: date, stall_days: int) -> TimeInStage:
    when = entered(progress)
    if when is None:
        return TimeInStage(None, None, None)
    since = utc_date(when)
    days = max((today - since).days, 0)
    stalled = stall_days > 0 and not progress.finished and days >= stall_days
    return TimeInStage(when, days, since + timedelta(days=stall_days) if stalled else None)


def entered(progress: Progress) -> datetime | None:
    """When the study entered its current stage (None when not started)."""
    if progress.current is None:
        return None
    index = next(i for i, entry in enumerate(progress.stages) if entry.stage == progress.current)
    entry = progress.stages[index]
    if entry.status is StageStatus.IN_PROGRESS:
        return in_progress_since(entry) or entry.started
    if entry.status is StageStatus.COMPLETE:  # finished: the last stage is complete
        return entry.completed or entry.started
    before = [stage for stage in progress.stages[:index] if stage.status is StageStatus.COMPLETE]
    last = before[-1]  # a pending current stage follows the last complete one (stages.assess)
    return last.completed or last.started


def in_progress_since(entry: StageProgress) -> datetime | None:
    """The start of the stage's present spell in progress: intervals in which one of its issues was
    open and carried its label, merged, and the start of the one still going on."""
    label = entry.stage.label.lower()
    spells = sorted((spell for issue in entry.issues for spell in _open_and_labelled(issue, label)),
                    key=lambda spell: spell[0])
    start: datetime | None = None
    end: datetime | None = None  # None: still going on
    for begin, finish in spells:
        if start is None or (end is not None and begin > end):
            start, end = begin, finish
        elif end is not None:
            end = None if finish is None else max(end, finish)
    return start if start is not None and end is None else None


def _open_and_labelled(issue: StudyIssue, label: str) -> list[tuple[datetime, datetime | None]]:
    """When the issue was open and carried the label: (from, to) spells, to None while it lasts."""
    mine = [event for event in issue.events
            if event.kind in ("labeled", "unlabeled") and (event.label or "").lower() == label]
    labelled = not mine or mine[0].kind == "unlabeled"  # no event: it carried the label from the start
    is_open = True
    spells: list[tuple[datetime, datetime | None]] = []
    began = issue.created_at if labelled else None
    for event in issue.events:
        if event.kind in ("labeled", "unlabeled") and (event.label or "").lower() != label:
            continue
        was = labelled and is_open
        if event.kind == "labeled":
            labelled = True
        elif event.kind == "unlabeled":
            labelled = False
        elif event.kind == "closed":
            is_open = False
        elif event.kind == "reopened":
            is_open = True
        now = labelled and is_open
        if now and not was:
            began = event.at
        elif was and not now and began is not None:
            spells.append((began, event.at))
            began = None
    if labelled and is_open and began is not None:
        spells.append((began, None))
    return spells


def utc_date(moment: datetime) -> date:
    return as_utc(moment).date()

