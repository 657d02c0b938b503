"""The health check with a board: the project reachable with the token a sync would use, and its
fields usable; each problem a failed check that says what to fix. Over HTTP against the double."""

from __future__ import annotations

from actionkit import commit_config
from board_kit import PROJECT, mutations, project_of
from github_double import projects as boards
from github_double.demo_world import DEMO_INSTALLATION_ID, DEMO_OWNER, FACTORY_REPO
from stepkit import run_step


def health(github, tmp_path, **inputs: str):
    with github.world.lock:
        token = github.world.mint_workflow_token(FACTORY_REPO, {"issues": "read"})
    return run_step(github, tmp_path, "workflow_dispatch", {}, repository=FACTORY_REPO, workflow_token=token,
                    mode="check", **{"project": PROJECT, **inputs})


def row_of(run, check: str) -> str:
    return next(line for line in run.summary.splitlines() if line.startswith(f"| {check} |"))


def test_a_fresh_board_is_healthy_and_the_check_writes_nothing(github, tmp_path):
    run = health(github, tmp_path)
    assert run.code == 0, run.log
    row = row_of(run, "Project board")
    assert "ok" in row and "'Factory portfolio'" in row
    assert "a sync creates 'Stage', 'Stage since', 'Stalled'" in row
    assert mutations(github) == [] and len(project_of(github).fields) == len(boards.DEFAULT_FIELDS)


def test_a_field_of_the_wrong_type_fails_and_one_lacking_options_is_said(github, tmp_path):
    with github.world.lock:
        project = boards.project_by_number(github.world, DEMO_OWNER, 1)
        boards.add_field(github.world, project, "Stage", "SINGLE_SELECT", ["Base Camp"])
        stalled = boards.add_field(github.world, project, "Stalled", "DATE")
    run = health(github, tmp_path)
    assert run.code == 1
    row = row_of(run, "Project board")
    assert "failed" in row and "'Stalled'" in row and "is a date field" in row
    assert "project-stalled-field" in row

    with github.world.lock:
        boards.delete_field(github.world, project, stalled)
    run = health(github, tmp_path)
    assert run.code == 0, run.log
    row = row_of(run, "Project board")
    assert "ok" in row and "lacks the options 'Protocol Development'" in row


def test_without_the_projects_permission_the_board_check_fails_and_says_what_to_grant(github, tmp_path):
    with github.world.lock:
        github.world.installations[DEMO_INSTALLATION_ID].permissions.pop("organization_projects")
    run = health(github, tmp_path)
    assert run.code == 1
    row = row_of(run, "Project board")
    assert "failed" in row and "Organization permissions" in row and "Projects: Read and write" in row
    assert "ok" in row_of(run, "Factory access")


def test_a_project_that_is_not_there(github, tmp_path):
    run = health(github, tmp_path, project="ohdsi-demo/9")
    assert run.code == 1
    assert "ohdsi-demo has no project number 9 that the App can see" in row_of(run, "Project board")


def test_without_a_project_there_is_no_board_check(github, tmp_path):
    run = run_step(github, tmp_path, "workflow_dispatch", {}, repository=FACTORY_REPO, mode="check")
    assert "| Project board |" not in run.summary


def test_a_board_named_in_the_factory_config_is_checked_too(github, mint_token, tmp_path):
    commit_config(github, mint_token, f"project: {PROJECT}\n")
    run = health(github, tmp_path, project="")
    assert run.code == 0, run.log
    assert "'Factory portfolio'" in row_of(run, "Project board")
    assert f"from .github/factory-sync.yml in {FACTORY_REPO}" in run.summary
