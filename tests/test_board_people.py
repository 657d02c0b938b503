"""The board as people change it, and the board's errors, over HTTP against the double: a field
renamed or deleted is made again, a field lacking an option is reported and never rewritten, and
every error says what to do while the tracking issue is written all the same."""

from __future__ import annotations

import pytest

from actionkit import study_event, tracking_issues
from board_kit import PROJECT, board_rows, mutations, project_of
from github_double import projects as boards
from github_double.demo_world import DEMO_INSTALLATION_ID, DEMO_OWNER, FACTORY_REPO, STUDY_REPO
from stepkit import run_step

LABEL = "stage:protocol-development"


def event(github) -> dict:
    with github.world.lock:
        issue = github.world.repo(STUDY_REPO).issues[2]  # the demo's open protocol-development issue
    return study_event("labeled", issue, label=LABEL)


def step(github, tmp_path, **inputs: str):
    return run_step(github, tmp_path, "issues", event(github), repository=STUDY_REPO,
                    **{"project": PROJECT, **inputs})


def board_errors(run) -> list[str]:
    return [line for line in run.errors if "project board" in line]


def test_a_field_renamed_or_deleted_by_a_person_is_made_again(github, tmp_path):
    assert step(github, tmp_path).code == 0
    world = github.world
    with world.lock:
        project = boards.project_by_number(world, DEMO_OWNER, 1)
        boards.update_field(world, project, project.field_named("Stage"), name="Phase")
        boards.delete_field(world, project, project.field_named("Stage since"))
    run = step(github, tmp_path)
    assert run.code == 0, run.log
    [row] = board_rows(github, ("Stage", "Stage since", "Phase"))
    assert row["Stage"] == row["Phase"] == "Protocol Development"  # Phase is now the person's own
    assert row["Stage since"] == "2025-03-24"
    assert "2 fields created, 2 values set" in run.log


def test_a_field_lacking_an_option_is_reported_and_never_rewritten(github, tmp_path):
    world = github.world
    with world.lock:
        project = boards.project_by_number(world, DEMO_OWNER, 1)
        stage = boards.add_field(world, project, "stage", "SINGLE_SELECT", ["Base Camp", "Complete"])
        before = [(o.id, o.name) for o in stage.options]
    run = step(github, tmp_path)
    assert run.code == 0, run.log
    [warning] = [line for line in run.stdout.splitlines() if line.startswith("::warning") and "lacks" in line]
    assert "'Protocol Development'" in warning and "'Not started'" in warning and "Add option" in warning
    assert "updateProjectV2Field" not in "".join(e.request_body.decode() for e in mutations(github))
    with world.lock:
        assert [(o.id, o.name) for o in stage.options] == before
    [row] = board_rows(github, ("stage", "Stage since"))
    assert row["stage"] is None and row["Stage since"] == "2025-03-24"  # the date did not wait
    assert [issue.number for issue in tracking_issues(github)] == [1]

    with world.lock:  # a person adds the options by hand, keeping the others
        boards.update_field(world, project, stage, options=[
            "Base Camp", "Complete", "Protocol Development", "Phenotype Development",
            "Analysis Specifications", "Network Execution", "Results Evaluation", "Not started"])
    run = step(github, tmp_path)
    assert run.code == 0 and "lacks" not in run.stdout
    assert board_rows(github, ("stage",))[0]["stage"] == "Protocol Development"


def test_a_field_of_the_right_name_and_the_wrong_type(github, tmp_path):
    with github.world.lock:
        project = boards.project_by_number(github.world, DEMO_OWNER, 1)
        boards.add_field(github.world, project, "Stage since", "TEXT")
    run = step(github, tmp_path)
    assert run.code == 1
    [error] = board_errors(run)
    assert "'Stage since'" in error and "is a text field" in error and "a date" in error
    assert "project-since-field" in error
    [row] = board_rows(github, ("Stage", "Stage since"))
    assert row["Stage"] == "Protocol Development" and row["Stage since"] is None
    assert [issue.number for issue in tracking_issues(github)] == [1]


