"""The study workflows start a job only for events that can change the study's stages.

The example workflows are run by a real Actions runner (act) on one event at a time, with a stand-in
for the action itself (a step that only says it ran): what is under test is the workflow's `if:`,
which the runner evaluates before any step; the action's own runs are in test_act_workflows.py.
A job that is skipped never takes a runner and never enters the job's concurrency group, so an
unrelated event (a plain issue edited by anyone) cannot replace a pending stage run. Each verdict
also agrees with the action's own reading of the event (events.parse_study_event), so the filter
drops nothing the action needs; on a public repository, the filter also drops what an author
without a role does to their own issue, which the action reads as relevant but trust.counted never
counts, as each such case shows. Every verdict agrees, too, with scripts/job_filter.py, the
evaluation of the same `if:` that scripts/bench_outsiders.py uses.
"""

from __future__ import annotations

import copy
import importlib.util
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest
import yaml

from act_runner import ACT, ROOT, STUDY_REPO, git_workspace, run_act
from actionkit import example, webhook_examples
from factory_sync.events import parse_study_event
from factory_sync.model import IssueEvent, StudyIssue, is_stage_label
from factory_sync.stages import DEFAULT_CATALOG
from factory_sync.trust import counted

WORKFLOWS = {"study-workflow.yml": "sync", "study-workflow-dispatch.yml": "ask"}  # file: job id
_spec = importlib.util.spec_from_file_location("job_filter", ROOT / "scripts" / "job_filter.py")
job_filter = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(job_filter)


OUTSIDER, MAINTAINER = "mallory", "demo-lead"


def issues_event(action: str, labels: list[str], *, label: str | None = None,
                 changes: dict | None = None, by: tuple[str, str, str] | None = None,
                 private: bool | None = None) -> dict:
    """GitHub's example payload (its issue's author, Codertocat, is its sender and owns the
    repository) for this action; `by` gives (sender, author, author association) instead."""
    payload = example(action)
    payload["repository"]["full_name"] = STUDY_REPO
    payload["issue"]["labels"] = [{"name": name} for name in labels]
    if by is not None:
        payload["sender"]["login"], payload["issue"]["user"]["login"] = by[:2]
        payload["issue"]["author_association"] = by[2]
    if private is not None:
        payload["repository"]["private"] = private
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
    "a maintainer closing an outsider's stage issue": ("issues", issues_event(
        "closed", STAGE, by=(MAINTAINER, OUTSIDER, "NONE"))),
    "a member renaming their own stage issue": ("issues", issues_event(
        "edited", STAGE, changes={"title": {"from": "Old"}}, by=(MAINTAINER, MAINTAINER, "MEMBER"))),
    "an author without a role closing their own issue, private repository": ("issues", issues_event(
        "closed", STAGE, by=(OUTSIDER, OUTSIDER, "NONE"), private=True)),
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
# On a public repository: an author without a role acting on their own stage issue. The action reads
# each as relevant (parse_study_event), but never counts it (trust.counted, see outsider_counts_nothing).
OWN = (OUTSIDER, OUTSIDER.upper(), "NONE")  # logins compare ignoring case, on GitHub and in trust.counted
OUTSIDER_SKIPS = {
    "an outsider renaming their own stage issue": ("issues", issues_event(
        "edited", STAGE, changes={"title": {"from": "Old"}}, by=OWN)),
    "an outsider closing their own stage issue": ("issues", issues_event("closed", STAGE, by=OWN)),
    "an outsider reopening their own stage issue": ("issues", issues_event("reopened", STAGE, by=OWN)),
    "an outsider's issue created with a template's stage label": ("issues", issues_event(
        "labeled", STAGE, label=STAGE[0], by=OWN)),
    "a past contributor without a role closing their own stage issue": ("issues", issues_event(
        "closed", STAGE, by=(OUTSIDER, OUTSIDER, "CONTRIBUTOR"))),
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
    condition = job_filter.job_condition(ROOT / "examples" / workflow)
    assert job_filter.job_runs(condition, event, payload) == ran, "scripts/job_filter.py disagrees with act"
    return results[WORKFLOWS[workflow]]


EARLIER, AT = datetime(2025, 5, 1, tzinfo=UTC), datetime(2025, 5, 2, tzinfo=UTC)


def outsider_counts_nothing(payload: dict) -> None:
    """trust.counted counts the issue the same with the author's event as without it, whoever applied
    its stage labels before (a maintainer, or the author's issue template): no stage can move. A
    rename is no event of trust.counted's at all; the new title shows at the study's next run."""
    issue, action, sender = payload["issue"], payload["action"], payload["sender"]["login"]
    labels = tuple(name for name in (label["name"] for label in issue["labels"]) if is_stage_label(name))
    added = (payload["label"]["name"],) if action == "labeled" else ()
    kind = {"labeled": "labeled", "closed": "closed", "reopened": "reopened"}.get(action)
    for applier in (MAINTAINER, issue["user"]["login"]):
        history = tuple(IssueEvent("labeled", EARLIER, applier, name) for name in labels if name not in added)
        history += (IssueEvent("closed", EARLIER, applier),) if action == "reopened" else ()
        without = StudyIssue(issue["number"], "Old", "https://github.com/x", open=action != "reopened",
                             created_at=EARLIER, closed_at=EARLIER if action == "reopened" else None,
                             labels=tuple(name for name in labels if name not in added), events=history,
                             author=issue["user"]["login"])
        event = () if kind is None else (IssueEvent(kind, AT, sender, added[0] if added else None),)
        closed = action == "closed"
        with_it = replace(without, title=issue["title"], labels=labels, events=history + event,
                          open=not closed, closed_at=AT if closed else None)
        association = issue["author_association"]
        assert view(counted(with_it, association, False)) == view(counted(without, association, False))
        if kind is not None:  # with trust-authors the same event counts: the comparison has teeth
            assert view(counted(with_it, association, True)) != view(counted(without, association, True))


def view(issue: StudyIssue | None) -> tuple | None:
    """What of a counted issue moves stages: its stage labels, and whether it is open."""
    return None if issue is None else (issue.labels, issue.open)


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
@pytest.mark.parametrize("case", OUTSIDER_SKIPS)
def test_an_outsiders_own_event_skips_the_job(workspaces, workflow, case, tmp_path):
    event, payload = OUTSIDER_SKIPS[case]
    assert verdict(workspaces, workflow, event, payload, tmp_path) == "skipped"
    assert parse_study_event(event, payload, STUDY_REPO, DEFAULT_CATALOG).reconcile  # relevant, read alone
    outsider_counts_nothing(payload)  # but it never counts


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
