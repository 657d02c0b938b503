"""Reading a tracking issue's body as people left it: where factory-sync's block is, which study it
names, what its headline shows, and what to repair when its markers were damaged. Plain functions.

The block sits between two HTML-comment marker lines; everything around it belongs to people and
is kept byte for byte. Markers are read as GitHub renders the body: inside a code block, quoted.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

from factory_sync.errors import FactorySyncError
from factory_sync.model import NAME_PATTERN, OWNER_PATTERN

END_MARKER = "<!-- factory-sync:end -->"
HEADLINE = "## Current stage: "
RUN_LINE = "<sub>Written by factory-sync"  # the run link; ignored when comparing blocks


def begin_marker(repo: str) -> str:
    return f"<!-- factory-sync:begin study={repo} -->"


class DamagedBlock(FactorySyncError):
    """The markers in a tracking issue body do not delimit exactly one block."""


_MARKER = re.compile(r" {0,3}<!--\s*factory-sync:(begin|end)\b(.*?)-->\s*", re.IGNORECASE)
_STUDY_IN_MARKER = re.compile(r"\s*study=(\S+)\s*")
_FENCE = re.compile(r" {0,3}(`{3,}|~{3,})(.*)")
_OLD_FORMAT = re.compile(
    rf"\*\*Repository:\*\*[ \t]*https?://[^/\s]+/({OWNER_PATTERN})/({NAME_PATTERN}?)(?:\.git)?/?(?=[\s)>]|$)",
    re.IGNORECASE)


# The block's own lines, by which what is left of a block is recognised once a marker is lost.
_FIRST_LINE = f"'{HEADLINE}...'"
_LAST_LINE = f"'{RUN_LINE}...'"
_ESCAPED_NAME = r"(?:[A-Za-z0-9.-]|\\_)+"
# Where the study stands, in the block's summary line (`Study <link>: <where>.`), as tracking_block
# writes it; here they let the line be recognised once the markers are lost.
WHERE_AT = "stage {number} of {total}"
WHERE_COMPLETE = "all {total} stages complete"
WHERE_NOT_STARTED = "no issue carries a stage label yet"
_WHERE = "|".join(re.escape(where).replace(r"\{number\}", r"\d+").replace(r"\{total\}", r"\d+")
                  for where in (WHERE_AT, WHERE_COMPLETE, WHERE_NOT_STARTED))
_SUMMARY = re.compile(rf"Study \[({_ESCAPED_NAME}/{_ESCAPED_NAME})\]\([^\s()]+\): (?:{_WHERE})\.")


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