def test_field_names_are_inputs(github, tmp_path):
    run = step(github, tmp_path, project_stage_field="Phase", project_since_field="In phase since",
               project_stalled_field="Stuck")
    assert run.code == 0, run.log
    assert [f.name for f in project_of(github).fields][-3:] == ["Phase", "In phase since", "Stuck"]
    same = step(github, tmp_path, project_stage_field="Phase", project_since_field="phase")
    assert same.code == 1 and "three different fields" in same.log


@pytest.mark.parametrize(("project", "says"), [
    ("https://github.com/users/demo-lead/projects/1", "demo-lead is a user, and GitHub Apps cannot reach"),
    ("https://github.com/ohdsi-demo/Factory", "must be an organisation project's URL"),
    ("ohdsi-demo/0", "project numbers start at 1"),
    ("ohdsi-demo", "must be an organisation project's URL"),
])
def test_a_project_input_that_cannot_name_a_board_is_an_error_before_any_request(github, tmp_path, project,
                                                                                 says):
    run = step(github, tmp_path, project=project)
    assert run.code == 1 and says in run.log
    assert len(github.log) == 0


@pytest.mark.parametrize(("project", "says"), [
    ("demo-lead/1", "demo-lead is a user, and GitHub Apps cannot reach a user's projects"),
    ("nobody-here/1", "there is no organisation 'nobody-here'"),
    ("ohdsi-demo/7", "ohdsi-demo has no project number 7 that the App can see"),
    ("https://ghe.example.com/orgs/ohdsi-demo/projects/7", "https://ghe.example.com/orgs/ohdsi-demo/projects/7"),
])
def test_a_board_that_cannot_be_reached_is_an_error_and_the_tracking_issue_is_written(github, tmp_path,
                                                                                     project, says):
    with github.world.lock:
        boards.add_project(github.world, "demo-lead", "My own board", creator="demo-lead")
        github.world.users["demo-lead"] = "User"
    run = step(github, tmp_path, project=project)
    assert run.code == 1
    [error] = board_errors(run)
    assert says in error
    assert [issue.number for issue in tracking_issues(github)] == [1]
    assert mutations(github) == []


def test_the_projects_permission_missing_or_not_yet_accepted(github, tmp_path):
    with github.world.lock:
        github.world.installations[DEMO_INSTALLATION_ID].permissions.pop("organization_projects")
    run = step(github, tmp_path)
    assert run.code == 1
    [error] = board_errors(run)
    assert "does not grant Projects: Read and write" in error
    assert "Organization permissions > Projects" in error and "accept the new permission" in error
    assert [issue.number for issue in tracking_issues(github)] == [1]
    assert project_of(github).items == []


def test_a_retired_spare_copys_item_is_archived(github, tmp_path):
    assert step(github, tmp_path).code == 0
    world = github.world
    with world.lock:  # a run that raced this one created a copy, and put it on the board
        factory = world.repo(FACTORY_REPO)
        kept = factory.issues[1]
        spare = world.create_issue(factory, kept.title, kept.body, "factory-sync[bot]",
                                   labels=list(kept.labels))
        project = boards.project_by_number(world, DEMO_OWNER, 1)
        boards.add_item(world, project, factory, spare, "factory-sync[bot]")
    run = step(github, tmp_path)
    assert run.code == 0, run.log
    assert "1 item archived" in run.log
    by_issue = {row["issue"]: row for row in board_rows(github, archived=True)}
    assert by_issue[spare.number]["archived"] and not by_issue[1]["archived"]


def test_a_dry_run_says_what_it_would_do_and_writes_nothing(github, tmp_path):
    run = step(github, tmp_path, dry_run="true")
    assert run.code == 0, run.log
    assert "Dry run: would create the fields 'Stage', 'Stage since', 'Stalled'" in run.log
    assert mutations(github) == [] and project_of(github).items == []
