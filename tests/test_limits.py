"""Limits: a study issue with 10,000 timeline events, a tracking issue already carrying GitHub's
maximum of 100 labels, and a study with 500 stage issues. Each run goes over HTTP to the double,
which enforces GitHub's limits (65,536 characters of body, 100 labels an issue) and paginates as
GitHub does."""

from __future__ import annotations

import math
import re
from datetime import timedelta

from actionkit import study_event, writes
from factory_sync.github_limits import BODY_LIMIT
from factory_sync.study_query import EVENTS_PER_PAGE, ISSUES_PER_PAGE, MORE_EVENTS_PER_PAGE
from factory_sync.tracking_block import HISTORY_LIMIT, ISSUES_LISTED, body_size
from factory_sync.tracking_body import END_MARKER, begin_marker
from github_double.demo_world import FACTORY_REPO, STUDY_REPO
from github_double.server import GitHubDouble
from github_double.world import Issue, TimelineEvent, utc
from stepkit import run_step

LABEL_LIMIT = 100  # GitHub's, on one issue
LIMIT_WARNING = "::warning title=factory-sync%3A label limit"  # not the stalled-study warning
ABOVE = "Notes from the Factory team.\n\n"
BELOW = "\n\nMore notes.\n"


def track(github: GitHubDouble, labels: list[str]) -> Issue:
    world = github.world
    with world.lock:
        block = f"{begin_marker(STUDY_REPO)}\n## Current stage: Base Camp\n{END_MARKER}"
        return world.create_issue(world.repo(FACTORY_REPO), f"Study: {STUDY_REPO}", ABOVE + block + BELOW,
                                  "factory-team", labels=labels)


def run(github: GitHubDouble, tmp_path, issue: Issue, label: str, name: str = "run"):
    return run_step(github, tmp_path / name, "issues", study_event("labeled", issue, label=label),
                    repository=STUDY_REPO)


def queries(github: GitHubDouble) -> int:
    return len(github.log.select("POST", "/graphql"))


def test_ten_thousand_timeline_events_keep_the_body_within_github_s_limit(github, tmp_path):
    world, events = github.world, 10_000
    start = utc(2024, 1, 1)
    with world.lock:
        study = world.repo(STUDY_REPO)
        label = "stage:network-execution"
        timeline = [TimelineEvent(world.next_id(), "unlabeled" if n % 2 else "labeled", f"site-{n % 37}",
                                  start + timedelta(minutes=n), label=label) for n in range(events - 1)]
        last = start + timedelta(minutes=events)
        timeline.append(TimelineEvent(world.next_id(), "labeled", "demo-lead", last, label=label))
        issue = world.import_issue(study, "Run the study at every site", None, "demo-lead", created_at=start,
                                   labels=[label], timeline=timeline)
    tracking = track(github, ["study-tracking"])

    done = run(github, tmp_path, issue, label)

    assert done.code == 0, done.log
    assert body_size(tracking.body) <= BODY_LIMIT
    assert tracking.body.startswith(ABOVE) and tracking.body.endswith(BELOW)
    history = tracking.body.split("### History", 1)[1]
    shown = [line for line in history.splitlines() if line.startswith("- 20")]
    assert len(shown) == HISTORY_LIMIT
    demo_events = 3  # the demo study's own: #1 labelled and closed, #2 labelled
    assert f"- … and {events + demo_events - HISTORY_LIMIT} earlier events not shown" in history
    # The issue's timeline is read in full: its first 40 events with the issue, then 100 a query.
    assert queries(github) == 1 + math.ceil((events - EVENTS_PER_PAGE) / MORE_EVENTS_PER_PAGE)


