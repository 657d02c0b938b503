"""Checking studies against their Factory tracking issues, and the resync of a whole portfolio.

Every run that writes goes through `check_study`: plan the study's tracking issue from its truth and
write it only if it differs. A run in a study repository checks that one study (`sync.sync_study`);
a run in the Factory checks one study or all of them (`resync`), reading them in batches with an App
token that can only read issues, and writing with one that can only write the Factory's issues. One
study failing never stops the others.
"""

from __future__ import annotations

import contextlib
import difflib
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from github import Github

from factory_sync.errors import FactorySyncError
from factory_sync.event import Trigger
from factory_sync.github_api import (
    App,
    CreateUnsure,
    Factory,
    InstallationToken,
    InstallationTokens,
    MintRefused,
    describe_repositories,
    installation_repositories,
    read_studies,
)
from factory_sync.portfolio import (
    Portfolio,
    Status,
    StudyResult,
    count,
    failure_message,
    portfolio_of,
    progress_line,
    reader_repositories,
    render_summary,
    studies_to_check,
    untracked,
)
from factory_sync.reconcile import Action, Plan, TrackingIssue, claim, plan, retired
from factory_sync.runner import Runner
from factory_sync.settings import Settings
from factory_sync.stage import assess
from factory_sync.study import Study

READ_PERMISSIONS = {"issues": "read"}
WRITE_PERMISSIONS = {"issues": "write"}
FAILURE_ANNOTATIONS = 10  # failed studies shown as error annotations; the log and summary list all

STUDY_READ_HINTS = {
    401: "The App's installation token was refused: run the job again; if it persists, check private-key.",
    403: "The App needs Issues: Read-only (or Read and write) on the study repositories.",
    404: "The App's installation cannot see this repository: install the App on it (or add it to the "
         "installation's selected repositories), or correct the study named in its tracking issue.",
}


@dataclass(frozen=True)
class Outcome:
    study: str
    plan: Plan
    issue: TrackingIssue | None  # as it stands after the run (None: missing, not created)
    changed: bool


# -- the engine: one study ---------------------------------------------------------------------

@contextlib.contextmanager
def factory_tokens(settings: Settings, runner: Runner) -> Iterator[InstallationTokens]:
    """The App's installation tokens for this run: masked as soon as minted, revoked however it ends."""
    assert settings.app_id is not None and settings.private_key is not None
    app = App(settings.app_id, settings.private_key, settings.api_url, settings.waits)
    installation = settings.installation_id or app.installation_id(settings.factory_repo)

    def announce(token: InstallationToken) -> None:
        runner.mask(token.value)
        where = describe_repositories(list(token.repositories) or None)
        permissions = ", ".join(f"{k}: {v}" for k, v in sorted(token.permissions.items()))
        runner.info(f"Installation token for {where} ({permissions}), expires {token.expires_at}")

    with InstallationTokens(app, installation, announce, runner.warning) as tokens:
        yield tokens


def factory_of(tokens: InstallationTokens, settings: Settings) -> Factory:
    """The Factory, through a token that can only write its issues, writes spaced as GitHub asks."""
    gh = tokens.client([settings.factory_repo], WRITE_PERMISSIONS, writes=True,
                       write_interval=settings.write_interval)
    return Factory(gh, settings.factory_repo, settings.tracking_label)


def check_study(study: Study, existing: TrackingIssue | None, settings: Settings, factory: Factory,
                runner: Runner, diff_in_summary: bool = True) -> Outcome:
    """Plan the study's tracking issue from its truth and write it if it differs (not in a dry run)."""
    progress = assess(study, settings.catalog)
    for label in progress.unknown_labels:
        runner.warning(f"{study.repo} uses the label {label!r}, which is not in the stage catalog; "
                       "it is listed as unknown. Add it to the `stages` file or rename the label.",
                       title="Unknown stage label")
    wanted = plan(study, progress, settings.catalog, existing, settings.run_url, settings.create_missing,
                  settings.tracking_label)
    for change in wanted.changes:
        runner.info(f"- {change}")
    for warning in wanted.warnings:
        runner.warning(warning, title="factory-sync: label limit")
    if settings.dry_run:
        if wanted.action in (Action.CREATE, Action.UPDATE):
            show_diff(runner, study.repo, existing, wanted, diff_in_summary)
        return Outcome(study.repo, wanted, existing, changed=False)
    if wanted.action == Action.CREATE:
        issue = create_tracking_issue(factory, wanted, study.repo, settings, runner)
        # The issue kept may be another run's, created from an older truth: reconcile it too.
        again = plan(study, progress, settings.catalog, issue, settings.run_url, settings.create_missing,
                     settings.tracking_label)
        if again.action == Action.UPDATE:
            issue = factory.update(issue.number, again.body, again.labels)
        return Outcome(study.repo, wanted, issue, changed=True)
    if wanted.action == Action.UPDATE:
        return Outcome(study.repo, wanted, factory.update(wanted.number, wanted.body, wanted.labels),
                       changed=True)
    return Outcome(study.repo, wanted, existing, changed=False)


