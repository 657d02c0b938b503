"""The action step: read the study's truth, compute its tracking issue, write only what differs."""

from __future__ import annotations

import contextlib
import difflib
from collections.abc import Iterator
from dataclasses import dataclass

from github import Github

from factory_sync.errors import FactorySyncError
from factory_sync.event import parse_event
from factory_sync.github_api import App, Factory, connect, read_study
from factory_sync.reconcile import Action, Plan, TrackingIssue, find_tracking_issue, plan
from factory_sync.runner import Runner
from factory_sync.settings import Settings, read_settings
from factory_sync.stage import assess

FACTORY_PERMISSIONS = {"issues": "write"}


@dataclass(frozen=True)
class Outcome:
    study: str
    plan: Plan
    issue: TrackingIssue | None  # as it stands after the run (None: missing, not created)
    changed: bool


def main() -> int:
    runner = Runner.from_process()
    try:
        settings = read_settings(runner)
        trigger = parse_event(runner.event_name, runner.event(), runner.repository, settings.catalog)
        if not trigger.reconcile:
            runner.notice(trigger.notice)
            runner.set_output("changed", "false")
            return 0
        outcome = sync_study(settings, trigger.study, runner)
    except FactorySyncError as exc:
        runner.error(str(exc))
        return 1
    report(runner, outcome, settings.dry_run)
    return 0


def sync_study(settings: Settings, study_repo: str, runner: Runner) -> Outcome:
    with runner.group(f"Reading {study_repo}"):
        study = read_study(connect(settings.token, settings.api_url), study_repo)
        progress = assess(study, settings.catalog)
        runner.info(f"{len(study.issues)} stage-labelled issues")
        for label in progress.unknown_labels:
            runner.warning(f"{study.repo} uses the label {label!r}, which is not in the stage catalog; "
                           "it is listed as unknown. Add it to the `stages` file or rename the label.",
                           title="Unknown stage label")
    with factory_client(settings, runner) as gh:
        factory = Factory(gh, settings.factory_repo, settings.tracking_label)
        with runner.group(f"Planning the tracking issue in {settings.factory_repo}"):
            existing = (factory.issue(settings.factory_issue) if settings.factory_issue
                        else find_tracking_issue(factory.tracking_issues(), study.repo))
            wanted = plan(study, progress, settings.catalog, existing, settings.run_url,
                          settings.create_missing, settings.tracking_label)
            for change in wanted.changes:
                runner.info(f"- {change}")
        if settings.dry_run:
            show_diff(runner, existing, wanted)
            return Outcome(study.repo, wanted, existing, changed=False)
        written = wanted.action in (Action.CREATE, Action.UPDATE)
        return Outcome(study.repo, wanted, apply(factory, wanted, existing), changed=written)


@contextlib.contextmanager
def factory_client(settings: Settings, runner: Runner) -> Iterator[Github]:
    """A client on a token that can only write issues in the Factory; revoked however the step ends."""
    app = App(settings.app_id, settings.private_key, settings.api_url)
    installation = settings.installation_id or app.installation_id(settings.factory_repo)
    token = app.mint(installation, [settings.factory_repo], FACTORY_PERMISSIONS)
    runner.mask(token.value)
    runner.info(f"Installation token for {settings.factory_repo} "
                f"({', '.join(f'{k}: {v}' for k, v in sorted(token.permissions.items()))}), "
                f"expires {token.expires_at}")
    try:
        yield connect(token.value, settings.api_url, writes=True)
    finally:
        try:
            app.revoke(token.value)
        except FactorySyncError as exc:  # it expires within the hour anyway; say so, don't hide it
            runner.warning(f"{exc} The token expires by itself at {token.expires_at}.")


def apply(factory: Factory, wanted: Plan, existing: TrackingIssue | None) -> TrackingIssue | None:
    if wanted.action == Action.CREATE:
        return factory.create(wanted.title, wanted.body, wanted.labels)
    if wanted.action == Action.UPDATE:
        return factory.update(wanted.number, wanted.body, wanted.labels)
    return existing


def show_diff(runner: Runner, existing: TrackingIssue | None, wanted: Plan) -> None:
    before = (existing.body if existing else "").splitlines(keepends=True)
    after = (wanted.body or "").splitlines(keepends=True)
    diff = "".join(difflib.unified_diff(before, after, "tracking issue (now)", "tracking issue (planned)"))
    with runner.group("Dry run: the planned body (nothing was written)"):
        runner.info(diff or "(no change)")
    runner.summary(f"#### Planned change (dry run)\n\n```diff\n{diff or '(no change)'}\n```\n")


def report(runner: Runner, outcome: Outcome, dry_run: bool) -> None:
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