def test_a_tracking_issue_with_100_labels_gets_its_block_and_a_warning_instead_of_the_stage_label(
        github, tmp_path):
    world = github.world
    others = [f"topic-{n:03}" for n in range(LABEL_LIMIT - 1)]
    tracking = track(github, ["study-tracking", *others])
    assert len(tracking.labels) == LABEL_LIMIT
    with world.lock:
        issue = world.import_issue(world.repo(STUDY_REPO), "Define the cohorts", None, "demo-lead",
                                   created_at=utc(2025, 4, 1), labels=["stage:phenotype-development"])

    done = run(github, tmp_path, issue, "stage:phenotype-development")

    assert done.code == 0, done.log
    assert "## Current stage: Phenotype Development" in tracking.body
    assert tracking.body.startswith(ABOVE) and tracking.body.endswith(BELOW)
    assert sorted(tracking.labels) == sorted(["study-tracking", *others])  # every label kept, none added
    [warning] = [line for line in done.stdout.splitlines() if line.startswith(LIMIT_WARNING)]
    assert (f"Factory issue #{tracking.number} carries {LABEL_LIMIT} labels, GitHub's limit, so the label "
            "stage:phenotype-development could not be added; its block is up to date. Remove a label it does "
            "not need, and the next run adds it.") in warning

    github.log.clear()
    again = run(github, tmp_path, issue, "stage:phenotype-development", "again")
    assert (again.code, again.outputs["changed"], writes(github)) == (0, "false", [])

    with world.lock:  # once there is room, the stage label is added
        world.remove_label(world.repo(FACTORY_REPO), tracking, "topic-000", "factory-team")
    room = run(github, tmp_path, issue, "stage:phenotype-development", "room")
    assert room.code == 0, room.log
    assert "stage:phenotype-development" in tracking.labels and len(tracking.labels) == LABEL_LIMIT


def test_a_tracking_issue_at_the_label_limit_can_still_move_to_another_stage(github, tmp_path):
    world = github.world
    others = [f"topic-{n:03}" for n in range(LABEL_LIMIT - 2)]
    tracking = track(github, ["study-tracking", "stage:base-camp", *others])
    with world.lock:
        issue = world.import_issue(world.repo(STUDY_REPO), "Define the cohorts", None, "demo-lead",
                                   created_at=utc(2025, 4, 1), labels=["stage:phenotype-development"])

    done = run(github, tmp_path, issue, "stage:phenotype-development")

    assert done.code == 0, done.log
    assert not [line for line in done.stdout.splitlines() if line.startswith(LIMIT_WARNING)]
    assert "stage:phenotype-development" in tracking.labels and "stage:base-camp" not in tracking.labels
    assert len(tracking.labels) == LABEL_LIMIT


def test_a_study_with_500_stage_issues_is_read_in_full_and_counted_in_the_table(github, tmp_path):
    world, many = github.world, 500
    label = "stage:phenotype-development"
    title = "a cohort definition to review with the site leads, then to validate with PheValuator & co"
    with world.lock:
        study = world.repo(STUDY_REPO)
        issues = [world.import_issue(study, f"Phenotype {n:03}: {title}", None, "demo-lead",
                                     created_at=utc(2025, 1, 1) + timedelta(hours=n), labels=[label],
                                     closed_at=utc(2025, 3, 1) + timedelta(hours=n) if n % 5 else None)
                  for n in range(many)]
    tracking = track(github, ["study-tracking"])

    done = run(github, tmp_path, issues[-1], label)

    assert done.code == 0, done.log
    assert body_size(tracking.body) <= BODY_LIMIT
    assert tracking.body.startswith(ABOVE) and tracking.body.endswith(BELOW)
    [row] = [line for line in tracking.body.splitlines() if line.startswith("| **Phenotype Development**")]
    listed = [int(number) for number in re.findall(r"\[#(\d+)\]", row)]
    assert len(listed) == ISSUES_LISTED
    assert row.endswith(f"… and {many - ISSUES_LISTED} more ({many} in all) |")
    open_ones = sorted(i.number for i in issues if i.state == "open")
    assert listed == open_ones[-ISSUES_LISTED:]  # the open ones first, the latest of them
    assert "### History" in tracking.body
    # Every issue was read: its label's issues 20 a page, one page after another.
    assert queries(github) == math.ceil(many / ISSUES_PER_PAGE)
    assert f"{many + 2} stage-labelled issues" in done.log  # and the demo study's two