def create_tracking_issue(factory: Factory, wanted: Plan, repo: str, settings: Settings,
                          runner: Runner) -> TrackingIssue:
    """Create the study's tracking issue: never twice, and converging with runs that raced this one.

    A create that failed in a way that may have created the issue all the same (a 5xx, no answer) is not
    sent again blindly: the tracking issues are listed first, and one found is used. After the create
    they are listed again, because another run may have created one at the same time: every run keeps
    the same one (reconcile.claim) and the spare copies are retired.
    """
    try:
        created = factory.create(wanted.title, wanted.body, wanted.labels)
    except CreateUnsure as exc:
        runner.warning(f"{exc} Looking for the issue before creating it again.")
        found = claim(factory.tracking_issues(), repo).keep
        created = found or factory.create(wanted.title, wanted.body, wanted.labels)
    return settle(factory, factory.tracking_issues(), repo, settings, runner) or created


def settle(factory: Factory, issues: list[TrackingIssue], repo: str, settings: Settings,
           runner: Runner) -> TrackingIssue | None:
    """The study's tracking issue among `issues`; spare copies that racing runs created are retired."""
    found = claim(issues, repo)
    for spare in found.retire:
        assert found.keep is not None
        body, labels = retired(spare, found.keep, repo, settings.tracking_label)
        if settings.dry_run:
            runner.info(f"Dry run: would close #{spare.number}, a spare copy of #{found.keep.number}")
            continue
        factory.retire(spare.number, body, labels)
        runner.info(f"Closed #{spare.number}, a spare copy of {repo}'s tracking issue #{found.keep.number}")
    return found.keep


def show_diff(runner: Runner, study: str, existing: TrackingIssue | None, wanted: Plan,
              in_summary: bool = True) -> None:
    before = (existing.body if existing else "").splitlines(keepends=True)
    after = (wanted.body or "").splitlines(keepends=True)
    diff = "".join(difflib.unified_diff(before, after, "tracking issue (now)", "tracking issue (planned)"))
    with runner.group(f"Dry run: the planned body for {study} (nothing was written)"):
        runner.info(diff or "(no change)")
    if in_summary:
        runner.summary(f"#### Planned change (dry run)\n\n```diff\n{diff or '(no change)'}\n```\n")


def report(runner: Runner, outcome: Outcome, dry_run: bool) -> None:
    """Outputs, job summary and notice of a run that checked one study."""
    issue, wanted = outcome.issue, outcome.plan
    runner.set_output("factory-issue-number", str(issue.number) if issue else "")
    runner.set_output("factory-issue-url", issue.url if issue else "")
    runner.set_output("stage", wanted.stage_label or "")
    runner.set_output("changed", "true" if outcome.changed else "false")
    link = f"[#{issue.number}]({issue.url})" if issue else "none"
    verdict = ("dry run: nothing written" if dry_run else "updated" if outcome.changed
               else "already up to date" if issue else "no tracking issue (create-missing is false)")
    rows = [("Study", f"`{outcome.study}`"), ("Stage before", wanted.stage_before or "none"),
            ("Stage after", wanted.stage_after or "none"), ("Factory issue", link), ("Result", verdict)]
    table = "\n".join(f"| {k} | {v} |" for k, v in rows)
    changes = "".join(f"- {c}\n" for c in wanted.changes)
    runner.summary(f"### factory-sync\n\n| | |\n|---|---|\n{table}\n\n{changes}")
    runner.notice(f"{outcome.study}: {verdict} ({wanted.stage_after or 'not started'})")


def result_of(outcome: Outcome) -> StudyResult:
    wanted = outcome.plan
    status = {Action.CREATE: Status.CREATED, Action.UPDATE: Status.UPDATED, Action.NONE: Status.UNCHANGED,
              Action.MISSING: Status.UNTRACKED}[wanted.action]
    return StudyResult(outcome.study, status, wanted.stage_before, wanted.stage_after, outcome.issue,
                       wanted.changes)


# -- the Factory's resync ------------------------------------------------------------------------

