"""The portfolio dashboard: one Factory issue that shows where every study stands. Plain functions.

Its managed block holds the studies counted by stage as a Mermaid pie chart (which github.com
renders), the same counts as a table, then one row per study: the studies needing attention
(stalled) first, then the others, then the untracked and the failed ones. Study-provided text is
escaped for Markdown (markdown.escape) and, in the chart, for Mermaid (`chart_label`). The block
is read back as tracking issues are (tracking_body.split_body), so people's text around it is kept.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date

from factory_sync.github_limits import BODY_LIMIT
from factory_sync.markdown import counted, escape, link
from factory_sync.portfolio import Status, StudyResult
from factory_sync.stages import Progress, TimeInStage
from factory_sync.tracking_block import FINISHED, NOT_STARTED, body_size, run_line
from factory_sync.tracking_body import (
    END_MARKER,
    DamagedBlock,
    begin_marker,
    same_block,
    split_body,
)

DASHBOARD_LABEL = "portfolio-dashboard"  # input dashboard-label
DASHBOARD_TITLE = "Factory portfolio"
DASHBOARD_NAME = "factory-portfolio"  # in its begin marker; never a repository's name (it has no "/")
CHART_LABEL_LIMIT = 40
STAGE_TEXT_LIMIT = 40
STUDY_TEXT_LIMIT = 100
ROW_REASON_LIMIT = 120  # characters of a failure's reason in a dashboard row (the summary shows more)
CHART_TITLE = "Studies by stage"
# Mermaid reads these in a label (quotes end it, # starts an entity, ; and : split statements, %
# starts a comment or directive, brackets and backticks and HTML are markup): they become spaces.
_CHART_UNSAFE = re.compile(r"[^\w .,()/+'-]")


@dataclass(frozen=True)
class Entry:
    """One study on the dashboard."""

    study: str
    status: Status
    stage: str  # the stage shown: its name, "Not started" or "Complete"; "" when it failed
    time: TimeInStage | None  # None when it could not be read
    issue_number: int | None
    issue_url: str | None
    reason: str = ""  # why it failed

    @property
    def stalled(self) -> bool:
        return self.time is not None and self.time.stalled


def entries_of(results: Iterable[StudyResult], progress: dict[str, Progress]) -> list[Entry]:
    """The dashboard's entries from a resync's results and the progress of each study read."""
    entries = []
    for result in results:
        known = progress.get(result.study)
        issue = result.issue
        entries.append(Entry(result.study, result.status, result.stage_after or "",
                             known.time if known is not None else None,
                             issue.number if issue is not None else None,
                             issue.url if issue is not None else None, result.reason))
    return entries


def stage_counts(entries: Sequence[Entry], order: Sequence[str]) -> list[tuple[str, int, int]]:
    """(stage, studies, stalled) of the studies read, in catalog order, then others, then not started
    and complete; stages no study is in are left out."""
    read = [entry for entry in entries if entry.status is not Status.FAILED]
    names = [*order, *sorted({entry.stage for entry in read} - {*order, NOT_STARTED, FINISHED}),
             NOT_STARTED, FINISHED]
    counts = []
    for name in dict.fromkeys(names):
        here = [entry for entry in read if entry.stage == name]
        if here:
            counts.append((name, len(here), sum(entry.stalled for entry in here)))
    return counts


def chart_label(text: str) -> str:
    """Text made safe inside a Mermaid label's double quotes: one line of plain characters."""
    plain = " ".join(_CHART_UNSAFE.sub(" ", text).split()) or "unnamed"
    return plain if len(plain) <= CHART_LABEL_LIMIT else plain[: CHART_LABEL_LIMIT - 1].rstrip() + "…"


def chart(counts: Sequence[tuple[str, int, int]]) -> str:
    """The Mermaid pie chart of studies by stage ("" when there is nothing to count)."""
    if not counts:
        return ""
    seen: dict[str, int] = {}
    lines = ["```mermaid", f"pie showData title {CHART_TITLE}"]
    for name, studies, _ in counts:
        label = chart_label(name)
        seen[label] = seen.get(label, 0) + 1
        if seen[label] > 1:  # two stage names that read the same once made safe: keep both slices
            label = f"{label} ({seen[label]})"
        lines.append(f'    "{label}" : {studies}')
    return "\n".join([*lines, "```"])


def counts_section(entries: Sequence[Entry], order: Sequence[str], stall_days: int) -> list[str]:
    """The chart and the counts table: on the dashboard and in the resync's job summary."""
    counts = stage_counts(entries, order)
    stalled = sum(entry.stalled for entry in entries)
    untracked = sum(entry.status is Status.UNTRACKED for entry in entries)
    failed = sum(entry.status is Status.FAILED for entry in entries)
    rule = f"in their stage for {stall_days} days or more" if stall_days else "stall checks are off"
    lines = [f"{counted(len(entries), 'study', 'studies')}: {stalled} stalled ({rule}), "
             f"{untracked} untracked, "
             f"{failed} failed.", ""]
    if not counts:
        return [*lines, "No study has been read yet."]
    lines += [chart(counts), "", "| Stage | Studies | Stalled |", "| --- | ---: | ---: |"]
    lines += [f"| {escape(name, STAGE_TEXT_LIMIT)} | {studies} | {stuck} |"
              for name, studies, stuck in counts]
    if failed:
        lines.append(f"| (could not be read) | {failed} | |")
    return lines


def dashboard_marker() -> str:
    return begin_marker(DASHBOARD_NAME)


