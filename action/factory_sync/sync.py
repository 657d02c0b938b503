"""The action step: decide what the event asks for, then check the study (or studies) it concerns.

In a study repository an event concerns that study: read its truth, compute its tracking issue,
write only what differs (or, in mode `dispatch`, ask the Factory to do it). In the Factory
repository, `workflow_dispatch`, `schedule` and `repository_dispatch` resync one study or all.
"""

from __future__ import annotations

from factory_sync.errors import FactorySyncError
from factory_sync.event import Trigger, is_factory, parse_event, parse_factory_event
from factory_sync.github_api import connect, read_study, send_dispatch
from factory_sync.health import check_health
from factory_sync.resync import Outcome, check_study, factory_of, factory_tokens, report, resync, settle
from factory_sync.runner import Runner
from factory_sync.settings import Settings, read_settings

__all__ = ["Outcome", "main", "sync_study"]


def main() -> int:
    runner = Runner.from_process()
    try:
        return run(runner)
    except Exception as exc:  # the last resort: one clear line and a failed step, not a traceback
        runner.error(f"factory-sync stopped on an unexpected {type(exc).__name__}: {exc}. Nothing more was "
                     "written. Run the job again; if it happens again, report it with this line.")
        return 1


def run(runner: Runner) -> int:
    try:
        settings = read_settings(runner)
        in_factory = is_factory(runner.repository, settings.factory_repo)
        if settings.mode == "check":
            return check_health(settings, runner, None if in_factory else runner.repository)
        if in_factory:
            trigger = parse_factory_event(runner.event_name, runner.event(), settings.dispatch_event_type)
        else:
            trigger = parse_event(runner.event_name, runner.event(), runner.repository, settings.catalog)
        if not trigger.reconcile:
            runner.notice(trigger.notice)
            runner.set_output("changed", "false")
            return 0
        if settings.mode == "dispatch":
            return ask_the_factory(settings, trigger, in_factory, runner)
        if in_factory:
            return resync(settings, trigger, runner)
        outcome = sync_study(settings, trigger.study, runner)
    except FactorySyncError as exc:
        runner.error(str(exc))
        return 1
    report(runner, outcome, settings.dry_run)
    return 0


def sync_study(settings: Settings, study_repo: str, runner: Runner) -> Outcome:
    """The study repository's own run: its study read with the workflow's token, the Factory written
    with the App's."""
    with runner.group(f"Reading {study_repo}"):
        study = read_study(connect(settings.token, settings.api_url, waits=settings.waits), study_repo)
        runner.info(f"{len(study.issues)} stage-labelled issues")
    with factory_tokens(settings, runner) as tokens:
        factory = factory_of(tokens, settings)
        with runner.group(f"Planning the tracking issue in {settings.factory_repo}"):
            existing = (factory.issue(settings.factory_issue) if settings.factory_issue
                        else settle(factory, factory.tracking_issues(), study.repo, settings, runner))
            return check_study(study, existing, settings, factory, runner)


def ask_the_factory(settings: Settings, trigger: Trigger, in_factory: bool, runner: Runner) -> int:
    """Mode dispatch: send the Factory a repository_dispatch naming the study; the Factory's own
    workflow, which holds the App's key, reads the study and writes its tracking issue."""
    if in_factory:
        raise FactorySyncError(
            f"mode `dispatch` asks {settings.factory_repo} to resync a study, so it runs in study "
            "repositories; in the Factory itself leave `mode` at `sync`.")
    if settings.app_id is not None or settings.private_key is not None:
        runner.warning("app-id and private-key are not used in mode `dispatch`: remove them from this "
                       "workflow, so that the App's key is not exposed to it.")
    payload = {"study": trigger.study}
    runner.info(trigger.notice)
    runner.set_output("changed", "false")
    if settings.dry_run:
        runner.notice(f"Dry run: would send repository_dispatch {settings.dispatch_event_type!r} "
                      f"{payload} to {settings.factory_repo}")
        return 0
    send_dispatch(connect(settings.token, settings.api_url, waits=settings.waits), settings.factory_repo,
                  settings.dispatch_event_type, payload)
    runner.summary(f"### factory-sync\n\nAsked `{settings.factory_repo}` to resync `{trigger.study}` "
                   f"(repository_dispatch `{settings.dispatch_event_type}`).\n")
    runner.notice(f"{trigger.study}: resync requested from {settings.factory_repo}")
    return 0
