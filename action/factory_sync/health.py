"""`mode: check`, the health check: proves the whole setup works, end to end, and writes nothing.

It signs in as the App, finds its installation on the Factory, checks the permissions granted
(issues, and contents for the config files), mints the narrowed token a sync would use, reads the
Factory config and lists the tracking issues with it, shows each setting that applies and where it
came from, and looks at the rate limit left. In a study repository it reads the study with the
workflow's token and lists the catalog's stage labels the repository lacks, each with the command
that adds it (label_checklist). Each finding says what to fix. Run it on a schedule in the Factory,
or by hand after changing the App or adding a study.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from enum import StrEnum

from factory_sync.app_tokens import App, InstallationTokens, describe_permissions
from factory_sync.board_runs import board_access
from factory_sync.errors import FactorySyncError
from factory_sync.factory import WRITE_PERMISSIONS, Factory
from factory_sync.factory_config import Applied, Catalogs, ConfigError, applied_settings
from factory_sync.github_client import Client
from factory_sync.inputs import Settings
from factory_sync.label_checklist import LabelGap, checklist, describe_gaps, label_gaps
from factory_sync.markdown import escape, fenced
from factory_sync.model import Study
from factory_sync.planner import claim
from factory_sync.report import announcer
from factory_sync.runner import Runner
from factory_sync.stages import Catalog, assess
from factory_sync.study_reader import read_study
from factory_sync.tracking_block import shown_stage

NEEDED = {**WRITE_PERMISSIONS, "metadata": "read"}  # GitHub grants metadata with any other permission
# Where each needed permission is set: the App's settings > Permissions & events > Repository permissions.
GRANT_FIXES = {"issues": "Issues: Read and write", "metadata": "Metadata: Read-only",
               "contents": "Contents: Read-only (it reads the Factory config and the studies' own catalogs)"}
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


@dataclass
class Found:
    """What the checks found, for the checks after them and the summary."""

    installation: int = 0
    config: str | None = None  # the Factory config's text; None: the Factory has none
    applied: Applied | None = None  # the settings that apply, once the Settings check passed
    read: Applied | ConfigError | None = None  # what Factory access made of the config, for Settings
    study: Study | None = None
    catalog: tuple[Catalog, str] | None = None  # the study's catalog and where it came from
    gaps: list[LabelGap] = field(default_factory=list)  # the stage labels the study repository lacks


class Checks:
    """The findings so far; a check runs only when the checks it needs passed."""

    def __init__(self) -> None:
        self.findings: list[Finding] = []

    def run(self, name: str, step: Callable[[], str | tuple[Verdict, str]],
            needs: Sequence[str] = ()) -> None:
        unmet = [need for need in needs if not any(
            f.check == need and f.verdict in (Verdict.OK, Verdict.WARNING) for f in self.findings)]
        if unmet:
            self.skip(name, f"needs {', '.join(unmet)}")
            return
        try:
            outcome = step()
        except FactorySyncError as exc:
            self.findings.append(Finding(name, Verdict.FAILED, str(exc)))
            return
        verdict, detail = outcome if isinstance(outcome, tuple) else (Verdict.OK, outcome)
        self.findings.append(Finding(name, verdict, detail))

    def skip(self, name: str, why: str) -> None:
        self.findings.append(Finding(name, Verdict.SKIPPED, why))


def missing_grants(granted: dict[str, str]) -> dict[str, str]:
    """The permissions a sync needs that the installation does not grant (write covers read)."""
    rank = {"read": 1, "write": 2, "admin": 3}
    return {name: level for name, level in NEEDED.items() if rank.get(granted.get(name, ""), 0) < rank[level]}


def grant_fix(missing: dict[str, str]) -> str:
    """How an admin gives the App the permissions it lacks."""
    wanted = ", ".join(GRANT_FIXES[name] for name in sorted(missing))
    return (f"in the App's settings → Permissions & events → Repository permissions, set {wanted}; then an "
            "organization owner accepts the new permissions on the installation (Organization settings → "
            "GitHub Apps → the App → Review request)")


def render(findings: list[Finding]) -> str:
    """The job summary: one row a check."""
    marks = {Verdict.OK: "✅", Verdict.WARNING: "⚠️", Verdict.FAILED: "❌", Verdict.SKIPPED: "⏭️"}
    rows = "\n".join(f"| {f.check} | {marks[f.verdict]} {f.verdict} | {_cell(f.detail)} |" for f in findings)
    healthy = all(f.verdict is not Verdict.FAILED for f in findings)
    verdict = "healthy" if healthy else "not healthy: fix the failed checks and run it again"
    return f"### factory-sync health check: {verdict}\n\n| Check | Result | Detail |\n|---|---|---|\n{rows}\n"


def setting_lines(found: Found) -> list[str]:
    """Each setting that applies and where it came from; the study's own catalog, when it has one."""
    if found.applied is None:
        return []
    lines = found.applied.lines()
    if found.study is not None and found.catalog is not None and found.catalog[0] != found.applied.catalog:
        catalog, source = found.catalog
        stages = ", ".join(stage.label for stage in catalog.stages)
        lines.append(f"for {found.study.repo}: stage catalog ({len(catalog.stages)} stages: {stages}) from "
                     f"{source}, which applies to it instead")
    return lines


