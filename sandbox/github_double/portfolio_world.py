"""A portfolio world for benchmarks: an `ohdsi-bench` organisation with a Factory and N studies.

Seeded: the same (n, seed) on the same day of the world's clock always builds the same world. Each
study has gone through some of the six default stages, with one to three issues per stage reached,
labelled and closed at increasing backdated times, a few of them reopened, plus issues, pull requests
and labels that are not about stages; about 3% of the studies also use a `stage:` label outside the
catalog. Each study's history is then moved by whole days so that its latest stage activity was 1
to 14 days before the world's today (its other issues no later): whatever the day the world is
built, some studies are on track in their stage and the others stalled (21 days or more in it).

Besides the n studies, `Study<n+1>` has just begun (an open base-camp issue, 10 days old) and no
tracking issue: a resync with `discover: true` and `create-missing: false` shows it untracked; the
other resyncs do not read it.

The Factory holds one tracking issue per study as the old Factory workflow wrote it (a
`**Repository:**` line, a status line, the study lead), so a first resync adopts every one of them;
Factory issue #i tracks study i, opened when the study began (one after another over 900 days from
2021, Study0001 first, before its history was moved). It also holds `factory-config.yml`, which that
workflow read for every study. The App is installed on the whole organisation, which has a project
"Factory portfolio" (number 1) with only GitHub's default fields, no items yet.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta

from github_double.demo_world import PORTFOLIO_PROJECT, STAGE_LABELS, generate_private_key, public_key_of
from github_double.projects import add_project
from github_double.world import WORKFLOW_ACTOR, Clock, Repository, TimelineEvent, World, utc

OWNER = "ohdsi-bench"
FACTORY_REPO = f"{OWNER}/Factory"
APP_ID = 1
INSTALLATION_ID = 100
# contents is for the Factory's config file (the old workflow read one; a test may commit one);
# organization_projects is the Factory board's.
PERMISSIONS = {"issues": "write", "metadata": "read", "contents": "write", "organization_projects": "write"}
TRACKING_LABEL = "study-tracking"
CONFIG_PATH = "factory-config.yml"

STAGE_NAMES = ["Base Camp", "Protocol Development", "Phenotype Development", "Analysis Specifications",
               "Network Execution", "Results Evaluation"]
NOT_STARTED = "Not started"
# How many stages a study has reached (0 to 6): most are early on, a tenth have reached the last.
REACHED_WEIGHTS = (5, 15, 20, 20, 15, 15, 10)
UNKNOWN_SHARE = 0.03
UNKNOWN_STAGE_LABELS = ["stage:feasibility", "stage:on-hold", "stage:publication"]
OTHER_LABELS = [("bug", "d73a4a"), ("documentation", "0075ca"), ("question", "d876e3"),
                ("help wanted", "008672"), ("data partner", "1d76db")]
LEADS = ["amara-lead", "bo-chen", "carla-r", "dev-patel", "eun-ji", "farid-h", "greta-n", "hiro-t"]
HISTORY_START = utc(2021, 1, 4, 9)
HISTORY_MINUTES = 900 * 24 * 60  # the studies began one after another over 900 days, Study0001 first
RECENT_DAYS = 14  # a study's latest stage activity was 1 to this many days before the world's today
UNTRACKED_AGE_DAYS = 10  # the untracked study's base-camp issue was opened this many days ago

CONFIG = "# Read by the Factory updater workflow for every study.\ntracking_label: study-tracking\nstages:\n"
CONFIG += "".join(f'  - label: "{label}"\n    name: {name}\n'
                  for (label, _, _), name in zip(STAGE_LABELS, STAGE_NAMES, strict=True))


def study_repo(number: int) -> str:
    return f"{OWNER}/Study{number:04d}"


def old_tracking_body(study: str, status: str, lead: str) -> str:
    """A tracking issue body as the old Factory workflow wrote it."""
    return (f"**Repository:** https://github.com/{study}\n**Status:** {status}\n\n"
            f"Study lead: {lead}. Notes from the Factory team go here.\n")


@dataclass
class _IssueSpec:
    """An issue to import; gathered first, so that numbers follow creation times as on GitHub."""

    title: str
    user: str
    created_at: datetime
    labels: list[str]
    events: list[tuple[str, datetime]] = field(default_factory=list)  # closed / reopened, in order
    is_pull_request: bool = False


def build_portfolio_world(n: int, seed: int = 1, private_key: str | None = None,
                          clock: Clock | None = None) -> tuple[World, str]:
    """The portfolio world with n studies, and the App's PEM private key (the given one, or a new one)."""
    pem = private_key or generate_private_key()
    rng = random.Random(seed)  # noqa: S311 - a reproducible history, not a secret
    world = World(clock)
    world.users.update({OWNER: "Organization", **dict.fromkeys(LEADS, "User")})
    world.add_app(APP_ID, public_key_of(pem), owner=OWNER)
    factory = world.add_repo(FACTORY_REPO, private=True)
    _stage_labels(world, factory)
    world.ensure_label(factory, TRACKING_LABEL, "5319e7", "Tracks one study's progress through the stages")
    factory.files[CONFIG_PATH] = CONFIG.encode()
    unknown = set(rng.sample(range(1, n + 1), max(1, round(n * UNKNOWN_SHARE)))) if n else set()
    today = world.clock.now().date()
    recent = random.Random(f"recent-{seed}")  # noqa: S311 - its own, so that the histories stay as they were
    for number in range(1, n + 1):
        study, lead = study_repo(number), rng.choice(LEADS)
        began = HISTORY_START + timedelta(minutes=HISTORY_MINUTES * (number - 1) // n)
        repo = world.add_repo(study)
        _stage_labels(world, repo)
        for name, color in OTHER_LABELS:
            world.ensure_label(repo, name, color)
        reached = rng.choices(range(len(REACHED_WEIGHTS)), weights=REACHED_WEIGHTS)[0]
        stage_issues = _stage_issues(rng, reached, began, lead)
        others = _other_issues(rng, began, lead, number in unknown)
        _move_to(stage_issues, others, today - timedelta(days=recent.randint(1, RECENT_DAYS)))
        for spec in sorted(stage_issues + others, key=lambda s: s.created_at):
            _import(world, repo, spec)
        status = STAGE_NAMES[reached - 1] if reached else NOT_STARTED
        labels = [TRACKING_LABEL, *([STAGE_LABELS[reached - 1][0]] if reached else [])]
        world.import_issue(factory, repo.name, old_tracking_body(study, status, lead), WORKFLOW_ACTOR,
                           created_at=began, labels=labels, number=number)
    if n:
        _untracked_study(world, study_repo(n + 1), LEADS[n % len(LEADS)], today)
    world.add_installation(APP_ID, OWNER, None, PERMISSIONS, installation_id=INSTALLATION_ID)
    add_project(world, OWNER, PORTFOLIO_PROJECT, number=1, creator=LEADS[0])
    return world, pem


def _move_to(stage_issues: list[_IssueSpec], others: list[_IssueSpec], day: date) -> None:
    """Move every issue and event by whole days, so that the latest moment of the stage issues (of all
    of them, when there are none) falls on `day`; other issues that would then come later go back
    further, to that day."""
    latest = _latest(stage_issues or others)
    if latest is None:
        return
    shift = timedelta(days=(day - latest.date()).days)
    for spec in stage_issues + others:
        _shift(spec, shift)
    for spec in others:
        if (late := (_latest([spec]).date() - day).days) > 0:
            _shift(spec, timedelta(days=-late))


def _latest(specs: list[_IssueSpec]) -> datetime | None:
    return max([spec.created_at for spec in specs] + [moment for spec in specs for _, moment in spec.events],
               default=None)


def _shift(spec: _IssueSpec, by: timedelta) -> None:
    spec.created_at += by
    spec.events = [(kind, moment + by) for kind, moment in spec.events]


def _untracked_study(world: World, study: str, lead: str, today: date) -> None:
    """A study that has just begun and that no Factory issue tracks yet."""
    repo = world.add_repo(study)
    _stage_labels(world, repo)
    opened = datetime.combine(today - timedelta(days=UNTRACKED_AGE_DAYS), time(9), tzinfo=UTC)
    _import(world, repo, _IssueSpec(f"{STAGE_NAMES[0]}: task 1", lead, opened, [STAGE_LABELS[0][0]]))


def _stage_labels(world: World, repo: Repository) -> None:
    for name, color, description in STAGE_LABELS:
        world.ensure_label(repo, name, color, description)


def _stage_issues(rng: random.Random, reached: int, began: datetime, lead: str) -> list[_IssueSpec]:
    """1 to 3 issues for each stage reached, stage after stage. The last stage reached keeps its last
    issue open (unless the study is finished); every other issue is closed, a tenth of them twice."""
    finished = reached == len(STAGE_LABELS) and rng.random() < 0.5
    specs, moment = [], began
    for stage in range(reached):
        label, name = STAGE_LABELS[stage][0], STAGE_NAMES[stage]
        count = rng.randint(1, 3)
        stage_end = opened = moment
        for i in range(count):
            opened += timedelta(days=rng.randrange(0, 10), hours=rng.randrange(1, 8))
            spec = _IssueSpec(f"{name}: task {i + 1}", lead, opened, [label])
            specs.append(spec)
            closed = opened + timedelta(days=rng.randrange(3, 60))
            if stage == reached - 1 and i == count - 1 and not finished:
                if rng.random() < 0.1:  # closed too early, and reopened
                    spec.events += [("closed", closed), ("reopened", closed + timedelta(days=2))]
                continue
            spec.events.append(("closed", closed))
            if rng.random() < 0.1:
                reopened = closed + timedelta(days=rng.randrange(1, 10))
                closed = reopened + timedelta(days=rng.randrange(1, 20))
                spec.events += [("reopened", reopened), ("closed", closed)]
            stage_end = max(stage_end, closed)
        moment = stage_end + timedelta(days=rng.randrange(1, 15))
    return specs


def _other_issues(rng: random.Random, began: datetime, lead: str, unknown_label: bool) -> list[_IssueSpec]:
    """Questions, sometimes labelled and closed; sometimes a pull request; an unknown stage label."""
    specs = []
    for _ in range(rng.randrange(0, 4)):
        opened = began + timedelta(days=rng.randrange(0, 400), hours=rng.randrange(0, 9))
        labels = [rng.choice(OTHER_LABELS)[0]] if rng.random() < 0.7 else []
        spec = _IssueSpec(f"Question from data partner {rng.randrange(100, 999)}", rng.choice(LEADS), opened,
                          labels)
        if rng.random() < 0.5:
            spec.events.append(("closed", opened + timedelta(days=rng.randrange(1, 30))))
        specs.append(spec)
    if rng.random() < 0.3:
        opened = began + timedelta(days=rng.randrange(0, 200))
        specs.append(_IssueSpec("Add the study package", lead, opened, [], is_pull_request=True))
    if unknown_label:
        opened = began + timedelta(days=rng.randrange(0, 100))
        specs.append(_IssueSpec("Feasibility counts from the data partners", lead, opened,
                                [rng.choice(UNKNOWN_STAGE_LABELS)]))
    return specs


def _import(world: World, repo: Repository, spec: _IssueSpec) -> None:
    timeline = [TimelineEvent(world.next_id(), "labeled", spec.user, spec.created_at, label=label)
                for label in spec.labels]
    timeline += [TimelineEvent(world.next_id(), kind, spec.user, moment,
                               state_reason="completed" if kind == "closed" else None)
                 for kind, moment in spec.events]
    closed_at = spec.events[-1][1] if spec.events and spec.events[-1][0] == "closed" else None
    world.import_issue(repo, spec.title, f"{spec.title}.", spec.user, created_at=spec.created_at,
                       labels=spec.labels, closed_at=closed_at, timeline=timeline,
                       is_pull_request=spec.is_pull_request)
