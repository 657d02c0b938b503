"""The portfolio at a glance, in a run: the Factory config applied to the engine, and after a resync of
every study the stalled studies' warnings, the dashboard issue, the chart in the job summary and the
export. The pure parts live in factory_config, stall, dashboard and export; this is their edge."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, date, datetime

from factory_sync.board_runs import report_board
from factory_sync.dashboard import (
    DASHBOARD_TITLE,
    Entry,
    counts_section,
    entries_of,
    plan_dashboard,
    render_dashboard,
    room_for,
)
from factory_sync.engine import Engine
from factory_sync.export import Record, write_export
from factory_sync.factory import Factory
from factory_sync.factory_config import Applied, Catalogs, applied_settings
from factory_sync.inputs import Settings
from factory_sync.model import Study
from factory_sync.portfolio import StudyResult, WriteBudget
from factory_sync.project_board import ProjectBoard
from factory_sync.report import report_study
from factory_sync.runner import Runner

STALLED_ANNOTATIONS = 20  # stalled studies shown as warning annotations; the log and summary list all


def today() -> date:
    """The runner's day (UTC): what time in stage is counted to."""
    return datetime.now(UTC).date()


def read_config(factory: Factory, settings: Settings, runner: Runner) -> Applied:
    """Read the Factory's config file (one request, with the Factory's token): the settings that apply,
    and where each came from. A file with a mistake stops the run before any write."""
    given = settings.portfolio
    text = factory.file(given.config_path)
    applied = applied_settings(text, settings.factory_repo, given, settings.project)
    runner.info(f"{given.config_path} in {settings.factory_repo}: "
                f"{'read' if text is not None else 'none (the defaults and inputs apply)'}")
    for line in applied.lines():
        runner.info(f"- {line}")
    return applied


def configured_engine(factory: Factory, settings: Settings, applied: Applied, runner: Runner,
                      board: ProjectBoard | None, budget: WriteBudget) -> Engine:
    """The engine of a run, under the settings that apply: the catalogs, stall-days, the tracking label,
    time in stage counted to the runner's day."""
    policy = replace(settings.policy, catalog=applied.catalog, tracking_label=applied.tracking_label)
    catalogs = Catalogs(applied, settings.portfolio.stages, settings.portfolio.stages_path)
    return Engine(factory, policy, runner, settings.dry_run, board, budget, catalogs, today(),
                  applied.stall_days)


def report_stalled(runner: Runner, engine: Engine, results: Sequence[StudyResult],
                   every: bool) -> list[Entry]:
    """Warn of each stalled study; output `stalled`: their number (a resync of every study) or
    true/false (one study)."""
    entries = entries_of(results, engine.progress)
    stalled = [entry for entry in entries if entry.stalled]
    for index, entry in enumerate(sorted(stalled, key=lambda e: e.study.lower())):
        assert entry.time is not None and entry.time.entered is not None
        line = (f"{entry.study} has been in {entry.stage} since {entry.time.entered:%Y-%m-%d}: stalled since "
                f"{entry.time.stalled_since} (stall-days {engine.stall_days})")
        if index < STALLED_ANNOTATIONS:
            runner.warning(line, title="factory-sync: stalled study")
        else:
            runner.info(line)
    runner.set_output("stalled", str(len(stalled)) if every else ("true" if stalled else "false"))
    return entries


def report_one(runner: Runner, engine: Engine, result: StudyResult, dry_run: bool) -> int:
    """The report of a run that checked one study: its summary, whether it is stalled, its board row.
    Returns the exit code."""
    report_study(runner, result, dry_run)
    report_stalled(runner, engine, [result], every=False)
    return report_board(runner, engine.board)


def after_resync(engine: Engine, settings: Settings, results: Sequence[StudyResult], read: dict[str, Study],
                 runner: Runner) -> None:
    """After a resync of every study: stalled warnings, the chart in the job summary, the dashboard
    issue (input dashboard-label) and the export (input export-dir)."""
    assert engine.catalogs is not None and engine.today is not None
    applied = engine.catalogs.applied
    entries = report_stalled(runner, engine, results, every=True)
    order = [stage.name for stage in applied.catalog.stages]
    runner.summary("#### Studies by stage\n\n" + "\n".join(counts_section(entries, order, applied.stall_days))
                   + "\n")
    runner.set_output("dashboard-issue-number", "")
    if applied.dashboard_label:
        keep_dashboard(engine, entries, order, applied.dashboard_label, settings.run_url, runner)
    if settings.portfolio.export_dir:
        records = [Record(result, read.get(result.study), engine.progress.get(result.study))
                   for result in results]
        paths = write_export(settings.portfolio.export_dir, records, engine.today, applied.stall_days)
        runner.info(f"Exported {len(records)} studies to {', '.join(str(path) for path in paths)}")
        runner.set_output("export-dir", settings.portfolio.export_dir)


def keep_dashboard(engine: Engine, entries: list[Entry], order: list[str], label: str, run_url: str | None,
                   runner: Runner) -> None:
    """The one open issue labelled `label`, its block rewritten only when it differs (people's text
    around it kept); created when there is none. One request when nothing changed."""
    assert engine.today is not None
    factory = engine.factory
    found = factory.labelled(label)
    existing = found[0] if found else None
    if len(found) > 1:
        others = ", ".join(f"#{issue.number}" for issue in found[1:])
        runner.warning(f"Several open issues carry the label {label!r}; #{found[0].number} is kept as the "
                       f"portfolio dashboard and {others} left alone: close them or remove the label.")
    body = existing.body if existing is not None else None
    block = render_dashboard(entries, order, engine.today, engine.stall_days, run_url, room_for(body))
    wanted = plan_dashboard(body, block)
    where = f"#{existing.number}" if existing is not None else "a new issue"
    if not wanted.changed or wanted.body is None:
        runner.info(f"Portfolio dashboard {where}: unchanged")
    elif engine.dry_run:
        runner.info(f"Dry run: would write the portfolio dashboard ({where})")
    elif engine.budget.spent:
        runner.notice(f"Portfolio dashboard ({where}) left for the next run: this run's write budget is "
                      "spent")
    elif existing is None:
        engine.budget.spend()
        existing = factory.create(DASHBOARD_TITLE, wanted.body, [label])
        runner.info(f"Portfolio dashboard created: #{existing.number}")
    else:
        engine.budget.spend()
        existing = factory.update(existing.number, wanted.body, list(existing.labels))
        runner.info(f"Portfolio dashboard #{existing.number} updated")
    runner.set_output("dashboard-issue-number", str(existing.number) if existing is not None else "")
