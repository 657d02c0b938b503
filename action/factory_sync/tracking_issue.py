"""The Factory tracking issue: its managed block, its labels, and how people-edited bodies are read.

The block sits between two HTML-comment marker lines; everything around it belongs to people
and is kept byte for byte. Text taken from study repositories is escaped before it is rendered,
so it can neither break the block or its table, nor ping anyone, nor inject HTML.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import quote, urlsplit

from factory_sync.errors import FactorySyncError
from factory_sync.stage import Progress, StageProgress, Status, is_stage_label
from factory_sync.study import IssueEvent, Study, StudyIssue

TRACKING_LABEL = "study-tracking"
BODY_LIMIT = 65_536  # GitHub's limit on an issue body
HISTORY_LIMIT = 20
TEXT_LIMIT = 120  # longest run of study-provided text shown in one place
ISSUES_LISTED = 30  # issues listed in a stage's row of the table; the others are counted

END_MARKER = "<!-- factory-sync:end -->"
HEADLINE = "## Current stage: "
RUN_LINE = "<sub>Written by factory-sync"  # the run link; ignored when comparing blocks
NOT_STARTED = "Not started"
FINISHED = "Complete"

_STATUS_SHOWN = {
    Status.PENDING: "⚪ pending",
    Status.IN_PROGRESS: "🔄 in progress",
    Status.COMPLETE: "✅ complete",
}
_EVENT_SHOWN = {"labeled": "added to", "unlabeled": "removed from"}
_EVENT_ORDER = {"labeled": 0, "unlabeled": 1, "closed": 2, "reopened": 3}


def begin_marker(repo: str) -> str:
    return f"<!-- factory-sync:begin study={repo} -->"


def new_issue_title(repo: str) -> str:
    return f"Study: {repo}"


class DamagedBlock(FactorySyncError):
    """The markers in a tracking issue body do not delimit exactly one block."""


class BodyTooLarge(FactorySyncError):
    """Even without history the body would exceed GitHub's limit."""


# --- escaping -------------------------------------------------------------------------------

_BIDI_CONTROLS = "\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
_BREAKS = "\t\n\v\f\r\x85\u2028\u2029"
# Bidi controls could reorder what readers see and control characters have no business in a title:
# both go. Line breaks become spaces so that text stays on its table row.
_CLEAN = str.maketrans(
    {**dict.fromkeys(map(ord, _BIDI_CONTROLS)), **dict.fromkeys(map(ord, _BREAKS), " "),
     **{code: None for code in [*range(0x20), *range(0x7F, 0xA0)] if chr(code) not in _BREAKS}}
)
_ENTITIES = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;"})
_MARKDOWN = str.maketrans({char: "\\" + char for char in "\\`*_[]()~|"})
_PING = re.compile(r"@|#(?=\d)")  # mentions, and issue references that would link the Factory's issues
_UNSAFE_IN_URL = str.maketrans({char: f"%{ord(char):02X}" for char in " \"'<>()[]\\`|"})


def escape(text: str, limit: int = TEXT_LIMIT) -> str:
    """Study-provided text made inert: one line, no HTML, no markdown, no pings, at most `limit` chars."""
    clean = text.translate(_CLEAN).strip()
    if len(clean) > limit:
        clean = clean[: limit - 1] + "…"
    inert = clean.translate(_ENTITIES).translate(_MARKDOWN)
    return _PING.sub(lambda match: match.group() + "&#8203;", inert)


def _url(url: str) -> str:
    return url.translate(_UNSAFE_IN_URL)


def _link(text: str, url: str) -> str:
    return f"[{text}]({_url(url)})"


# --- rendering ------------------------------------------------------------------------------

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
             _summary(study, progress), "",
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
        lines.append(f"- … and {hidden} earlier event{'s' if hidden != 1 else ''} not shown{why}")
    lines += ["", _run_line(run_url), END_MARKER]
    return "\n".join(lines)


