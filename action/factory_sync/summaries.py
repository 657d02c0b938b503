"""What runs tell people: job-summary Markdown and log lines of a single study's run and of a resync.
Plain functions, no I/O; study-provided text is escaped (markdown.escape) wherever it is shown."""

from __future__ import annotations

import difflib
from collections.abc import Sequence

from factory_sync.markdown import escape, fenced
from factory_sync.model import TrackingIssue, is_repo_name
from factory_sync.portfolio import CHANGED, Status, StudyResult, count

TABLE_ROWS = 300  # rows of a table in the job summary; the log lists every study
SUMMARY_REASON_LIMIT = 400  # characters of a failure's reason in the job summary


def verdict(result: StudyResult, dry_run: bool) -> str:
    """A single study's run in a few words, for its summary and notice."""
    if dry_run:
        return "dry run: nothing written"
    if result.status in CHANGED:
        return result.status.value  # created, updated
    return "already up to date" if result.issue else "no tracking issue (create-missing is false)"


def study_summary(result: StudyResult, dry_run: bool) -> str:
    """The job summary of a run that checked one study."""
    issue = result.issue
    link = f"[#{issue.number}]({issue.url})" if issue else "none"
    rows = [("Study", _code(result.study)), ("Stage before", _text(result.stage_before or "none")),
            ("Stage after", _text(result.stage_after or "none")), ("Factory issue", link),
            ("Result", verdict(result, dry_run))]
    table = "\n".join(f"| {k} | {v} |" for k, v in rows)
    changes = "".join(f"- {_text(c)}\n" for c in result.changes)
    return f"### factory-sync\n\n| | |\n|---|---|\n{table}\n\n{changes}"


def body_diff(existing: TrackingIssue | None, body: str) -> str:
    """The planned change of a tracking issue's body, as a unified diff ("" when there is none)."""
    before = (existing.body if existing else "").splitlines(keepends=True)
    after = body.splitlines(keepends=True)
    return "".join(difflib.unified_diff(before, after, "tracking issue (now)", "tracking issue (planned)"))


def diff_summary(diff: str) -> str:
    return f"#### Planned change (dry run)\n\n{fenced(diff or '(no change)', 'diff')}\n"


def describe_result(result: StudyResult, dry_run: bool) -> str:
    """What happened to one study, in a few words: `unchanged`, `updated (A -> B)`, `FAILED: why`."""
    if result.status is Status.FAILED:
        return f"FAILED: {result.reason}"
    if result.status is Status.UNCHANGED:
        return "unchanged"
    if result.status is Status.UNTRACKED:
        return f"untracked, at {result.stage_after} (create-missing is false: no tracking issue created)"
    if result.status is Status.DEFERRED:
        changes = "; ".join(result.changes)
        return f"differs, left for the next run ({changes}): this run's write budget is spent"
    verb = {Status.CREATED: "create", Status.UPDATED: "update"}[result.status]
    done = f"would {verb}" if dry_run else f"{verb}d"
    issue = f" #{result.issue.number}" if result.issue is not None else ""
    if result.stage_before != result.stage_after:
        return f"{done}{issue} ({result.stage_before or 'none shown'} -> {result.stage_after})"
    return f"{done}{issue} ({'; '.join(result.changes)})"


def progress_line(index: int, total: int, result: StudyResult, dry_run: bool) -> str:
    """E.g. `[120/1000] org/Study: unchanged`."""
    return f"[{index}/{total}] {result.study}: {describe_result(result, dry_run)}"


def budget_message(results: Sequence[StudyResult]) -> str | None:
    """What a resync that stopped writing at its budget says; None when it did not."""
    left = count(results).deferred
    if not left:
        return None
    return (f"The write budget of this run is spent (input write-budget): {left} "
            f"{'study still differs' if left == 1 else 'studies still differ'}; the next resync continues "
            "with them, as a resync writes only what still differs.")


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
    if (budget := budget_message(results)) is not None:
        lines += [budget, ""]
    changed = [result for result in results if result.status in CHANGED]
    lines += _table(f"Changed ({len(changed)})", ["Study", "Stage before", "Stage after", "Tracking issue",
                                                  "What changed"],
                    [[_code(r.study), _text(r.stage_before or "none shown"), _text(r.stage_after or ""),
                      _issue_link(r.issue) or ("(new)" if dry_run else ""),
                      "<br>".join(_text(change) for change in r.changes)] for r in changed])
    failed = [result for result in results if result.status is Status.FAILED]
    lines += _table(f"Failed ({len(failed)})", ["Study", "Why"],
                    [[_code(r.study), _text(r.reason, SUMMARY_REASON_LIMIT)] for r in failed])
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