def render_details(found: Found, study_repo: str | None) -> str:
    """The summary's sections after the table: the settings that apply, the label commands to run."""
    text = ""
    if lines := setting_lines(found):
        text += "\n#### Settings that apply\n\n" + "".join(f"- {_cell(line)}\n" for line in lines)
    if found.gaps and study_repo is not None:
        text += (f"\n#### Stage labels for {escape(study_repo)}\n\nRun these with a token that can "
                 "write the repository's labels:\n\n" + fenced("\n".join(checklist(found.gaps, study_repo)),
                                                               "sh") + "\n")
    return text


def _cell(text: str) -> str:
    return escape(text, CELL_LIMIT)


def check_health(settings: Settings, runner: Runner, app: App, reader: Client, study_repo: str | None) -> int:
    """Run every check, each one's finding in the log and the job summary; 0 when all passed."""
    checks, found = Checks(), Found()
    with runner.group("Health check"):
        checks.run("App sign-in", lambda: f"signed in as {app.name()!r} (app-id {settings.app_id})")
        checks.run("Installation", lambda: find_installation(settings, app, found), needs=["App sign-in"])
        checks.run("Permissions", lambda: permissions(app, found.installation), needs=["Installation"])
        checks.run("Factory access", lambda: factory_access(settings, runner, app, found, study_repo),
                   needs=["Permissions"])
        checks.run("Settings", lambda: settings_applied(settings, found), needs=["Factory access"])
        project = found.applied.project if found.applied is not None else settings.project
        if project is not None:  # the input's, or the Factory config's
            board_settings = replace(settings, project=project)
            checks.run("Project board", lambda: board_access(board_settings, runner, app, found.installation),
                       needs=["Installation"])
        if study_repo is None:
            checks.skip("Study access", "run in the Factory: no study to read")
            checks.skip("Stage labels", "run in a study repository: its labels are checked there")
        else:
            checks.run("Study access", lambda: study_access(settings, reader, study_repo, found))
            checks.run("Stage labels", lambda: stage_labels(found), needs=["Study access", "Settings"])
    return report(runner, checks.findings, found, study_repo)


def report(runner: Runner, findings: list[Finding], found: Found, study_repo: str | None) -> int:
    """Each finding in the log (a failed one as an error), the summary, the output; 0 when healthy."""
    for finding in findings:
        runner.info(f"{finding.check}: {finding.verdict} ({finding.detail})")
        if finding.verdict is Verdict.FAILED:
            runner.error(f"{finding.check}: {finding.detail}", title="factory-sync health check")
    for line in setting_lines(found):
        runner.info(f"- {line}")
    if found.gaps and study_repo is not None:
        runner.info("The commands that give the study repository its stage labels:")
        for line in checklist(found.gaps, study_repo):
            runner.info(f"  {line}")
    healthy = all(f.verdict is not Verdict.FAILED for f in findings)
    runner.summary(render(findings) + render_details(found, study_repo))
    runner.set_output("healthy", "true" if healthy else "false")
    return 0 if healthy else 1


