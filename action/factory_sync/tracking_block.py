"""Rendering the tracking issue: its managed block (headline, stage table, history, run link) and
its labels, from a study's progress. Plain functions; study-provided text goes through markdown.escape.
"""

from __future__ import annotations

from datetime import datetime
from urllib.parse import quote, urlsplit

from factory_sync.errors import FactorySyncError
from factory_sync.github_limits import BODY_LIMIT
from factory_sync.markdown import counted, escape, link
from factory_sync.model import (
    DEFAULT_SERVER_URL,
    GHOST,
    IssueEvent,
    Study,
    StudyIssue,
    as_utc,
    is_stage_label,
)
from factory_sync.stages import Progress, StageProgress, StageStatus
from factory_sync.tracking_body import (
    END_MARKER,
    HEADLINE,
    RUN_LINE,
    WHERE_AT,
    WHERE_COMPLETE,
    WHERE_NOT_STARTED,
    begin_marker,
)

TRACKING_LABEL = "study-tracking"  # the label of the Factory's tracking issues (input tracking-label)
HISTORY_LIMIT = 20
ISSUES_LISTED = 30  # issues listed in a stage's row of the table; the others are counted
NOT_STARTED = "Not started"
FINISHED = "Complete"

_STATUS_SHOWN = {
    StageStatus.PENDING: "⚪ pending",
    StageStatus.IN_PROGRESS: "🔄 in progress",
    StageStatus.COMPLETE: "✅ complete",
}
_EVENT_SHOWN = {"labeled": "added to", "unlabeled": "removed from"}
_EVENT_ORDER = {"labeled": 0, "unlabeled": 1, "closed": 2, "reopened": 3}


def new_issue_title(repo: str) -> str:
    return f"Study: {repo}"


class BodyTooLarge(FactorySyncError):
    """Even without history the body would exceed GitHub's limit."""


def shown_stage(progress: Progress) -> str:
    """What the headline says: the current stage's name, "Not started" or "Complete"."""
    if progress.current is None:
        return NOT_STARTED
    return FINISHED if progress.finished else progress.current.name


def render_block(study: Study, progress: Progress, run_url: str | None, room: int = BODY_LIMIT) -> str:
    """The managed block, from the begin marker to the end marker (no trailing newline).

    A stage's row lists at most ISSUES_LISTED issues (the open ones first) and counts the others.
    History is trimmed, oldest first, until the block fits in `room` characters; if it still does not,
    the rows list fewer issues.
    """
    history = _history(study)
    shown, listed = min(len(history), HISTORY_LIMIT), ISSUES_LISTED
    block = _block(study, progress, run_url, history, shown, trimmed=False, listed=listed)
    while body_size(block) > room and shown > 0:
        shown -= 1
        block = _block(study, progress, run_url, history, shown, trimmed=True, listed=listed)
    while body_size(block) > room and listed > 0:
        listed //= 2
        block = _block(study, progress, run_url, history, shown, trimmed=True, listed=listed)
    if body_size(block) > room:
        raise BodyTooLarge(
            f"the factory-sync block for {study.repo} needs {body_size(block):,} characters even without "
            f"history, but the tracking issue's own text leaves only {max(room, 0):,} of GitHub's "
            f"{BODY_LIMIT:,}; shorten the text outside the block")
    return block


def body_size(text: str) -> int:
    """Size as GitHub may count it: UTF-16 code units, never fewer than characters."""
    return len(text.encode("utf-16-le")) // 2


def _block(study: Study, progress: Progress, run_url: str | None, history: list[str], shown: int,
           trimmed: bool, listed: int = ISSUES_LISTED) -> str:
    lines = [begin_marker(study.repo), HEADLINE + escape(shown_stage(progress)), "",
             _summary(study, progress), "", *_time_lines(progress),
             "| Stage | Status | Started | Completed | Issues |", "| --- | --- | --- | --- | --- |"]
    lines += [_row(entry, entry.stage == progress.current, listed) for entry in progress.stages]
    if progress.unknown_labels:
        labels = ", ".join(f"<code>{escape(label)}</code>" for label in progress.unknown_labels)
        lines += ["", f"⚠️ Stage labels not in the catalog: {labels}. Rename them to a catalog stage "
                      "or remove them."]
    lines += ["", "### History", ""]
    lines += history[:shown] if history else ["No stage events yet."]
    hidden = len(history) - shown
    if hidden:
        why = " (history trimmed to fit GitHub's size limit)" if trimmed else ""
        lines.append(f"- … and {counted(hidden, 'earlier event')} not shown{why}")
    lines += ["", run_line(run_url), END_MARKER]
    return "\n".join(lines)