def resync(settings: Settings, trigger: Trigger, runner: Runner) -> int:
    """A run in the Factory: check the study the trigger names, or every study. Returns the exit code."""
    if trigger.all_studies and settings.factory_issue:
        raise FactorySyncError("factory-issue pins one study's tracking issue; leave it empty for a resync "
                               "of every study.")
    runner.info(trigger.notice)
    with factory_tokens(settings, runner) as tokens:
        factory = factory_of(tokens, settings)
        pinned, portfolio = _tracking_issues(factory, settings, trigger, runner)
        studies = studies_to_check(trigger, portfolio, settings.factory_repo)
        discovering = trigger.all_studies and settings.discover
        if not studies and not discovering:
            runner.notice(f"No tracking issue in {settings.factory_repo} names a study: nothing to resync. "
                          "Run with `discover: true` to look for studies among the App's repositories.")
            _report_portfolio(runner, [], settings, trigger, [])
            return 0
        reader = _reader(tokens, settings, studies, discovering, runner)
        candidates, notes = [], list(_unnamed_notes(portfolio))
        if discovering:
            with runner.group("Looking for untracked studies among the installation's repositories"):
                candidates = untracked(installation_repositories(reader), portfolio, settings.factory_repo)
                runner.info(f"{len(candidates)} repositories are not tracked; reading them to find studies")
        with runner.group(f"Reading {len(studies) + len(candidates)} repositories"):
            read, unread = read_studies(reader, studies + candidates, STUDY_READ_HINTS, log=runner.info)
        found = [repo for repo in candidates if repo in unread or read[repo].issues]
        if discovering:
            notes.append(f"Discovery: {len(candidates)} untracked repositories looked at, {len(found)} of "
                         "them have stage-labelled issues.")
        order = studies + found
        single = not trigger.all_studies
        results, outcomes = [], []
        for index, repo in enumerate(order, 1):
            def existing(repo: str = repo) -> TrackingIssue | None:
                return pinned or settle(factory, portfolio.issues_of(repo), repo, settings, runner)

            result, outcome = _check(repo, read, unread, existing, settings, factory, runner, single)
            results.append(result)
            outcomes.append(outcome)
            runner.info(progress_line(index, len(order), result, settings.dry_run))
    if single and outcomes and outcomes[0] is not None:
        report(runner, outcomes[0], settings.dry_run)
        _set_counts(runner, results)
        return 0
    if single:
        _set_counts(runner, results)
        runner.set_output("changed", "false")
        raise FactorySyncError(results[0].reason)
    return _report_portfolio(runner, results, settings, trigger, notes)


def _tracking_issues(factory: Factory, settings: Settings, trigger: Trigger,
                     runner: Runner) -> tuple[TrackingIssue | None, Portfolio]:
    """The pinned issue (factory-issue), or the Factory's tracking issues by the study each names."""
    if settings.factory_issue and not trigger.all_studies:
        return factory.issue(settings.factory_issue), portfolio_of([])
    with runner.group(f"Listing the tracking issues of {settings.factory_repo}"):
        issues = factory.tracking_issues()
        portfolio = portfolio_of(issues)
        runner.info(f"{len(issues)} tracking issues name {len(portfolio.studies)} studies")
    return None, portfolio


def _reader(tokens: InstallationTokens, settings: Settings, studies: list[str], discovering: bool,
            runner: Runner) -> Github:
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
           existing: Callable[[], TrackingIssue | None], settings: Settings, factory: Factory,
           runner: Runner, single: bool) -> tuple[StudyResult, Outcome | None]:
    """One study of a resync: its result, never an exception."""
    if repo in unread:
        return StudyResult(repo, Status.FAILED, reason=unread[repo]), None
    try:
        outcome = check_study(read[repo], existing(), settings, factory, runner, diff_in_summary=single)
    except FactorySyncError as exc:
        return StudyResult(repo, Status.FAILED, reason=str(exc)), None
    return result_of(outcome), outcome


def _unnamed_notes(portfolio: Portfolio) -> Iterator[str]:
    if portfolio.unnamed:
        numbers = ", ".join(f"#{issue.number}" for issue in portfolio.unnamed[:20])
        yield (f"{len(portfolio.unnamed)} issues carry the tracking label but name no study ({numbers}); "
               "they were left alone.")


def _set_counts(runner: Runner, results: list[StudyResult]) -> None:
    counts = count(results)
    runner.set_output("checked", str(counts.checked))
    runner.set_output("changed-count", str(counts.changed))
    runner.set_output("failed", str(counts.failed))
    runner.set_output("untracked", str(counts.untracked))


def _report_portfolio(runner: Runner, results: list[StudyResult], settings: Settings, trigger: Trigger,
                      notes: list[str]) -> int:
    counts = count(results)
    for note in notes:
        if "name no study" in note:
            runner.warning(note)
        else:
            runner.info(note)
    for result in [r for r in results if r.status is Status.FAILED][:FAILURE_ANNOTATIONS]:
        runner.error(result.reason, title=f"factory-sync: {result.study}")
    for name in ("factory-issue-number", "factory-issue-url", "stage"):
        runner.set_output(name, "")
    runner.set_output("changed", "true" if counts.changed and not settings.dry_run else "false")
    _set_counts(runner, results)
    title = f"resync of every study in `{settings.factory_repo}` ({trigger.notice.split(':')[0]})"
    runner.summary(render_summary(results, title, settings.dry_run, notes))
    runner.notice(f"Resync: {counts.checked} studies checked, {counts.changed} "
                  f"{'would change' if settings.dry_run else 'changed'}, {counts.unchanged} unchanged, "
                  f"{counts.failed} failed, {counts.untracked} untracked")
    if counts.failed:
        runner.error(failure_message(results))
        return 1
    return 0
