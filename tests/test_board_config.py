"""The board named in the Factory config rather than by the `project` input: a study's own run and a
resync keep it all the same, with a token of its own (Projects: write, Issues: read, the Factory
only), minted once the config is read and revoked at the end."""

from __future__ import annotations

import json

from actionkit import commit_config, study_event
from board_kit import PROJECT, board_rows
from github_double.demo_world import DEMO_OWNER, STUDY_REPO
from github_double.server import GitHubDouble
from stepkit import run_step

FACTORY_REPO = f"{DEMO_OWNER}/Factory"
BOARD_URL = f"https://github.com/orgs/{PROJECT.split('/')[0]}/projects/{PROJECT.split('/')[1]}"


def labelled_issue(github: GitHubDouble):
    world = github.world
    with world.lock:
        study = world.repo(STUDY_REPO)
        issue = world.create_issue(study, "Define the cohorts", "", "demo-lead")
        world.add_label(study, issue, "stage:phenotype-development", "demo-lead")
    return issue


def labelled(issue) -> dict:
    return study_event("labeled", issue, label="stage:phenotype-development")


def minted(github: GitHubDouble) -> list[dict]:
    return [json.loads(entry.request_body) for entry in github.log.entries()
            if entry.method == "POST" and entry.path.endswith("/access_tokens")]


def test_a_study_run_keeps_the_board_the_factory_config_names(github, mint_token, tmp_path):
    commit_config(github, mint_token, f"project: {BOARD_URL}\n")
    issue = labelled_issue(github)
    github.log.clear()
    run = run_step(github, tmp_path, "issues", labelled(issue), repository=STUDY_REPO)
    assert run.code == 0, run.log
    assert f"project {BOARD_URL} from .github/factory-sync.yml in {FACTORY_REPO}" in run.log
    [row] = board_rows(github)
    assert row["Stage"] == "Phenotype Development"
    factory_token, board_token = minted(github)
    assert "organization_projects" not in factory_token["permissions"]
    assert board_token["permissions"] == {"issues": "read", "organization_projects": "write"}
    assert board_token["repositories"] == ["Factory"]
    revokes = [e for e in github.log.entries() if (e.method, e.path) == ("DELETE", "/installation/token")]
    assert len(revokes) == 2


def test_the_input_wins_over_the_config_and_mints_one_token(github, mint_token, tmp_path):
    commit_config(github, mint_token, "project: ohdsi-demo/7\n")  # no such project: never used
    issue = labelled_issue(github)
    github.log.clear()
    run = run_step(github, tmp_path, "issues", labelled(issue), repository=STUDY_REPO, project=PROJECT)
    assert run.code == 0, run.log
    assert f"project {BOARD_URL} from the step's input" in run.log
    [token] = minted(github)
    assert token["permissions"]["organization_projects"] == "write"
    assert board_rows(github)[0]["Stage"] == "Phenotype Development"


def test_a_config_project_that_is_a_users_is_refused_with_its_line(github, mint_token, tmp_path):
    commit_config(github, mint_token, "stall-days: 21\nproject: https://github.com/users/someone/projects/2\n")
    issue = labelled_issue(github)
    run = run_step(github, tmp_path, "issues", labelled(issue), repository=STUDY_REPO)
    assert run.code == 1
    assert ".github/factory-sync.yml in ohdsi-demo/Factory, line 2: project: someone is a user" in run.log
    assert "Traceback" not in run.log
