"""The portfolio resync: a run in the Factory checks the study a trigger names, or every study.

Studies are read in batches with an App token that can only read issues (narrowed to the studies
when it can be), and written through the engine with one that can only write the Factory's issues.
One study failing never stops the others.
"""

from __future__ import annotations

from collections.abc import Callable

from factory_sync.app_tokens import InstallationTokens, MintRefused
from factory_sync.board_runs import keep, report_board
from factory_sync.engine import Engine
from factory_sync.errors import FactorySyncError
from factory_sync.events import Trigger
from factory_sync.github_client import Client
from factory_sync.inputs import Settings
from factory_sync.model import Study, TrackingIssue
from factory_sync.portfolio import (
    Portfolio,
    Status,
    StudyResult,
    failed,
    portfolio_of,
    reader_repositories,
    studies_to_check,
    untracked,
)
from factory_sync.portfolio_run import after_resync, report_one
from factory_sync.report import report_portfolio, set_counts
from factory_sync.runner import Runner
from factory_sync.study_reader import READ_PERMISSIONS, installation_repositories, read_studies
from factory_sync.summaries import progress_line

STUDY_READ_HINTS = {
    401: "The App's installation token was refused: run the job again; if it persists, check private-key.",
    403: "The App needs Issues: Read-only (or Read and write) and Contents: Read-only on the study "
         "repositories.",
    404: "The App's installation cannot see this repository: install the App on it (or add it to the "
         "installation's selected repositories), or correct the study named in its tracking issue.",
}


def resync(settings: Settings, trigger: Trigger, runner: Runner, tokens: InstallationTokens,
           engine: Engine) -> int:
    """A run in the Factory: check the study the trigger names, or every study. Returns the exit code."""
    if trigger.all_studies and settings.factory_issue:
        raise FactorySyncError("factory-issue pins one study's tracking issue; leave it empty for a resync "
                               "of every study.")
    runner.info(trigger.notice)
    pinned, portfolio = _tracking_issues(engine, settings, trigger, runner)
    studies = studies_to_check(trigger, portfolio, settings.factory_repo)
    discovering = trigger.all_studies and settings.discover
    title = f"resync of every study in `{settings.factory_repo}` ({trigger.event})"
    warnings = _unnamed_warnings(portfolio)
    if not studies and not discovering:
        runner.notice(f"No tracking issue in {settings.factory_repo} names a study: nothing to resync. "
                      "Run with `discover: true` to look for studies among the App's repositories.")
        code = report_portfolio(runner, [], title, settings.dry_run, [], [])
        after_resync(engine, settings, [], {}, runner)  # the dashboard shows no study
        return code
    reader = _reader(tokens, settings, studies, discovering, runner)
    candidates, notes = [], []
    if discovering:
        with runner.group("Looking for untracked studies among the installation's repositories"):
            candidates = untracked(installation_repositories(reader), portfolio, settings.factory_repo)
            runner.info(f"{len(candidates)} repositories are not tracked; reading them to find studies")
    with runner.group(f"Reading {len(studies) + len(candidates)} repositories"):
        read, unread = read_studies(reader, studies + candidates, STUDY_READ_HINTS, log=runner.info,
                                    trust_authors=settings.trust_authors)
    found = [repo for repo in candidates if repo in unread or read[repo].issues]
    if discovering:
        notes.append(f"Discovery: {len(candidates)} untracked repositories looked at, {len(found)} of "
                     "them have stage-labelled issues.")
    order = studies + found
    single = not trigger.all_studies
    results = []
    for index, repo in enumerate(order, 1):
        def existing(repo: str = repo) -> TrackingIssue | None:
            return pinned or engine.settle(portfolio.issues_of(repo), repo)

        result = _check(repo, read, unread, existing, engine, single)
        results.append(result)
        runner.info(progress_line(index, len(order), result, settings.dry_run))
    checked = [(result, read[result.study]) for result in results if result.study in read]
    keep(engine, checked, every=not single, runner=runner)
    if not single:
        code = report_portfolio(runner, results, title, settings.dry_run, warnings, notes)
        after_resync(engine, settings, results, read, runner)  # stalled studies, dashboard, export
        return max(code, report_board(runner, engine.board))
    return _report_one(runner, engine, results[0], settings.dry_run)


def _report_one(runner: Runner, engine: Engine, result: StudyResult, dry_run: bool) -> int:
    """The report of a run for one study: its failure is the run's."""
    set_counts(runner, [result])
    if result.status is Status.FAILED:
        runner.set_output("changed", "false")
        raise FactorySyncError(result.reason)
    return report_one(runner, engine, result, dry_run)


def _tracking_issues(engine: Engine, settings: Settings, trigger: Trigger,
                     runner: Runner) -> tuple[TrackingIssue | None, Portfolio]:
    """The pinned issue (factory-issue), or the Factory's tracking issues by the study each names."""
    if settings.factory_issue and not trigger.all_studies:
        return engine.factory.issue(settings.factory_issue), portfolio_of([])
    with runner.group(f"Listing the tracking issues of {settings.factory_repo}"):
        issues = engine.factory.tracking_issues(engine.policy.tracking_label)
        portfolio = portfolio_of(issues)
        runner.info(f"{len(issues)} tracking issues name {len(portfolio.studies)} studies")
    return None, portfolio


def _reader(tokens: InstallationTokens, settings: Settings, studies: list[str], discovering: bool,
            runner: Runner) -> Client:
    """A client on a token that can only read issues: of the studies, when it can be narrowed to them."""
    repos = reader_repositories(studies, settings.factory_repo, discovering)
    try:
        return tokens.client(repos, READ_PERMISSIONS)
    except MintRefused as exc:
        if repos is None:
            raise
        runner.warning(f"{exc} Reading with an issues: read token for all the installation's repositories "
                       "instead; a study outside the installation fails on its own.")
        return tokens.client(None, READ_PERMISSIONS)


def _check(repo: str, read: dict[str, Study], unread: dict[str, str],
           existing: Callable[[], TrackingIssue | None], engine: Engine, single: bool) -> StudyResult:
    """One study of a resync: its result, never an exception."""
    if repo in unread:
        return failed(repo, unread[repo])
    try:
        return engine.check(read[repo], existing(), diff_in_summary=single)
    except FactorySyncError as exc:
        return failed(repo, str(exc))


def _unnamed_warnings(portfolio: Portfolio) -> list[str]:
    if not portfolio.unnamed:
        return []
    numbers = ", ".join(f"#{issue.number}" for issue in portfolio.unnamed[:20])
    return [f"{len(portfolio.unnamed)} issues carry the tracking label but name no study ({numbers}); "
            "they were left alone."]
