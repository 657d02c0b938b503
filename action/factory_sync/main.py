"""The action step: read the inputs, decide what the event asks for, wire the collaborators together
and hand over to the engine, the resync or the health check.

In a study repository an event concerns that study: read its truth, compute its tracking issue,
write only what differs (or, in mode `dispatch`, ask the Factory to do it). In the Factory,
`workflow_dispatch`, `schedule` and `repository_dispatch` resync one study or all.
"""

from __future__ import annotations

import traceback
from collections.abc import Iterator
from contextlib import contextmanager

from factory_sync.app_tokens import App, InstallationTokens
from factory_sync.board_runs import board_of_config, factory_and_board, keep
from factory_sync.cancel import Cancelled, cancellable
from factory_sync.engine import Engine
from factory_sync.errors import FactorySyncError
from factory_sync.events import Trigger, is_factory, parse_factory_event, parse_study_event
from factory_sync.factory import send_dispatch
from factory_sync.github_client import Client, connect
from factory_sync.health import check_health
from factory_sync.inputs import Mode, Settings, read_settings
from factory_sync.portfolio import WriteBudget
from factory_sync.portfolio_run import configured_engine, read_config, report_one
from factory_sync.report import announcer
from factory_sync.resync import resync
from factory_sync.runner import Runner
from factory_sync.study_reader import read_study


def main() -> int:
    runner = Runner.from_process()
    try:
        with cancellable():
            return run(runner)
    except Cancelled:
        runner.error("factory-sync was cancelled; its installation tokens were revoked.")
        return 1
    except Exception as exc:  # the last resort: one clear line and a failed step, not a traceback
        if runner.debug_enabled:
            for line in traceback.format_exc().splitlines():
                runner.debug(line)
        runner.error(f"factory-sync stopped on an unexpected {type(exc).__name__}: {exc}. Nothing more was "
                     "written. Run the job again; if it happens again, report it with this line.")
        return 1


def run(runner: Runner) -> int:
    try:
        settings = read_settings(runner)
        in_factory = is_factory(runner.repository, settings.factory_repo)
        given = connect(settings.token, settings.api_url, waits=settings.waits)  # the `token` input
        if settings.mode is Mode.CHECK:
            return check_health(settings, runner, app_of(settings), given,
                                None if in_factory else runner.repository)
        trigger = (parse_factory_event(runner.event_name, runner.event(), settings.dispatch_event_type)
                   if in_factory else
                   parse_study_event(runner.event_name, runner.event(), runner.repository,
                                     settings.catalog, settings.dispatch_event_type))
        if not trigger.reconcile:
            runner.notice(trigger.notice)
            runner.set_output("changed", "false")
            return 0
        if settings.mode is Mode.DISPATCH:
            return ask_the_factory(settings, trigger, in_factory, runner, given)
        if in_factory:
            with installation_tokens(settings, runner) as tokens:
                return resync(settings, trigger, runner, tokens, engine_of(tokens, settings, runner, True))
        assert trigger.study is not None
        with runner.group(f"Reading {trigger.study}"):  # with the workflow's token, before any App token
            study = read_study(given, trigger.study, trust_authors=settings.trust_authors)
            runner.info(f"{len(study.issues)} stage-labelled issues")
        with installation_tokens(settings, runner) as tokens:
            engine = engine_of(tokens, settings, runner, False)
            with runner.group(f"Planning the tracking issue in {settings.factory_repo}"):
                result = engine.check(study, engine.tracking_issue(study.repo, settings.factory_issue))
            keep(engine, [(result, study)], every=False, runner=runner)
    except FactorySyncError as exc:
        runner.error(str(exc))
        return 1
    return report_one(runner, engine, result, settings.dry_run)


def app_of(settings: Settings) -> App:
    assert settings.app_id is not None and settings.private_key is not None  # inputs: not in mode dispatch
    return App(settings.app_id, settings.private_key, settings.api_url, settings.waits)


@contextmanager
def installation_tokens(settings: Settings, runner: Runner) -> Iterator[InstallationTokens]:
    """The App's installation tokens for this run: masked as soon as minted, revoked however it ends."""
    app = app_of(settings)
    installation = settings.installation_id or app.installation_id(settings.factory_repo)
    with InstallationTokens(app, installation, announcer(runner), runner.warning) as tokens:
        yield tokens


def engine_of(tokens: InstallationTokens, settings: Settings, runner: Runner, in_factory: bool) -> Engine:
    """The engine of this run; in the Factory, a resync's, its writes within the write budget."""
    factory, board = factory_and_board(tokens, settings)
    applied = read_config(factory, settings, runner)  # with the Factory's token
    if board is None and applied.project is not None:
        board = board_of_config(tokens, settings, applied.project, factory)
    budget = WriteBudget(settings.write_budget if in_factory else None)
    return configured_engine(factory, settings, applied, runner, board, budget)


def ask_the_factory(settings: Settings, trigger: Trigger, in_factory: bool, runner: Runner,
                    client: Client) -> int:
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
    send_dispatch(client, settings.factory_repo, settings.dispatch_event_type, payload)
    runner.summary(f"### factory-sync\n\nAsked `{settings.factory_repo}` to resync `{trigger.study}` "
                   f"(repository_dispatch `{settings.dispatch_event_type}`).\n")
    runner.notice(f"{trigger.study}: resync requested from {settings.factory_repo}")
    return 0
