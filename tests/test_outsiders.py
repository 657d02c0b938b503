"""A public study repository's outsiders cannot move its stage. Anyone may open an issue there and
close, reopen or rename their own; an issue template may even label it for them. None of that counts:
an issue whose author has no role in the repository counts only by what its maintainers did to it
(see trust.counted). `trust-authors: true` counts everyone, for private repositories."""

from __future__ import annotations

from github_double.demo_world import DEMO_OWNER, STUDY_REPO
from github_double.server import GitHubDouble
from stepkit import run_step

FACTORY = f"{DEMO_OWNER}/Factory"
OUTSIDER, LEAD = "mallory", "demo-lead"


def stage_shown(github: GitHubDouble, tmp_path, **inputs: str) -> str:
    """Resync the study from its own repository; the stage its tracking issue then shows."""
    run = run_step(github, tmp_path / str(len(list(tmp_path.iterdir()))), "workflow_dispatch", {"inputs": {}},
                   repository=STUDY_REPO, **inputs)
    assert run.code == 0, run.stdout
    [tracking] = [i for i in github.world.repo(FACTORY).issues.values() if "study-tracking" in i.labels]
    return next(line for line in tracking.body.splitlines() if line.startswith("## Current stage: "))[18:]


def later(github: GitHubDouble) -> None:
    """A moment later (the events' order is their time's; App JWTs live ten minutes on this clock)."""
    github.world.clock.advance(2)


def test_an_outsiders_template_label_does_not_count(github, tmp_path):
    github.world.outsiders.add(OUTSIDER)
    assert stage_shown(github, tmp_path) == "Protocol Development"
    study = github.world.repo(STUDY_REPO)
    with github.world.lock:  # an issue form that lists `labels: [stage:results-evaluation]`
        github.world.create_issue(study, "Please run my results", "", OUTSIDER,
                                  labels=["stage:results-evaluation"])

    assert stage_shown(github, tmp_path) == "Protocol Development"
    assert stage_shown(github, tmp_path, trust_authors="true") == "Results Evaluation"


def test_an_outsider_closing_or_reopening_their_issue_does_not_move_the_stage(github, tmp_path):
    github.world.outsiders.add(OUTSIDER)
    world, study = github.world, github.world.repo(STUDY_REPO)
    with world.lock:
        issue = world.create_issue(study, "Phenotype for my site", "", OUTSIDER)
        later(github)
        world.add_label(study, issue, "stage:phenotype-development", LEAD)  # by a maintainer: it counts
    assert stage_shown(github, tmp_path) == "Phenotype Development"

    with world.lock:
        later(github)
        world.set_state(issue, "closed", OUTSIDER)
    assert stage_shown(github, tmp_path) == "Phenotype Development"  # the outsider's close does not count

    with world.lock:
        later(github)
        world.set_state(issue, "open", LEAD)
        later(github)
        world.set_state(issue, "closed", LEAD)  # the maintainer completes the stage
    assert stage_shown(github, tmp_path) == "Protocol Development"  # the stage still in progress

    with world.lock:
        later(github)
        world.set_state(issue, "open", OUTSIDER)
        later(github)
        world.rename(issue, "https://evil.example/ www.evil.example GH-1 @team", OUTSIDER)
    # Reopened by the outsider: still complete (counted, it would move the study to Phenotype Development).
    assert stage_shown(github, tmp_path) == "Protocol Development"
    assert stage_shown(github, tmp_path, trust_authors="true") == "Phenotype Development"


def test_a_members_own_actions_count(github, tmp_path):
    world, study = github.world, github.world.repo(STUDY_REPO)
    with world.lock:
        world.create_issue(study, "Phenotypes", "", LEAD, labels=["stage:phenotype-development"])
    assert stage_shown(github, tmp_path) == "Phenotype Development"
