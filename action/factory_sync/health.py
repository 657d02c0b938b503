"""`mode: check`, the health check: proves the whole setup works, end to end, and writes nothing.

It signs in as the App, finds its installation on the Factory, checks the permissions granted,
mints the narrowed token a sync would use, lists the tracking issues with it, reads the study (in
a study repository) with the workflow's token, and looks at the rate limit left. Each finding
says what to fix. Run it on a schedule in the Factory, or by hand after changing the App.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum

from factory_sync.app_tokens import App, InstallationTokens, describe_permissions
from factory_sync.board_runs import board_access
from factory_sync.errors import FactorySyncError
from factory_sync.factory import Factory
from factory_sync.github_client import Client
from factory_sync.inputs import Settings
from factory_sync.markdown import escape
from factory_sync.planner import claim
from factory_sync.report import announcer
from factory_sync.runner import Runner
from factory_sync.stages import assess
from factory_sync.study_reader import read_study
from factory_sync.tracking_block import shown_stage

NEEDED = {"issues": "write", "metadata": "read"}
CELL_LIMIT = 1000  # characters of a finding's detail in the summary table
LOW_RATE_SHARE = 0.1  # warn when less than a tenth of the hourly budget is left


class Verdict(StrEnum):
    OK = "ok"
    WARNING = "warning"
    FAILED = "failed"
    SKIPPED = "skipped"


@dataclass(frozen=True)
class Finding:
    check: str
    verdict: Verdict
    detail: str


def missing_grants(granted: dict[str, str]) -> list[str]:
    """The permissions a sync needs that the installation does not grant (write covers read)."""
    rank = {"read": 1, "write": 2, "admin": 3}
    return [f"{name}: {level}" for name, level in NEEDED.items()
            if rank.get(granted.get(name, ""), 0) < rank[level]]


def render(findings: list[Finding]) -> str:
    """The job summary: one row a check."""
    marks = {Verdict.OK: "✅", Verdict.WARNING: "⚠️", Verdict.FAILED: "❌", Verdict.SKIPPED: "⏭️"}
    rows = "\n".join(f"| {f.check} | {marks[f.verdict]} {f.verdict} | {_cell(f.detail)} |" for f in findings)
    healthy = all(f.verdict is not Verdict.FAILED for f in findings)
    verdict = "healthy" if healthy else "not healthy: fix the failed checks and run it again"
    return f"### factory-sync health check: {verdict}\n\n| Check | Result | Detail |\n|---|---|---|\n{rows}\n"


def _cell(text: str) -> str:
    return escape(text, CELL_LIMIT)


def check_health(settings: Settings, runner: Runner, app: App, reader: Client, study_repo: str | None) -> int:
    """Run every check, each one's finding in the log and the job summary; 0 when all passed."""
    findings: list[Finding] = []

    def check(name: str, step: Callable[[], str | tuple[Verdict, str]], *, needs: str | None = None) -> bool:
        if needs and any(f.check == needs and f.verdict in (Verdict.FAILED, Verdict.SKIPPED)
                         for f in findings):
            findings.append(Finding(name, Verdict.SKIPPED, f"needs {needs}"))
            return False
        try:
            outcome = step()
        except FactorySyncError as exc:
            findings.append(Finding(name, Verdict.FAILED, str(exc)))
            return False
        verdict, detail = outcome if isinstance(outcome, tuple) else (Verdict.OK, outcome)
        findings.append(Finding(name, verdict, detail))
        return verdict is not Verdict.FAILED

    with runner.group("Health check"):
        check("App sign-in", lambda: f"signed in as {app.name()!r} (app-id {settings.app_id})")
        installation: list[int] = []

        def find_installation() -> str:
            installation.append(settings.installation_id or app.installation_id(settings.factory_repo))
            return f"installation {installation[0]} covers {settings.factory_repo}"

        check("Installation", find_installation, needs="App sign-in")

        def permissions() -> str | tuple[Verdict, str]:
            granted = app.grants(installation[0])
            missing = missing_grants(granted)
            shown = describe_permissions(granted)
            if missing:
                return Verdict.FAILED, (f"the installation grants {shown or 'nothing'}; it lacks "
                                        f"{', '.join(missing)}: give the App these repository permissions "
                                        "and accept them on the installation")
            return f"granted {shown}"

        check("Permissions", permissions, needs="Installation")
        check("Factory access", lambda: factory_access(settings, runner, app, installation[0], study_repo),
              needs="Permissions")
        if settings.project is not None:
            check("Project board", lambda: board_access(settings, runner, app, installation[0]),
                  needs="Installation")
        if study_repo is None:
            findings.append(Finding("Study access", Verdict.SKIPPED, "run in the Factory: no study to read"))
        else:
            check("Study access", lambda: study_access(settings, reader, study_repo))
    for finding in findings:
        runner.info(f"{finding.check}: {finding.verdict} ({finding.detail})")
        if finding.verdict is Verdict.FAILED:
            runner.error(f"{finding.check}: {finding.detail}", title="factory-sync health check")
    healthy = all(f.verdict is not Verdict.FAILED for f in findings)
    runner.summary(render(findings))
    runner.set_output("healthy", "true" if healthy else "false")
    return 0 if healthy else 1


def factory_access(settings: Settings, runner: Runner, app: App, installation: int,
                   study_repo: str | None) -> str | tuple[Verdict, str]:
    """Mint the token a sync would use, list the tracking issues with it, and read its rate limit."""
    with InstallationTokens(app, installation, announcer(runner), runner.warning) as tokens:
        factory = Factory.through(tokens, settings.factory_repo, settings.tracking_label,
                                  settings.write_interval)
        issues = factory.tracking_issues()
        found = f"{len(issues)} tracking issues labelled {settings.tracking_label!r}"
        if study_repo is not None:
            tracking = claim(issues, study_repo).keep
            found += f"; {study_repo} is tracked by #{tracking.number}" if tracking else (
                f"; none tracks {study_repo} yet (a sync creates one)")
        core = factory.rate_limit()
    budget = f"{core[0]} of {core[1]} requests left this hour"
    if core[0] < core[1] * LOW_RATE_SHARE:
        return Verdict.WARNING, f"{found}; only {budget}"
    return f"{found}; {budget}"


def study_access(settings: Settings, reader: Client, study_repo: str) -> str:
    study = read_study(reader, study_repo, trust_authors=settings.trust_authors)
    progress = assess(study, settings.catalog)
    return f"{len(study.issues)} stage-labelled issues in {study.repo}; stage: {shown_stage(progress)}"