def render_dashboard(entries: Sequence[Entry], order: Sequence[str], today: date, stall_days: int,
                     run_url: str | None, room: int = BODY_LIMIT) -> str:
    """The dashboard's managed block. When every row does not fit in `room` characters, rows are left
    out (the up-to-date studies first, then the untracked and failed, the stalled last) and a note
    says how many: the job summary, the log and the export list every study."""
    attention = sorted((e for e in entries if e.stalled and e.status is not Status.UNTRACKED),
                       key=lambda e: (-(e.time.days or 0) if e.time else 0, e.study.lower()))
    others = sorted((e for e in entries
                     if not e.stalled and e.status not in (Status.UNTRACKED, Status.FAILED)),
                    key=lambda e: (_rank(e.stage, order), -(_days(e)), e.study.lower()))
    untracked = sorted((e for e in entries if e.status is Status.UNTRACKED), key=lambda e: e.study.lower())
    failed = sorted((e for e in entries if e.status is Status.FAILED), key=lambda e: e.study.lower())
    groups = [attention, others, untracked, failed]
    shown = [len(group) for group in groups]
    block = _block(entries, order, today, stall_days, run_url, groups, shown)
    for index in (1, 2, 3, 0):  # what is left out first
        while body_size(block) > room and shown[index] > 0:
            over = body_size(block) - room
            shown[index] = max(shown[index] - max(over // 60, 1), 0)
            block = _block(entries, order, today, stall_days, run_url, groups, shown)
    return block


def _rank(stage: str, order: Sequence[str]) -> int:
    return order.index(stage) if stage in order else len(order)


def _days(entry: Entry) -> int:
    return entry.time.days or 0 if entry.time is not None else 0


def _block(entries: Sequence[Entry], order: Sequence[str], today: date, stall_days: int,
           run_url: str | None, groups: list[list[Entry]], shown: list[int]) -> str:
    attention, others, untracked, failed = groups
    lines = [dashboard_marker(), f"## {DASHBOARD_TITLE}", "",
             f"Where every study stands on {today.isoformat()}.", "",
             *counts_section(entries, order, stall_days), ""]
    tracked = attention[: shown[0]] + others[: shown[1]]
    if attention or others:
        lines += ["### Studies (stalled first)", "",
                  "| Study | Stage | Since | Days in stage | Stalled since | Tracking issue |",
                  "| --- | --- | --- | ---: | --- | --- |"]
        lines += [_row(entry) for entry in tracked]
        lines += _left_out(len(attention) + len(others) - len(tracked))
    if untracked:
        lines += ["### Untracked studies", "", "Stage-labelled issues but no tracking issue "
                  "(`create-missing: true` creates one).", "",
                  "| Study | Stage | Since | Days in stage | Stalled since |",
                  "| --- | --- | --- | ---: | --- |"]
        lines += [_row(entry, issue=False) for entry in untracked[: shown[2]]]
        lines += _left_out(len(untracked) - shown[2])
    if failed:
        lines += ["### Studies that could not be read", "", "| Study | Why |", "| --- | --- |"]
        lines += [f"| {_study(entry.study)} | {escape(entry.reason, ROW_REASON_LIMIT)} |"
                  for entry in failed[: shown[3]]]
        lines += _left_out(len(failed) - shown[3])
    return "\n".join([*lines, run_line(run_url), END_MARKER])


def _left_out(hidden: int) -> list[str]:
    if hidden <= 0:
        return [""]
    return ["", f"… and {hidden} more not listed, to stay within GitHub's {BODY_LIMIT:,} characters: "
                "the resync's job summary, its log and its export list every study.", ""]


def _row(entry: Entry, issue: bool = True) -> str:
    time = entry.time
    since = time.entered.strftime("%Y-%m-%d") if time is not None and time.entered is not None else ""
    days = str(time.days) if time is not None and time.days is not None else ""
    stalled = f"⚠️ {time.stalled_since.isoformat()}" if time is not None and time.stalled_since else ""
    cells = [_study(entry.study), escape(entry.stage, STAGE_TEXT_LIMIT), since, days, stalled]
    if issue:
        cells.append(link(f"#{entry.issue_number}", entry.issue_url)
                     if entry.issue_number is not None and entry.issue_url else "")
    return "| " + " | ".join(cells) + " |"


def _study(repo: str) -> str:
    return escape(repo, STUDY_TEXT_LIMIT)


@dataclass(frozen=True)
class DashboardPlan:
    body: str | None  # None: nothing to write
    changed: bool


def plan_dashboard(existing_body: str | None, block: str) -> DashboardPlan:
    """The dashboard issue's body: its block replaced (or appended to people's text), or None when it
    already shows the same (the run link aside)."""
    if existing_body is None:
        return DashboardPlan(block, True)
    try:
        before, current, after = split_body(existing_body)
    except DamagedBlock as exc:
        raise DamagedBlock(f"the portfolio dashboard's block is damaged: {exc}") from exc
    if current is not None and same_block(current, block):
        return DashboardPlan(None, False)
    if current is None:
        before, after = (existing_body + ("\n\n" if existing_body.strip() else "")), ""
        before = before if existing_body.strip() else ""
    return DashboardPlan(before + block + after, True)


def room_for(existing_body: str | None) -> int:
    """Room left for the block in the dashboard issue, given people's text around it."""
    if existing_body is None:
        return BODY_LIMIT
    try:
        before, current, after = split_body(existing_body)
    except DamagedBlock:
        return BODY_LIMIT
    people = before + after if current is not None else existing_body
    return BODY_LIMIT - body_size(people) - 2