def _summary(study: Study, progress: Progress) -> str:
    study_link = link(escape(study.repo), study.url)
    total = len(progress.stages)
    if progress.current is None:
        where = WHERE_NOT_STARTED
    elif progress.finished:
        where = WHERE_COMPLETE.format(total=total)
    else:
        number = next(n for n, entry in enumerate(progress.stages, 1) if entry.stage == progress.current)
        where = WHERE_AT.format(number=number, total=total)
    return f"Study {study_link}: {where}."


def _time_lines(progress: Progress) -> list[str]:
    """The day the study entered its stage and, once stalled, since when: dates, never a count of
    days, so that the block changes only when the study moves or becomes stalled."""
    time = progress.time
    if time is None or time.entered is None:
        return []
    lines = [f"{'Complete' if progress.finished else 'In this stage'} since {_date(time.entered)}."]
    if time.stalled_since is not None:
        lines.append(f"⚠️ **Stalled** since {time.stalled_since.isoformat()}: no stage change since "
                     f"{_date(time.entered)}.")
    return [*lines, ""]


def _row(entry: StageProgress, current: bool, listed: int = ISSUES_LISTED) -> str:
    name = escape(entry.stage.name)
    chosen = _listed(entry.issues, listed)
    shown = [f"{link(f'#{issue.number}', issue.url)} {escape(issue.title)}" for issue in chosen]
    if len(chosen) < len(entry.issues):
        shown.append(f"… and {len(entry.issues) - len(chosen)} more ({len(entry.issues)} in all)")
    issues = "<br>".join(shown)
    cells = [f"**{name}**" if current else name, _STATUS_SHOWN[entry.status], _date(entry.started),
             _date(entry.completed), issues]
    return "| " + " | ".join(cells) + " |"


def _listed(issues: tuple[StudyIssue, ...], listed: int) -> list[StudyIssue]:
    """At most `listed` of a stage's issues, by number: the open ones first, then the latest closed."""
    if len(issues) <= listed:
        return list(issues)
    first = sorted(issues, key=lambda issue: (not issue.open, -issue.number))[:listed]
    return sorted(first, key=lambda issue: issue.number)


def _date(moment: datetime | None) -> str:
    return as_utc(moment).strftime("%Y-%m-%d") if moment is not None else ""


def _history(study: Study) -> list[str]:
    """Stage-related timeline entries, newest first, in an order that ignores how they arrived."""
    entries = [(issue, event) for issue in study.issues for event in issue.events
               if event.kind in ("closed", "reopened")
               or (event.kind in _EVENT_SHOWN and is_stage_label(event.label or ""))]
    entries.sort(key=lambda pair: (as_utc(pair[1].at), pair[0].number, _EVENT_ORDER[pair[1].kind],
                                   pair[1].label or "", pair[1].actor or ""), reverse=True)
    server = _server(study.url)
    return [_history_line(issue, event, server) for issue, event in entries]


def _history_line(issue: StudyIssue, event: IssueEvent, server: str) -> str:
    when = as_utc(event.at).strftime("%Y-%m-%d %H:%M UTC")
    issue_link = link(f"#{issue.number}", issue.url)
    by = _actor(event.actor, server)
    if event.kind in _EVENT_SHOWN:
        label = escape(event.label or "")
        return f"- {when}: <code>{label}</code> {_EVENT_SHOWN[event.kind]} {issue_link} by {by}"
    return f"- {when}: {issue_link} {event.kind} by {by}"


def _actor(login: str | None, server: str) -> str:
    """A link to the person, never an @mention: the tracking issue must not notify anyone."""
    login = login or GHOST
    if login.endswith("[bot]"):
        return link(escape(login), f"{server}/apps/{quote(login[: -len('[bot]')], safe='')}")
    return link(escape(login), f"{server}/{quote(login, safe='')}")


def _server(study_url: str) -> str:
    parts = urlsplit(study_url)
    return f"{parts.scheme}://{parts.netloc}" if parts.scheme and parts.netloc else DEFAULT_SERVER_URL


def run_line(run_url: str | None) -> str:
    """The block's last line: who wrote it, and in which run."""
    if run_url is None:
        return RUN_LINE + ".</sub>"
    return f"{RUN_LINE} in {link('this run', run_url)}.</sub>"



def desired_labels(current: list[str], progress: Progress, tracking_label: str = TRACKING_LABEL) -> list[str]:
    """Every non-stage label kept in order, the tracking label, and exactly one stage label: the current."""
    kept = [label for label in current if not is_stage_label(label)]
    if tracking_label.lower() not in (label.lower() for label in kept):
        kept.append(tracking_label)
    if progress.current is None:
        return kept
    wanted = progress.current.label
    same = [label for label in current if label.lower() == wanted.lower()]  # keep GitHub's spelling
    return [*kept, same[0] if same else wanted]

