"""action.yml's own steps under a real Actions runner: the example workflows, run by act.

act (nektos/act, in host mode) runs the study workflow on a labelled and on a closed issue, the
dispatching study workflow, and the Factory workflow through the reusable workflow, exactly as the
examples are written: `ohdsi/factory-sync@...` is this checkout, GitHub is the double. Each run goes
through the set-up step (a new environment, the hash-checked install), the inputs as the workflow
passes them, and the outputs and job summary as the runner reads them back; nothing secret may
reach act's log.
"""

from __future__ import annotations

import csv
import re
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

from act_runner import (
    ACT,
    FACTORY_REPO,
    ROOT,
    STUDY_REPO,
    ActRun,
    action_copy,
    examples_world,
    git_workspace,
    run_act,
    upload_standin,
)
from actionkit import assert_nothing_shown, stage_rows, study_event
from github_double.demo_world import DEMO_APP_ID
from github_double.server import GitHubDouble

REUSABLE = ROOT / ".github" / "workflows" / "factory-resync.yml"


@pytest.fixture
def double(github_double: GitHubDouble, app_private_key: str) -> GitHubDouble:
    """The session's double, serving the world the examples name (ohdsi/Factory, ohdsi/DemoStudy)."""
    assert ACT.exists(), f"no act next to the test interpreter: pip install -r requirements-dev.txt ({ACT})"
    github_double.reset(examples_world(app_private_key), app_private_key)
    return github_double


@pytest.fixture(scope="module")
def upload_dir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("uploads")


@pytest.fixture(scope="module")
def action_refs(tmp_path_factory, upload_dir: Path) -> dict[str, Path]:
    """Every ref the examples and the reusable workflow run this action at, mapped to a copy of this
    checkout's action."""
    copy = action_copy(tmp_path_factory.mktemp("factory-sync"))
    refs = {"ohdsi/factory-sync@v1": copy}
    standin = upload_standin(tmp_path_factory.mktemp("upload-artifact"), upload_dir)
    for step in yaml.safe_load(REUSABLE.read_text(encoding="utf-8"))["jobs"]["resync"]["steps"]:
        uses = step.get("uses", "").split(" ")[0]
        if uses.startswith("ohdsi/factory-sync@"):
            refs[uses] = copy
        elif uses.startswith("actions/upload-artifact@"):
            refs[uses] = standin
    assert len(refs) == 3, refs  # the reusable workflow pins a commit, not v1; and the upload
    return refs


@pytest.fixture
def uploads(upload_dir: Path) -> Path:
    """What the workflow uploaded as artifacts, one folder each (emptied for every test)."""
    for folder in upload_dir.iterdir():
        shutil.rmtree(folder)
    return upload_dir


@pytest.fixture
def run_example(double: GitHubDouble, tmp_path: Path, action_refs: dict[str, Path]) -> Callable[..., ActRun]:
    """`run_example(example, repository, event, payload, **secrets)`: the example workflow, installed
    in `repository` as .github/workflows/<example>, run by act on this event."""

    def run(example: str, repository: str, event: str, payload: dict, **secrets: str) -> ActRun:
        text = (ROOT / "examples" / example).read_text(encoding="utf-8")
        runs = len(list(tmp_path.glob("workspace*")))  # a new checkout for every run
        workspace = git_workspace(tmp_path / f"workspace{runs}", repository,
                                  {f".github/workflows/{example}": text})
        with double.world.lock:  # the job's GITHUB_TOKEN, with the permissions the job asks for
            token = double.world.mint_workflow_token(repository, job_permissions(yaml.safe_load(text)))
        secrets = {"GITHUB_TOKEN": token, "FACTORY_APP_PRIVATE_KEY": double.private_key, **secrets}
        done = run_act(workspace, event, payload, api_url=double.url, scratch=tmp_path / f"act{runs}",
                       secrets=secrets, variables={"FACTORY_APP_ID": str(DEMO_APP_ID)}, local=action_refs)
        assert_nothing_shown(double, act_log=done.shown, summary=done.summary)
        assert "git clone" not in done.log, "act fetched an action instead of using this checkout"
        return done

    return run


def job_permissions(workflow: dict) -> dict[str, str]:
    """The permissions of the workflow's one job, as GitHub gives them to its GITHUB_TOKEN."""
    [job] = workflow["jobs"].values()
    return dict(job.get("permissions", workflow.get("permissions")) or {})


def tracking_issue(double: GitHubDouble):
    issues = [issue for issue in double.world.repo(FACTORY_REPO).issues.values() if not issue.is_pull_request]
    assert len(issues) == 1, [issue.title for issue in issues]
    return issues[0]


