"""The study workflows start a job only for events that can change the study's stages.

The example workflows are run by a real Actions runner (act) on one event at a time, with a stand-in
for the action itself (a step that only says it ran): what is under test is the workflow's `if:`,
which the runner evaluates before any step; the action's own runs are in test_act_workflows.py.
A job that is skipped never takes a runner and never enters the job's concurrency group, so an
unrelated event (a plain issue edited by anyone) cannot replace a pending stage run. Each verdict
also agrees with the action's own reading of the event (events.parse_study_event), so the filter
drops nothing the action needs.
"""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
import yaml

from act_runner import ACT, ROOT, STUDY_REPO, git_workspace, run_act
from actionkit import example, webhook_examples
from factory_sync.events import parse_study_event
from factory_sync.stages import DEFAULT_CATALOG

WORKFLOWS = {"study-workflow.yml": "sync", "study-workflow-dispatch.yml": "ask"}  # file: job id


def issues_event(action: str, labels: list[str], *, label: str | None = None,
                 changes: dict | None = None) -> dict:
    payload = example(action)
    payload["repository"]["full_name"] = STUDY_REPO
    payload["issue"]["labels"] = [{"name": name} for name in labels]
    payload.pop("label", None)
    payload.pop("changes", None)
    if label is not None:
        payload["label"] = {"name": label}
    if changes is not None:
        payload["changes"] = changes
    return payload


def label_event(action: str, name: str, changes: dict | None = None) -> dict:
    payload = copy.deepcopy(next(e for e in webhook_examples("label") if e.get("action") == action))
    payload["repository"]["full_name"] = STUDY_REPO
    payload["label"]["name"] = name
    payload.pop("changes", None)
    if changes is not None:
        payload["changes"] = changes
    return payload


STAGE = ["stage:protocol-development"]
PLAIN = ["question"]
RUNS = {
    "a stage label added": ("issues", issues_event("labeled", STAGE, label="stage:protocol-development")),
    "a stage label removed": ("issues", issues_event("unlabeled", [], label="Stage:Base-Camp")),
    "a stage issue closed": ("issues", issues_event("closed", STAGE)),
    "a stage issue reopened": ("issues", issues_event("reopened", ["bug", *STAGE])),
    "a stage issue renamed": ("issues", issues_event("edited", STAGE, changes={"title": {"from": "Old"}})),
    "a stage issue deleted": ("issues", issues_event("deleted", STAGE)),
    "a stage issue transferred": ("issues", issues_event("transferred", STAGE)),
    "a stage label renamed": ("label", label_event("edited", "stage:protocol",
                                                   {"name": {"from": "stage:protocol-development"}})),
    "a label renamed into a stage": ("label", label_event("edited", "stage:base-camp",
                                                          {"name": {"from": "setup"}})),
    "a stage label renamed away": ("label", label_event("edited", "old",
                                                        {"name": {"from": "stage:base-camp"}})),
    "a stage label deleted": ("label", label_event("deleted", "stage:base-camp")),
    "a manual run": ("workflow_dispatch", {"inputs": {}, "ref": "refs/heads/main"}),
}
SKIPS = {
    "a plain issue renamed": ("issues", issues_event("edited", PLAIN, changes={"title": {"from": "Old"}})),
    "a stage issue's text edited": ("issues", issues_event("edited", STAGE, changes={"body": {"from": "x"}})),
    "a plain label added": ("issues", issues_event("labeled", [*STAGE, "question"], label="question")),
    "a plain label removed": ("issues", issues_event("unlabeled", STAGE, label="question")),
    "a label that only contains stage: added": ("issues", issues_event("labeled", ["backstage:x"],
                                                                        label="backstage:x")),
    "a plain issue closed": ("issues", issues_event("closed", ["backstage: tour", *PLAIN])),
    "a plain issue deleted": ("issues", issues_event("deleted", [])),
    "a stage label recoloured": ("label", label_event("edited", "stage:base-camp",
                                                      {"color": {"from": "ffffff"}})),
    "a plain label renamed": ("label", label_event("edited", "bug", {"name": {"from": "defect"}})),
    "a plain label deleted": ("label", label_event("deleted", "question")),
}


STAND_IN = """name: stand-in for factory-sync
description: Says that the job's steps ran.
runs:
  using: composite
  steps:
    - shell: bash
      run: echo "the job ran"
"""


@pytest.fixture(scope="module")
def workspaces(tmp_path_factory) -> dict[str, Path]:
    """A study checkout per example workflow, holding it as .github/workflows/factory-sync.yml, and
    the stand-in action at "stand-in"."""
    assert ACT.exists(), f"no act next to the test interpreter: pip install -r requirements-dev.txt ({ACT})"
    root = tmp_path_factory.mktemp("act-filter")
    (root / "stand-in").mkdir()
    (root / "stand-in" / "action.yml").write_text(STAND_IN, encoding="utf-8")
    spaces = {name: git_workspace(root / name, STUDY_REPO, {
        ".github/workflows/factory-sync.yml": (ROOT / "examples" / name).read_text(encoding="utf-8")})
        for name in WORKFLOWS}
    return {**spaces, "stand-in": root / "stand-in"}


def verdict(workspaces: dict[str, Path], workflow: str, event: str, payload: dict, scratch: Path) -> str:
    run = run_act(workspaces[workflow], event, payload, api_url="http://127.0.0.1:9", scratch=scratch,
                  local={"ohdsi/factory-sync@v1": workspaces["stand-in"]})
    assert run.code == 0, run.log[-3000:]
    results = run.job_results()
    assert list(results) == [WORKFLOWS[workflow]], run.log[-3000:]
    ran = "the job ran" in run.log
    assert ran == (results[WORKFLOWS[workflow]] == "success"), run.log[-3000:]
    return results[WORKFLOWS[workflow]]


@pytest.mark.parametrize("workflow", WORKFLOWS)
@pytest.mark.parametrize("case", RUNS)
def test_a_stage_event_starts_the_job(workspaces, workflow, case, tmp_path):
    event, payload = RUNS[case]
    assert verdict(workspaces, workflow, event, payload, tmp_path) == "success"
    if event != "workflow_dispatch":
        assert parse_study_event(event, payload, STUDY_REPO, DEFAULT_CATALOG).reconcile


@pytest.mark.parametrize("workflow", WORKFLOWS)
@pytest.mark.parametrize("case", SKIPS)
def test_any_other_event_skips_the_job(workspaces, workflow, case, tmp_path):
    event, payload = SKIPS[case]
    assert verdict(workspaces, workflow, event, payload, tmp_path) == "skipped"
    assert not parse_study_event(event, payload, STUDY_REPO, DEFAULT_CATALOG).reconcile


@pytest.mark.parametrize("workflow", WORKFLOWS)
def test_the_group_is_the_job_s_not_the_workflow_s(workflow):
    document = yaml.safe_load((ROOT / "examples" / workflow).read_text(encoding="utf-8"))
    job = document["jobs"][WORKFLOWS[workflow]]
    assert "concurrency" not in document
    group = "factory-sync-${{ github.repository }}"
    assert job["concurrency"] == {"group": group, "cancel-in-progress": False}
    assert job["if"].startswith("github.event_name == 'workflow_dispatch'")


def test_both_study_workflows_filter_alike():
    ifs = {name: yaml.safe_load((ROOT / "examples" / name).read_text(encoding="utf-8"))["jobs"][job]["if"]
           for name, job in WORKFLOWS.items()}
    assert len(set(ifs.values())) == 1, ifs
