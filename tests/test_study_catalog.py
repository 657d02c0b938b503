"""A study with a catalog of its own (`.github/factory-stages.yml` in its repository): its own run and
the Factory's resync both read it through the API, so they apply the same stages and never rewrite
each other's tracking issue. Over HTTP against the double, as a study lead would set it up."""

from __future__ import annotations

from actionkit import commit_file
from github_double.demo_world import DEMO_OWNER, STUDY_REPO
from github_double.server import GitHubDouble
from stepkit import run_step

FACTORY = f"{DEMO_OWNER}/Factory"
CATALOG = """\
stages:
  - label: "stage:design"
    name: Design
  - label: "stage:run"
    name: Run
"""
QUIET = {"dashboard_label": "false"}  # only the tracking issue is counted


def tracking_writes(github: GitHubDouble) -> list[str]:
    return [f"{e.method} {e.path}" for e in github.log.entries()
            if e.method in ("POST", "PATCH") and e.path.startswith(f"/repos/{FACTORY}/issues")]


def test_a_study_run_and_the_resync_apply_the_same_own_catalog_one_write_in_all(github, mint_token, tmp_path):
    commit_file(github, mint_token, STUDY_REPO, ".github/factory-stages.yml", CATALOG)  # by its lead
    world = github.world
    with world.lock:
        study = world.repo(STUDY_REPO)
        for issue in list(study.issues.values()):  # the demo study's OHDSI stage labels, gone
            for label in [name for name in issue.labels if name.startswith("stage:")]:
                world.remove_label(study, issue, label, "demo-lead")
        design = world.create_issue(study, "Study design", "", "demo-lead")
        world.add_label(study, design, "stage:design", "demo-lead")
    github.log.clear()

    runs = [run_step(github, tmp_path / "study1", "workflow_dispatch", {"inputs": {}}, repository=STUDY_REPO,
                     **QUIET),
            run_step(github, tmp_path / "resync1", "workflow_dispatch", {"inputs": {}}, repository=FACTORY,
                     **QUIET),
            run_step(github, tmp_path / "study2", "workflow_dispatch", {"inputs": {}}, repository=STUDY_REPO,
                     **QUIET),
            run_step(github, tmp_path / "resync2", "workflow_dispatch", {"inputs": {}}, repository=FACTORY,
                     **QUIET)]

    assert [run.code for run in runs] == [0, 0, 0, 0], [run.log for run in runs if run.code]
    assert tracking_writes(github) == [f"POST /repos/{FACTORY}/issues"]  # the create; then nothing
    assert [run.outputs["changed"] for run in runs] == ["true", "false", "false", "false"]
    [tracking] = [i for i in world.repo(FACTORY).issues.values() if "study-tracking" in i.labels]
    assert "## Current stage: Design" in tracking.body
    assert "Phenotype Development" not in tracking.body  # the OHDSI catalog never applied


def test_an_update_under_a_study_s_own_catalog_reports_no_stage_move_that_did_not_happen(github, mint_token,
                                                                                         tmp_path):
    # A stage name Markdown escapes in the tracking issue (`_`) tells the study's catalog from another's.
    commit_file(github, mint_token, STUDY_REPO, ".github/factory-stages.yml",
                CATALOG.replace("name: Design", "name: Design_Phase"))
    world = github.world
    with world.lock:
        study = world.repo(STUDY_REPO)
        for issue in list(study.issues.values()):
            for label in [name for name in issue.labels if name.startswith("stage:")]:
                world.remove_label(study, issue, label, "demo-lead")
        world.add_label(study, world.create_issue(study, "Study design", "", "demo-lead"), "stage:design",
                        "demo-lead")
    first = run_step(github, tmp_path / "first", "workflow_dispatch", {"inputs": {}}, repository=STUDY_REPO,
                     **QUIET)
    with world.lock:  # a second issue of the same stage: the progress block changes, the stage does not
        world.add_label(study, world.create_issue(study, "Cohort review", "", "demo-lead"), "stage:design",
                        "demo-lead")
    second = run_step(github, tmp_path / "second", "workflow_dispatch", {"inputs": {}}, repository=FACTORY,
                      **QUIET)  # the resync, whose own catalog is the Factory's (OHDSI's)

    assert (first.code, second.code) == (0, 0), second.log
    assert second.outputs["changed-count"] == "1"
    # The stage read back with the catalog it was written by: the same stage, no move reported.
    assert f"[1/1] {STUDY_REPO}: updated #1 (progress block updated)" in second.log
    assert "| Design\\_Phase | Design\\_Phase |" in second.summary
    assert "stage:" not in second.summary.split("#### Studies by stage")[0].split("| What changed |")[1]