def _summary(study: Study, progress: Progress) -> str:
    study_link = _link(escape(study.repo), study.url)
    if progress.current is None:
        return f"Study {study_link}: no issue carries a stage label yet."
    if progress.finished:
        return f"Study {study_link}: all {len(progress.stages)} stages complete."
    number = next(index for index, entry in enumerate(progress.stages, 1) if entry.stage == progress.current)
    return f"Study {study_link}: stage {number} of {len(progress.stages)}."


def _row(entry: StageProgress, current: bool, listed: int = ISSUES_LISTED) -> str:
    name = escape(entry.stage.name)
    chosen = _listed(entry.issues, listed)
    shown = [f"{_link(f'#{issue.number}', issue.url)} {escape(issue.title)}" for issue in chosen]
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
    return _utc(moment).strftime("%Y-%m-%d") if moment is not None else ""


def _utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _history(study: Study) -> list[str]:
    """Stage-related timeline entries, newest first, in an order that ignores how they arrived."""
    entries = [(issue, event) for issue in study.issues for event in issue.events
               if event.kind in ("closed", "reopened")
               or (event.kind in _EVENT_SHOWN and is_stage_label(event.label or ""))]
    entries.sort(key=lambda pair: (_utc(pair[1].at), pair[0].number, _EVENT_ORDER[pair[1].kind],
                                   pair[1].label or "", pair[1].actor or ""), reverse=True)
    server = _server(study.url)
    return [_history_line(issue, event, server) for issue, event in entries]


def _history_line(issue: StudyIssue, event: IssueEvent, server: str) -> str:
    when = _utc(event.at).strftime("%Y-%m-%d %H:%M UTC")
    link = _link(f"#{issue.number}", issue.url)
    by = _actor(event.actor, server)
    if event.kind in _EVENT_SHOWN:
        return f"- {when}: <code>{escape(event.label or '')}</code> {_EVENT_SHOWN[event.kind]} {link} by {by}"
    return f"- {when}: {link} {event.kind} by {by}"


def _actor(login: str | None, server: str) -> str:
    """A link to the person, never an @mention: the tracking issue must not notify anyone."""
    login = login or "ghost"  # GitHub's stand-in for deleted accounts
    if login.endswith("[bot]"):
        return _link(escape(login), f"{server}/apps/{quote(login[: -len('[bot]')], safe='')}")
    return _link(escape(login), f"{server}/{quote(login, safe='')}")


def _server(study_url: str) -> str:
    parts = urlsplit(study_url)
    return f"{parts.scheme}://{parts.netloc}" if parts.scheme and parts.netloc else "https://github.com"


def _run_line(run_url: str | None) -> str:
    if run_url is None:
        return RUN_LINE + ".</sub>"
    return f"{RUN_LINE} in {_link('this run', run_url)}.</sub>"


# --- reading bodies -------------------------------------------------------------------------

_MARKER = re.compile(r" {0,3}<!--\s*factory-sync:(begin|end)\b(.*?)-->\s*", re.IGNORECASE)
_STUDY_IN_MARKER = re.compile(r"\s*study=(\S+)\s*")
_FENCE = re.compile(r" {0,3}(`{3,}|~{3,})(.*)")
_OLD_FORMAT = re.compile(
    r"\*\*Repository:\*\*[ \t]*https?://[^/\s]+/([A-Za-z0-9_.-]+)/([A-Za-z0-9_.-]+?)(?:\.git)?/?(?=[\s)>]|$)",
    re.IGNORECASE)


# The block's own lines, by which what is left of a block is recognised once a marker is lost.
_FIRST_LINE = f"'{HEADLINE}...'"
_LAST_LINE = f"'{RUN_LINE}...'"
_ESCAPED_NAME = r"(?:[A-Za-z0-9.-]|\\_)+"
_SUMMARY = re.compile(rf"Study \[({_ESCAPED_NAME}/{_ESCAPED_NAME})\]\([^\s()]+\): (?:stage \d+ of \d+|"
                      r"all \d+ stages complete|no issue carries a stage label yet)\.")