def find_installation(settings: Settings, app: App, found: Found) -> str:
    found.installation = settings.installation_id or app.installation_id(settings.factory_repo)
    return f"installation {found.installation} covers {settings.factory_repo}"


def permissions(app: App, installation: int) -> str | tuple[Verdict, str]:
    granted = app.grants(installation)
    missing = missing_grants(granted)
    shown = describe_permissions(granted)
    if missing:
        return Verdict.FAILED, (f"the installation grants {shown or 'nothing'}; it lacks "
                                f"{describe_permissions(missing)}: {grant_fix(missing)}")
    return f"granted {shown}"


def factory_access(settings: Settings, runner: Runner, app: App, found: Found,
                   study_repo: str | None) -> str | tuple[Verdict, str]:
    """Mint the token a sync would use, read the Factory config and list the tracking issues with it,
    and read its rate limit."""
    with InstallationTokens(app, found.installation, announcer(runner), runner.warning) as tokens:
        factory = Factory.through(tokens, settings.factory_repo, settings.write_interval)
        found.config = factory.file(settings.portfolio.config_path)
        try:
            found.read = applied_settings(found.config, settings.factory_repo, settings.portfolio,
                                          settings.project)
        except ConfigError as exc:  # the Settings check reports it; list with the input's label
            found.read = exc
        label = found.read.tracking_label if isinstance(found.read, Applied) else settings.tracking_label
        issues = factory.tracking_issues(label)
        found_text = f"{len(issues)} tracking issues labelled {label!r}"
        if study_repo is not None:
            tracking = claim(issues, study_repo).keep
            found_text += f"; {study_repo} is tracked by #{tracking.number}" if tracking else (
                f"; none tracks {study_repo} yet (a sync creates one)")
        core = factory.rate_limit()
    budget = f"{core[0]} of {core[1]} requests left this hour"
    if core[0] < core[1] * LOW_RATE_SHARE:
        return Verdict.WARNING, f"{found_text}; only {budget}"
    return f"{found_text}; {budget}"


def settings_applied(settings: Settings, found: Found) -> str:
    """The settings the Factory config, the inputs and the defaults make; a config with a mistake fails."""
    if isinstance(found.read, ConfigError):
        raise found.read
    found.applied = found.read
    given = settings.portfolio
    read = (f"read {given.config_path} in {settings.factory_repo}" if found.config is not None else
            f"{settings.factory_repo} has no {given.config_path}: the inputs and the defaults apply")
    return f"{read}; each setting and where it came from are listed after the checks"


def study_access(settings: Settings, reader: Client, study_repo: str, found: Found) -> str:
    study = read_study(reader, study_repo, trust_authors=settings.trust_authors)
    given = settings.portfolio
    found.study = study
    found.catalog = (Catalogs(found.applied, given.stages, given.stages_path).of(study)
                     if found.applied is not None else (settings.catalog, "the inputs"))
    progress = assess(study, found.catalog[0])
    return f"{len(study.issues)} stage-labelled issues in {study.repo}; stage: {shown_stage(progress)}"


def stage_labels(found: Found) -> str | tuple[Verdict, str]:
    """The catalog's labels the study repository lacks: a warning, since a study works before they exist."""
    assert found.study is not None and found.catalog is not None
    catalog, source = found.catalog
    found.gaps = label_gaps(catalog, found.study.stage_labels)
    detail = describe_gaps(found.gaps, len(catalog.stages), source)
    return (Verdict.WARNING, detail) if any(gap.existing is None for gap in found.gaps) else detail