def test_the_study_workflow_on_a_labelled_issue(double, run_example):
    world = double.world
    study = world.repo(STUDY_REPO)
    issue = study.issues[2]
    with world.lock:
        world.add_label(study, issue, "stage:phenotype-development", "demo-lead")
    payload = study_event("labeled", issue, label="stage:phenotype-development", repo=STUDY_REPO)
    run = run_example("study-workflow.yml", STUDY_REPO, "issues", payload)
    assert (run.code, run.job_results()) == (0, {"sync": "success"}), run.log[-4000:]
    tracking = tracking_issue(double)
    assert "## Current stage: Phenotype Development" in tracking.body
    assert stage_rows(tracking.body)["Phenotype Development"] == "in progress"
    outputs = run.outputs("0")  # the action's outputs, as the workflow's step sees them
    assert outputs["factory-issue-number"] == str(tracking.number)
    assert outputs["factory-issue-url"] == f"{double.url}/{FACTORY_REPO}/issues/{tracking.number}"
    assert (outputs["stage"], outputs["changed"]) == ("stage:phenotype-development", "true")
    assert "| Stage after | Phenotype Development |" in run.summary
    assert "tracking issue created" in run.summary
    assert run.outputs("0", "setup")["python"].endswith("/venv/bin/python")


def test_the_study_workflow_on_a_closed_issue(double, run_example):
    world = double.world
    study = world.repo(STUDY_REPO)
    issue = study.issues[2]
    with world.lock:
        world.set_state(issue, "closed", "demo-lead", "completed")
    payload = study_event("closed", issue, repo=STUDY_REPO)
    run = run_example("study-workflow.yml", STUDY_REPO, "issues", payload)
    assert (run.code, run.job_results()) == (0, {"sync": "success"}), run.log[-4000:]
    tracking = tracking_issue(double)
    assert stage_rows(tracking.body)["Protocol Development"] == "complete"
    current = re.search(r"^## Current stage: (.+)$", tracking.body, re.MULTILINE)[1]
    outputs = run.outputs("0")
    assert (outputs["stage"], outputs["changed"]) == (f"stage:{current.lower().replace(' ', '-')}", "true")
    assert outputs["factory-issue-number"] == str(tracking.number)
    assert "| Stage after |" in run.summary


def test_the_dispatching_study_workflow_asks_the_factory(double, run_example):
    world = double.world
    study = world.repo(STUDY_REPO)
    issue = study.issues[2]
    with world.lock:
        world.add_label(study, issue, "stage:phenotype-development", "demo-lead")
        dispatch_token = world.mint_workflow_token(FACTORY_REPO, {"contents": "write"})
    payload = study_event("labeled", issue, label="stage:phenotype-development", repo=STUDY_REPO)
    run = run_example("study-workflow-dispatch.yml", STUDY_REPO, "issues", payload,
                      FACTORY_DISPATCH_TOKEN=dispatch_token)
    assert (run.code, run.job_results()) == (0, {"ask": "success"}), run.log[-4000:]
    [dispatch] = world.dispatches
    assert (dispatch.kind, dispatch.repository, dispatch.event_type, dispatch.client_payload) == (
        "repository_dispatch", FACTORY_REPO, "factory-sync", {"study": STUDY_REPO})
    assert not [i for i in world.repo(FACTORY_REPO).issues.values() if not i.is_pull_request]


def test_the_factory_workflow_through_the_reusable_workflow(double, run_example):
    payload = {"action": "factory-sync", "client_payload": {"study": STUDY_REPO}}
    run = run_example("factory-workflow.yml", FACTORY_REPO, "repository_dispatch", payload)
    assert (run.code, run.job_results()) == (0, {"resync": "success"}), run.log[-4000:]
    tracking = tracking_issue(double)
    assert stage_rows(tracking.body)["Protocol Development"] == "in progress"
    inner = run.outputs("resync")  # the reusable workflow's step `resync`
    assert (inner["checked"], inner["changed-count"], inner["failed"]) == ("1", "1", "0")
    assert inner["factory-issue-number"] == str(tracking.number)
    assert f"| Study | `{STUDY_REPO}` |" in run.summary
    assert "| Stage after | Protocol Development |" in run.summary


def test_the_factory_workflow_uploads_the_export_of_a_resync_of_every_study(double, run_example, uploads):
    one = {"action": "factory-sync", "client_payload": {"study": STUDY_REPO}}  # the study gets tracked
    assert run_example("factory-workflow.yml", FACTORY_REPO, "repository_dispatch", one).code == 0
    payload = {"inputs": {"study": "", "dry-run": False}, "ref": "refs/heads/main"}
    run = run_example("factory-workflow.yml", FACTORY_REPO, "workflow_dispatch", payload)
    assert (run.code, run.job_results()) == (0, {"resync": "success"}), run.log[-4000:]
    inner = run.outputs("resync")
    assert inner["export-dir"] == "portfolio-export"
    assert inner["dashboard-issue-number"].isdigit()
    uploaded = uploads / "factory-portfolio"
    assert sorted(path.name for path in uploaded.iterdir()) == [
        "history.csv", "portfolio.json", "stages.csv", "studies.csv"]
    with (uploaded / "studies.csv").open(encoding="utf-8", newline="") as handle:
        [row] = list(csv.DictReader(handle))
    assert row["study"] == STUDY_REPO
    assert inner["stalled"] == ("1" if row["stalled"] == "TRUE" else "0")


def test_a_resync_of_one_study_uploads_nothing(double, run_example, uploads):
    payload = {"action": "factory-sync", "client_payload": {"study": STUDY_REPO}}
    run = run_example("factory-workflow.yml", FACTORY_REPO, "repository_dispatch", payload)
    assert (run.code, run.job_results()) == (0, {"resync": "success"}), run.log[-4000:]
    assert run.outputs("resync")["export-dir"] == ""
    assert list(uploads.iterdir()) == []