@dataclass(frozen=True)
class _Remains:
    """What is left of a study's block whose begin marker is out of sight."""

    study: str
    fence_line: int | None  # the line of the never-closed code fence that swallowed the block


@dataclass(frozen=True)
class _Marker:
    kind: str  # begin / end
    start: int  # offset of the line in the body
    end: int  # offset just past the line's text, before its line break
    study: str | None  # begin only


def split_body(body: str) -> tuple[str, str | None, str]:
    """(before, block, after) with before + block + after == body; block None when there is none.

    Markers are read as GitHub renders the body: inside a fenced code block they are quoted text. A
    block whose markers were damaged raises DamagedBlock, with what to fix: nothing is guessed.
    """
    markers = list(_markers(body))
    begins = [marker for marker in markers if marker.kind == "begin"]
    ends = [marker for marker in markers if marker.kind == "end"]
    if not markers:
        _check_no_remains(body)
        return body, None, ""
    if len(begins) > 1:
        studies = sorted({marker.study for marker in begins if marker.study}, key=str.lower)
        which = f" (for {' and '.join(studies)})" if len(studies) > 1 else ""
        raise DamagedBlock(f"tracking issue body has {len(begins)} factory-sync begin markers{which}; "
                           "delete all but one block and run again")
    if len(ends) > 1:
        raise DamagedBlock(f"tracking issue body has {len(ends)} factory-sync end markers; "
                           f"keep only the '{END_MARKER}' that closes the block and run again")
    if not ends:
        raise DamagedBlock("tracking issue body has a factory-sync begin marker but no end marker; "
                           f"put '{END_MARKER}' on its own line after the block's last line ({_LAST_LINE}) "
                           "and run again")
    if not begins:
        remains = _remains(body)
        marker = begin_marker(remains.study if remains else "OWNER/REPO")
        raise DamagedBlock("tracking issue body has a factory-sync end marker but no begin marker; "
                           f"put '{marker}' back on its own line above the block's first line "
                           f"({_FIRST_LINE}) and run again")
    begin, end = begins[0], ends[0]
    if end.start < begin.start:
        raise DamagedBlock("tracking issue body has the factory-sync end marker before the begin marker; "
                           "move the begin marker to the line above the block's first line "
                           f"({_FIRST_LINE}) and the end marker to the line below its last line "
                           f"({_LAST_LINE}), and run again")
    if begin.study is None:
        raise DamagedBlock("tracking issue body has a factory-sync begin marker without the study; "
                           f"write it as '{begin_marker('owner/repo')}' and run again")
    return body[: begin.start], body[begin.start : end.end], body[end.end :]


def names_study(body: str) -> str | None:
    """The study repository a tracking issue is for: its begin marker's, else its old-format line's,
    else that of what is left of its block when the begin marker was lost (see `_remains`), so that
    the study's run finds the issue and says what to repair instead of creating another."""
    for marker in _markers(body):
        if marker.kind == "begin" and marker.study is not None:
            return marker.study
    for line, _, _ in _lines_outside_fences(body):
        found = _OLD_FORMAT.search(line)
        if found:
            return f"{found.group(1)}/{found.group(2)}"
    remains = _remains(body)
    return remains.study if remains else None


def shown_in_block(block: str) -> str | None:
    """The headline's stage text (still escaped), or None if the headline was edited away."""
    for line in block.split("\n"):
        if line.startswith(HEADLINE):
            return line[len(HEADLINE) :].rstrip("\r")
    return None


def same_block(a: str, b: str) -> bool:
    """Equal apart from the run link and line endings, so a new run alone never causes a write."""
    return _content(a) == _content(b)


def _content(block: str) -> list[str]:
    return [line for line in block.replace("\r\n", "\n").split("\n") if not line.startswith(RUN_LINE)]


