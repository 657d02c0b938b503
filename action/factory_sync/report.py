"""What a run hands the runner when it is done: step outputs, the job summary and notices."""

from __future__ import annotations

from collections.abc import Sequence

from factory_sync.app_tokens import InstallationToken, describe_permissions, describe_repositories
from factory_sync.markdown import counted
from factory_sync.portfolio import Status, StudyResult, count
from factory_sync.runner import Runner
from factory_sync.summaries import budget_message, failure_message, render_summary, study_summary, verdict

STUDY_OUTPUTS = ("factory-issue-number", "factory-issue-url", "stage")
FAILURE_ANNOTATIONS = 10  # failed studies shown as error annotations; the log and summary list all


def announcer(runner: Runner):  # type: ignore[no-untyped-def]
    """How a run announces each installation token it mints: masked before anything can print it."""
    def announce(token: InstallationToken) -> None:
        runner.mask(token.value)
        where = describe_repositories(list(token.repositories) or None)
        runner.info(f"Installation token for {where} ({describe_permissions(token.permissions)}), "
                    f"expires {token.expires_at}")

    return announce


def report_study(runner: Runner, result: StudyResult, dry_run: bool) -> None:
    """Outputs, job summary and notice of a run that checked one study."""
    issue = result.issue
    runner.set_output("factory-issue-number", str(issue.number) if issue else "")
    runner.set_output("factory-issue-url", issue.url if issue else "")
    runner.set_output("stage", result.stage_label or "")
    runner.set_output("changed", "true" if result.status in (Status.CREATED, Status.UPDATED) and not dry_run
                      else "false")
    runner.summary(study_summary(result, dry_run))
    runner.notice(f"{result.study}: {verdict(result, dry_run)} ({result.stage_after or 'not started'})")


def set_counts(runner: Runner, results: Sequence[StudyResult]) -> None:
    counts = count(results)
    runner.set_output("checked", str(counts.checked))
    runner.set_output("changed-count", str(counts.changed))
    runner.set_output("failed", str(counts.failed))
    runner.set_output("untracked", str(counts.untracked))
    runner.set_output("deferred", str(counts.deferred))


def report_portfolio(runner: Runner, results: Sequence[StudyResult], title: str, dry_run: bool,
                     warnings: Sequence[str], notes: Sequence[str]) -> int:
    """Outputs, job summary and notices of a resync of every study; the exit code."""
    counts = count(results)
    for warning in warnings:
        runner.warning(warning)
    for note in notes:
        runner.info(note)
    for result in [r for r in results if r.status is Status.FAILED][:FAILURE_ANNOTATIONS]:
        runner.error(result.reason, title=f"factory-sync: {result.study}")
    for name in STUDY_OUTPUTS:
        runner.set_output(name, "")
    runner.set_output("changed", "true" if counts.changed and not dry_run else "false")
    set_counts(runner, results)
    runner.summary(render_summary(results, title, dry_run, [*warnings, *notes]))
    if (budget := budget_message(results)) is not None:
        runner.notice(budget)
    runner.notice(f"Resync: {counted(counts.checked, 'study', 'studies')} checked, {counts.changed} "
                  f"{'would change' if dry_run else 'changed'}, {counts.unchanged} unchanged, "
                  f"{counts.failed} failed, {counts.untracked} untracked")
    if counts.failed:
        runner.error(failure_message(results))
        return 1
    return 0
