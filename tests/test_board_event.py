"""The Factory's project board on the event path, over HTTP against the double: a study's label
event keeps its row (one query, one mutation document when something differs), a replay only reads."""

from __future__ import annotations

import json

from actionkit import study_event
from board_kit import PROJECT, board_rows, is_mutation_request, project_of
from github_double import projects as boards
from github_double.demo_world import DEMO_OWNER, STUDY_REPO
from stepkit import run_step


def add_study_issue(github, title: str, label: str):
    world = github.world
    with world.lock:
        study = world.repo(STUDY_REPO)
        issue = world.create_issue(study, title, "", "demo-lead")
        world.add_label(study, issue, label, "demo-lead")
    return issue


def step(github, tmp_path, payload: dict, **inputs: str):
    return run_step(github, tmp_path, "issues", payload, repository=STUDY_REPO, project=PROJECT, **inputs)


def test_the_board_is_made_from_nothing_then_kept_through_every_stage_change(github, tmp_path):
    world = github.world
    issue = add_study_issue(github, "Define the cohorts", "stage:phenotype-development")
    label = "stage:phenotype-development"
    run = step(github, tmp_path, study_event("labeled", issue, label=label))
    assert run.code == 0, run.log
    board = project_of(github)
    assert [f.name for f in board.fields][-3:] == ["Stage", "Stage since", "Stalled"]
    stage = board.field_named("Stage")
    assert [o.name for o in stage.options] == [
        "Base Camp", "Protocol Development", "Phenotype Development", "Analysis Specifications",
        "Network Execution", "Results Evaluation", "Not started", "Complete"]
    [row] = board_rows(github)
    assert row["issue"] == 1 and row["Stage"] == "Phenotype Development"
    assert row["Stage since"] == issue.created_at.date().isoformat()
    assert row["Stalled"] in ("Stalled", "On track")
    assert "Board https://github.com/orgs/ohdsi-demo/projects/1: 3 fields created, 1 item added" in run.log

    with world.lock:
        study = world.repo(STUDY_REPO)
        world.set_state(study.issues[2], "closed", "demo-lead")
        world.set_state(issue, "closed", "demo-lead")
    github.log.clear()
    run = step(github, tmp_path, study_event("closed", issue))
    assert run.code == 0, run.log
    [row] = board_rows(github)
    assert row["Stage"] == "Analysis Specifications"
    graphql = [e for e in github.log.entries() if e.path == "/graphql"]
    project_requests = [e for e in graphql if b"projectV2" in e.request_body or b"mutation" in e.request_body]
    assert len(project_requests) == 2 and sum(map(is_mutation_request, project_requests)) == 1

    with world.lock:
        world.set_state(issue, "open", "demo-lead")
    assert step(github, tmp_path, study_event("reopened", issue)).code == 0
    assert board_rows(github)[0]["Stage"] == "Phenotype Development"

    with world.lock:
        for other in list(study.issues.values()):
            if not other.is_pull_request:
                world.set_state(other, "closed", "demo-lead")
        for name in ("stage:analysis-specifications", "stage:network-execution", "stage:results-evaluation"):
            done = world.create_issue(study, name, "", "demo-lead")
            world.add_label(study, done, name, "demo-lead")
            world.set_state(done, "closed", "demo-lead")
    assert step(github, tmp_path, study_event("closed", issue)).code == 0
    [row] = board_rows(github)
    assert (row["Stage"], row["Stalled"]) == ("Complete", "On track")


def test_a_replay_reads_the_board_and_writes_nothing(github, tmp_path):
    issue = add_study_issue(github, "Define the cohorts", "stage:phenotype-development")
    payload = study_event("labeled", issue, label="stage:phenotype-development")
    assert step(github, tmp_path, payload).code == 0
    before = board_rows(github)
    github.log.clear()
    run = step(github, tmp_path, payload)
    assert run.code == 0, run.log
    entries = github.log.entries()
    assert not any(map(is_mutation_request, entries))
    board_queries = [e for e in entries if e.path == "/graphql" and b"projectItems" in e.request_body]
    assert len(board_queries) == 1
    assert board_rows(github) == before
    assert "in step, nothing to change" in run.log


def test_without_a_project_nothing_about_boards_is_asked(github, tmp_path):
    issue = add_study_issue(github, "Define the cohorts", "stage:phenotype-development")
    run = run_step(github, tmp_path, "issues", study_event("labeled", issue, label="stage:base-camp"),
                   repository=STUDY_REPO)
    assert run.code == 0, run.log
    assert not any(b"projectV2" in e.request_body for e in github.log.entries())
    minted = [json.loads(e.request_body or b"{}") for e in github.log.entries()
              if e.path.endswith("/access_tokens")]
    assert all("organization_projects" not in body.get("permissions", {}) for body in minted)
    with github.world.lock:
        assert boards.project_by_number(github.world, DEMO_OWNER, 1).items == []