def adopt(body: str) -> str:
    """An old-format body followed by the blank line that precedes an appended block."""
    if _ends_in_fence(body):
        raise DamagedBlock("tracking issue body ends inside an unclosed code block (``` or ~~~), where a "
                           "factory-sync block would not count; close the code block and run again")
    if not body or body.endswith(("\n\n", "\r\n\r\n")):
        return body
    return body + ("\n" if body.endswith("\n") else "\n\n")


def _remains(body: str) -> _Remains | None:
    """A block whose begin marker is out of sight: swallowed by a code fence that is never closed (GitHub
    shows the rest of the body as code), or deleted, leaving the block's summary line."""
    lines = list(_scan(body))
    unclosed = lines[-1][3] if _ends_in_fence(body) else None
    summary = None
    for line, _, _, fence in lines:
        if fence is None:
            found = _SUMMARY.fullmatch(line)
            if found and summary is None:
                summary = found.group(1).replace("\\_", "_")
        elif fence == unclosed:
            marker = _marker(line, 0, 0)
            if marker is not None and marker.kind == "begin" and marker.study is not None:
                return _Remains(marker.study, fence)
    return _Remains(summary, None) if summary else None


def _check_no_remains(body: str) -> None:
    """A body without markers: raise DamagedBlock if it still holds a study's block."""
    remains = _remains(body)
    if remains is None:
        return
    if remains.fence_line is not None:
        raise DamagedBlock(
            f"the factory-sync block of {remains.study} is inside a code block that is never closed (the "
            f"fence on line {remains.fence_line} of the tracking issue), so GitHub shows it as code; close "
            "that code block above the block and run again")
    raise DamagedBlock(
        f"tracking issue body holds what is left of the factory-sync block of {remains.study} without its "
        f"markers; put '{begin_marker(remains.study)}' back on its own line above the block's first line "
        f"({_FIRST_LINE}) and '{END_MARKER}' below its last line ({_LAST_LINE}), and run again")


def _marker(line: str, start: int, end: int) -> _Marker | None:
    found = _MARKER.fullmatch(line)
    if found is None:
        return None
    kind = found.group(1).lower()
    study = _STUDY_IN_MARKER.fullmatch(found.group(2)) if kind == "begin" else None
    return _Marker(kind, start, end, study.group(1) if study else None)


def _markers(body: str) -> Iterator[_Marker]:
    for line, start, end in _lines_outside_fences(body):
        marker = _marker(line, start, end)
        if marker is not None:
            yield marker


def _lines_outside_fences(body: str) -> Iterator[tuple[str, int, int]]:
    """(text, start, end) of each line not inside a fenced code block, as CommonMark reads fences."""
    for line, start, end, fence in _scan(body):
        if fence is None:
            yield line, start, end


def _scan(body: str) -> Iterator[tuple[str, int, int, int | None]]:
    """(text, start, end, fence) of each line; `fence` is the line number (from 1) of the fence that
    opened the code block the line belongs to (its fence lines included), None outside code blocks."""
    fence: str | None = None
    opened: int | None = None
    for number, (line, start, end) in enumerate(_lines(body), 1):
        opening = _FENCE.fullmatch(line)
        if fence is None:
            if opening and not (opening.group(1)[0] == "`" and "`" in opening.group(2)):
                fence, opened = opening.group(1), number
            yield line, start, end, opened
        else:
            yield line, start, end, opened
            if opening and opening.group(1)[0] == fence[0] and len(opening.group(1)) >= len(fence) \
                    and not opening.group(2).strip():
                fence, opened = None, None


def _ends_in_fence(body: str) -> bool:
    probe = body + "\n"  # its last, empty line is outside fences only if the body closed them all
    return all(start != len(probe) for _, start, _ in _lines_outside_fences(probe))


def _lines(body: str) -> Iterator[tuple[str, int, int]]:
    start = 0
    while True:
        newline = body.find("\n", start)
        stop = len(body) if newline == -1 else newline
        end = stop - 1 if stop > start and body[stop - 1] == "\r" else stop
        yield body[start:end], start, end
        if newline == -1:
            return
        start = newline + 1


# --- labels ---------------------------------------------------------------------------------

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
