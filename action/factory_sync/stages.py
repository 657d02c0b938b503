"""The stage catalog and the rules that turn a study's labelled issues into its progress.

A stage is `pending` while no issue carries its label, `in progress` while an open issue
carries it, and `complete` once issues carry it and all of them are closed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum

import yaml

from factory_sync.errors import FactorySyncError
from factory_sync.github_limits import LABEL_NAME_LIMIT
from factory_sync.model import STAGE_PREFIX, Study, StudyIssue, is_stage_label

CATALOG_FORMAT = 'stages: [{label: "stage:base-camp", name: "Base Camp"}, ...]'


@dataclass(frozen=True)
class Stage:
    label: str  # e.g. "stage:base-camp"
    name: str  # e.g. "Base Camp"


@dataclass(frozen=True)
class Catalog:
    stages: tuple[Stage, ...]  # in the order a study goes through them

    def find(self, label: str) -> Stage | None:
        """The stage with this label; GitHub label names are case-insensitive."""
        wanted = label.lower()
        return next((stage for stage in self.stages if stage.label.lower() == wanted), None)


DEFAULT_CATALOG = Catalog((
    Stage("stage:base-camp", "Base Camp"),
    Stage("stage:protocol-development", "Protocol Development"),
    Stage("stage:phenotype-development", "Phenotype Development"),
    Stage("stage:analysis-specifications", "Analysis Specifications"),
    Stage("stage:network-execution", "Network Execution"),
    Stage("stage:results-evaluation", "Results Evaluation"),
))


class CatalogError(FactorySyncError):
    """A catalog file that cannot be used; the message names the file and the fix."""


def load_catalog(text: str, source: str) -> Catalog:
    """Read a catalog from YAML: a mapping whose only key, `stages`, lists {label, name} in order.

        stages:
          - label: "stage:base-camp"
            name: "Base Camp"
          - label: "stage:protocol-development"
            name: "Protocol Development"
    """
    try:
        document = yaml.safe_load(text)
    except yaml.YAMLError as error:
        raise CatalogError(f"{source}: not valid YAML ({_yaml_problem(error)}); fix the syntax") from error
    if not isinstance(document, dict):
        raise CatalogError(f"{source}: expected a mapping like {CATALOG_FORMAT}")
    extra = sorted(str(key) for key in document if key != "stages")
    if extra:
        raise CatalogError(f"{source}: unknown key {extra[0]!r}; the only top-level key is 'stages'")
    entries = document.get("stages")
    if not isinstance(entries, list) or not entries:
        raise CatalogError(f"{source}: 'stages' must be a non-empty list, e.g. {CATALOG_FORMAT}")
    stages = tuple(parse_stage(entry, number, source) for number, entry in enumerate(entries, start=1))
    found = duplicate(stages)
    if found:
        first, number, what, value = found
        raise CatalogError(f"{source}: stages {first} and {number} share the {what} {value!r} "
                           f"(case-insensitive); keep one")
    return Catalog(stages)


def yaml_problem(error: yaml.YAMLError) -> tuple[int | None, str]:
    """Where a YAML text went wrong (its line, when the parser names one) and what is wrong there."""
    mark = getattr(error, "problem_mark", None) or getattr(error, "context_mark", None)
    return (mark.line + 1 if mark is not None else None), getattr(error, "problem", None) or "unreadable"


def _yaml_problem(error: yaml.YAMLError) -> str:
    line, problem = yaml_problem(error)
    return f"{problem} at line {line}" if line is not None else problem


def parse_stage(entry: object, number: int, source: str) -> Stage:
    where = f"{source}: stage {number}"
    if not isinstance(entry, dict):
        raise CatalogError(f"{where} must be a mapping with 'label' and 'name', e.g. {CATALOG_FORMAT}")
    extra = sorted(str(key) for key in entry if key not in ("label", "name"))
    if extra:
        raise CatalogError(f"{where} has unknown key {extra[0]!r}; use only 'label' and 'name'")
    label, name = entry.get("label"), entry.get("name")
    if not isinstance(label, str) or not label.strip():
        raise CatalogError(f'{where} has no label; add label: "stage:..."')
    if not is_stage_label(label):
        raise CatalogError(f"{where} label {label!r} must start with 'stage:', e.g. 'stage:{label}'")
    if len(label) == len(STAGE_PREFIX):
        raise CatalogError(f"{where} label {label!r} needs a name after 'stage:', e.g. 'stage:base-camp'")
    if len(label) > LABEL_NAME_LIMIT:
        raise CatalogError(f"{where} label {label!r} is {len(label)} characters; GitHub allows at most "
                           f"{LABEL_NAME_LIMIT}, shorten it")
    if not isinstance(name, str) or not name.strip():
        raise CatalogError(f'{where} ({label}) has no name; add name: "..."')
    if "\n" in name or "\r" in name:
        raise CatalogError(f"{where} ({label}) name must be a single line")
    return Stage(label, name)


def duplicate(stages: Sequence[Stage]) -> tuple[int, int, str, str] | None:
    """The first stage that shares its label or its name with an earlier one, case aside (GitHub's
    label names are case-insensitive): (the earlier's number, its number, "label" or "name", the value)."""
    seen: dict[tuple[str, str], int] = {}
    for number, stage in enumerate(stages, start=1):
        for what, value in (("label", stage.label), ("name", stage.name)):
            first = seen.setdefault((what, value.lower()), number)
            if first != number:
                return first, number, what, value
    return None


class StageStatus(StrEnum):
    PENDING = "pending"
    IN_PROGRESS = "in progress"
    COMPLETE = "complete"


@dataclass(frozen=True)
class StageProgress:
    stage: Stage
    status: StageStatus
    started: datetime | None  # when its label was first applied to any of its issues
    completed: datetime | None  # when a complete stage's last issue was closed
    issues: tuple[StudyIssue, ...]  # the study issues carrying its label, by number


@dataclass(frozen=True)
class TimeInStage:
    """How long a study has been where it is (stall.time_in_stage computes it, as of a given day)."""

    entered: datetime | None  # when it entered its current stage; None when not started
    days: int | None  # whole days in that stage as of the day asked about
    stalled_since: date | None  # the day it became stalled; None when it is not stalled

    @property
    def stalled(self) -> bool:
        return self.stalled_since is not None


@dataclass(frozen=True)
class Progress:
    stages: tuple[StageProgress, ...]  # one per catalog stage, in catalog order
    current: Stage | None  # None until some issue carries a catalog stage label
    finished: bool  # the last stage is complete and nothing is in progress
    unknown_labels: tuple[str, ...]  # stage labels on study issues that the catalog lacks, sorted
    time: TimeInStage | None = None  # set by stall.with_time_in_stage; None: not shown

    @property
    def started(self) -> bool:
        return self.current is not None


def assess(study: Study, catalog: Catalog) -> Progress:
    issues = sorted(study.issues, key=lambda issue: issue.number)
    stages = tuple(_stage_progress(stage, issues) for stage in catalog.stages)
    unknown = {label for issue in issues for label in issue.labels
               if is_stage_label(label) and catalog.find(label) is None}
    current, finished = _current(stages)
    return Progress(stages, current, finished, tuple(sorted(unknown)))


def _stage_progress(stage: Stage, issues: list[StudyIssue]) -> StageProgress:
    label = stage.label.lower()
    carriers = tuple(issue for issue in issues if label in (name.lower() for name in issue.labels))
    if not carriers:
        return StageProgress(stage, StageStatus.PENDING, None, None, ())
    started = min(_labelled_at(issue, label) for issue in carriers)
    if any(issue.open for issue in carriers):
        return StageProgress(stage, StageStatus.IN_PROGRESS, started, None, carriers)
    closes = [closed for issue in carriers if (closed := _closed_at(issue)) is not None]
    return StageProgress(stage, StageStatus.COMPLETE, started, max(closes, default=None), carriers)


def _labelled_at(issue: StudyIssue, label: str) -> datetime:
    applied = [event.at for event in issue.events
               if event.kind == "labeled" and (event.label or "").lower() == label]
    return min(applied, default=issue.created_at)


def _closed_at(issue: StudyIssue) -> datetime | None:
    if issue.closed_at is not None:
        return issue.closed_at
    return max((event.at for event in issue.events if event.kind == "closed"), default=None)


def _current(stages: tuple[StageProgress, ...]) -> tuple[Stage | None, bool]:
    in_progress = [index for index, entry in enumerate(stages) if entry.status is StageStatus.IN_PROGRESS]
    if in_progress:
        return stages[in_progress[-1]].stage, False
    complete = [index for index, entry in enumerate(stages) if entry.status is StageStatus.COMPLETE]
    if not complete:
        return None, False
    if complete[-1] == len(stages) - 1:
        return stages[-1].stage, True
    return stages[complete[-1] + 1].stage, False
