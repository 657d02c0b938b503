"""The board in a run: the Factory token minted with the board's permission, the board kept after the
tracking issues, and what the run says about it (log, annotations, job summary, exit code)."""

from __future__ import annotations

from collections.abc import Sequence

from factory_sync.app_tokens import App, InstallationTokens, MintRefused
from factory_sync.board import BoardError, ProjectRef
from factory_sync.engine import Engine
from factory_sync.factory import Factory
from factory_sync.github_client import Client
from factory_sync.inputs import Settings
from factory_sync.model import Study
from factory_sync.portfolio import StudyResult
from factory_sync.project_board import PERMISSION_HINT, PROJECT_PERMISSIONS, BoardReport, ProjectBoard, row_of
from factory_sync.report import announcer
from factory_sync.runner import Runner


def keep(engine: Engine, checked: Sequence[tuple[StudyResult, Study]], every: bool, runner: Runner) -> None:
    """Keep the board after the tracking issues: every study's row (a resync of all), or one's, from the
    progress the engine found (and its catalog, day and stall-days); retired spares' items archived."""
    board = engine.board
    if board is None:
        return
    board.catalog = engine.policy.catalog
    board.stalls = engine.today is not None and engine.stall_days > 0
    with runner.group(f"Keeping the board {board.ref.url}"):
        rows = [row for result, _ in checked
                if (row := row_of(result, engine.progress.get(result.study), board.stalls)) is not None]
        board.stage_names = tuple(dict.fromkeys(row.stage for row in rows))
        if every:
            board.keep_all(rows, engine.retired)
        else:
            board.keep_one(rows[0] if rows else None, engine.retired)


def report_board(runner: Runner, board: ProjectBoard | None) -> int:
    """The board's lines in the log and the job summary; 1 when it could not be kept, else 0."""
    if board is None:
        return 0
    report = board.report
    lines = board_lines(report, board.ref.url)
    for line in lines:
        runner.info(line)
    for warning in report.warnings:
        runner.warning(warning, title="factory-sync: project board")
    for error in report.errors:
        runner.error(error, title="factory-sync: project board")
    shown = "".join(f"- {text}\n" for text in [*lines, *report.warnings, *report.errors])
    runner.summary(f"#### Project board\n\n{shown}\n")
    return 1 if report.errors else 0


def factory_and_board(tokens: InstallationTokens, settings: Settings) -> tuple[Factory, ProjectBoard | None]:
    """The Factory writer and, when `project` is set, its board. The Factory token is then minted with
    Projects: write added; when the installation does not grant it, the tracking issues are written
    all the same and the board reports why it was not kept."""
    through = (tokens, settings.factory_repo, settings.write_interval)
    if settings.project is None:
        return Factory.through(*through), None
    refused = None
    try:
        factory = Factory.through(*through, also=PROJECT_PERMISSIONS)
    except MintRefused:
        factory = Factory.through(*through)
        refused = _refused(settings.project)
    return factory, _board(factory.client, settings, settings.project, refused)


def board_of_config(tokens: InstallationTokens, settings: Settings, project: ProjectRef,
                    factory: Factory) -> ProjectBoard:
    """The board that the Factory config names (no `project` input): the Factory token was minted before
    the config was read, so the board gets a token of its own, Projects: write and Issues: read on the
    Factory only (2 requests more a run: its mint and its revoke)."""
    try:
        client = tokens.client([settings.factory_repo], {"issues": "read", **PROJECT_PERMISSIONS},
                               writes=True, write_interval=settings.write_interval)
    except MintRefused:
        return _board(factory.client, settings, project, _refused(project))
    return _board(client, settings, project, None)


def _refused(project: ProjectRef) -> str:
    return (f"The App's installation does not grant Projects: Read and write, so the board {project.url} "
            f"cannot be kept: {PERMISSION_HINT.format(owner=project.owner)}.")


def _board(writer: Client, settings: Settings, project: ProjectRef, refused: str | None) -> ProjectBoard:
    board = ProjectBoard(writer.reader(), writer, project, settings.factory_repo, settings.catalog,
                         names=settings.board_fields, dry_run=settings.dry_run)
    board.unavailable = refused
    return board


def board_access(settings: Settings, runner: Runner, app: App, installation: int) -> str:
    """The health check's: mint the Factory token a sync would use with the board, and read the project's
    fields with it (raises BoardError with what to fix)."""
    with InstallationTokens(app, installation, announcer(runner), runner.warning) as tokens:
        _, board = factory_and_board(tokens, settings)
        assert board is not None  # settings.project is set
        if board.unavailable:
            raise BoardError(board.unavailable)
        board.stalls = True  # the default stall-days count stalls
        return board.check()


def board_lines(report: BoardReport, url: str) -> list[str]:
    """Log lines of what the run did to the board."""
    if report.dry_run:
        return [f"Dry run: would {what} on the board {url}" for what in report.dry_run]
    return [report.line(url)]
