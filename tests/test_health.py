"""`mode: check`, the health check, against the GitHub double: it finds what is wrong and writes nothing."""

from __future__ import annotations

import shlex

from actionkit import (
    FACTORY_REPO,
    STUDY_REPO,
    commit_config,
    commit_file,
    run_action,
    tracking_issues,
    writes,
)
from factory_sync.health import Finding, Verdict, missing_grants, render
from factory_sync.label_checklist import LabelGap, command, label_gaps
from factory_sync.stages import DEFAULT_CATALOG, Catalog, Stage
from github_double.demo_world import DEMO_INSTALLATION_ID, generate_private_key

CREATE_NETWORK = (f"gh label create 'stage:network-execution' --repo {STUDY_REPO} "
                  "--description 'Network Execution' --color fbca04")
CREATE_RESULTS = (f"gh label create 'stage:results-evaluation' --repo {STUDY_REPO} "
                  "--description 'Results Evaluation' --color 0e8a16")
RENAME_BASE_CAMP = f"gh label edit 'Stage:Base-Camp' --repo {STUDY_REPO} --name 'stage:base-camp'"


def test_a_good_setup_is_healthy_and_nothing_is_written(github, tmp_path) -> None:
    run = run_action(github, tmp_path, {}, event="workflow_dispatch", mode="check")

    assert run.code == 0, run.log
    assert run.outputs["healthy"] == "true"
    assert "health check: healthy" in run.summary
    for check in ("App sign-in", "Installation", "Permissions", "Factory access", "Study access"):
        assert f"| {check} | ✅ ok |" in run.summary
    assert "0 tracking issues" in run.summary
    assert "Protocol Development" in run.summary  # the study was read
    assert writes(github) == []
    assert tracking_issues(github) == []
    assert github.log.select("DELETE", "/installation/token", status=204)  # its token revoked
    assert [t for t in github.world.tokens.values() if t.installation_id and not t.revoked] == []


def test_in_the_factory_the_study_check_is_skipped(github, tmp_path) -> None:
    token = github.world.mint_workflow_token(FACTORY_REPO, {"issues": "read"})
    run = run_action(
        github, tmp_path, {}, event="schedule", repository=FACTORY_REPO, token=token, mode="check"
    )
    assert run.code == 0, run.log
    assert "| Study access | ⏭️ skipped |" in run.summary


def test_a_missing_permission_is_named_with_the_fix(github, tmp_path) -> None:
    github.world.installations[DEMO_INSTALLATION_ID].permissions = {"issues": "read", "metadata": "read"}
    run = run_action(github, tmp_path, {}, event="workflow_dispatch", mode="check")

    assert run.code == 1
    assert run.outputs["healthy"] == "false"
    assert "lacks contents: read, issues: write:" in run.summary
    assert "| Factory access | ⏭️ skipped | needs Permissions |" in run.summary
    assert any("Permissions" in e for e in run.errors)


def test_a_key_of_another_app_fails_the_sign_in(github, tmp_path) -> None:
    run = run_action(
        github, tmp_path, {}, event="workflow_dispatch", mode="check", private_key=generate_private_key()
    )
    assert run.code == 1
    assert "| App sign-in | ❌ failed |" in run.summary
    assert "GitHub answered 401" in run.summary
    assert "| Installation | ⏭️ skipped |" in run.summary
    assert "Traceback" not in run.log


def test_an_unreadable_study_fails_only_that_check(github, tmp_path) -> None:
    other = github.world.mint_workflow_token(FACTORY_REPO, {"issues": "read"})  # cannot see the study
    run = run_action(github, tmp_path, {}, event="workflow_dispatch", mode="check", token=other)
    assert run.code == 1
    assert "| Factory access | ✅ ok |" in run.summary
    assert "| Study access | ❌ failed |" in run.summary
    assert STUDY_REPO in run.summary


def test_missing_grants_counts_write_as_read() -> None:
    assert missing_grants({"issues": "write", "metadata": "read", "contents": "read"}) == {}
    assert missing_grants({"issues": "read"}) == {"issues": "write", "metadata": "read", "contents": "read"}
    assert missing_grants({"issues": "admin", "metadata": "write", "contents": "write"}) == {}


def test_render_escapes_table_cells() -> None:
    text = render([Finding("Factory access", Verdict.FAILED, "a | b\nc")])
    assert "| Factory access | ❌ failed | a \\| b c |" in text
    assert "not healthy" in text


def row_of(summary: str, check: str) -> str:
    return next(line for line in summary.splitlines() if line.startswith(f"| {check} |"))


def test_a_study_lacking_stage_labels_gets_the_commands_that_add_them(github, tmp_path) -> None:
    with github.world.lock:  # the study's lead deleted two labels and renamed one
        labels = github.world.repo(STUDY_REPO).labels
        del labels["stage:network-execution"], labels["stage:results-evaluation"]
        labels["stage:base-camp"].name = "Stage:Base-Camp"
    github.log.clear()
    run = run_action(github, tmp_path, {}, event="workflow_dispatch", mode="check")

    assert run.code == 0, run.log  # a warning: the study works before its labels exist
    assert run.outputs["healthy"] == "true"
    row = row_of(run.summary, "Stage labels")
    assert "⚠️ warning" in row
    assert "2 of the 6 stage labels" in row and "'stage:network-execution', 'stage:results-evaluation'" in row
    assert "'stage:base-camp' is spelt 'Stage:Base-Camp'" in row
    section = run.summary.split(f"#### Stage labels for {STUDY_REPO}")[1]
    commands = section.split("```sh\n")[1].split("\n```")[0]
    assert commands.splitlines() == [RENAME_BASE_CAMP, CREATE_NETWORK, CREATE_RESULTS]
    for line in (RENAME_BASE_CAMP, CREATE_NETWORK, CREATE_RESULTS):
        assert line in run.log
    assert len(github.log.select("POST", "/graphql")) == 1  # the labels came with the study's issues
    assert writes(github) == []


def test_a_study_with_every_label_says_so_and_lists_no_commands(github, tmp_path) -> None:
    run = run_action(github, tmp_path, {}, event="workflow_dispatch", mode="check")
    assert run.code == 0, run.log
    assert ("| Stage labels | ✅ ok | all 6 stage labels of the catalog from the OHDSI catalog "
            "\\(the default\\) are present |") in run.summary
    assert "gh label" not in run.summary and "gh label" not in run.log


def test_a_study_s_own_catalog_is_the_one_its_labels_are_checked_against(github, mint_token, tmp_path):
    catalog = 'stages:\n  - label: "stage:design"\n    name: Design\n  - label: "stage:run"\n    name: Run\n'
    commit_file(github, mint_token, STUDY_REPO, ".github/factory-stages.yml", catalog)
    run = run_action(github, tmp_path, {}, event="workflow_dispatch", mode="check")

    assert run.code == 0, run.log
    own = f"{STUDY_REPO}'s .github/factory-stages.yml"
    assert f"for {STUDY_REPO}: stage catalog (2 stages: stage:design, stage:run) from {own}" in run.log
    assert f"of the catalog from {own} are missing" in row_of(run.summary, "Stage labels")
    assert (f"gh label create 'stage:design' --repo {STUDY_REPO} --description 'Design' --color c5def5"
            in run.summary)


def test_the_settings_that_apply_are_listed_with_where_each_came_from(github, mint_token, tmp_path) -> None:
    commit_config(github, mint_token, "stall-days: 30\n")
    run = run_action(github, tmp_path, {}, event="workflow_dispatch", mode="check", tracking_label="tracked")

    assert run.code == 0, run.log
    config = f".github/factory-sync.yml in {FACTORY_REPO}"
    assert f"| Settings | ✅ ok | read {config};" in run.summary
    settings = run.summary.split("#### Settings that apply\n\n")[1]
    for line in ("stage catalog (6 stages: stage:base-camp, stage:protocol-development",
                 f"stall-days 30 from {config}", "dashboard-label portfolio-dashboard from the default",
                 "tracking-label tracked from the step's input"):
        assert f"- {line}" in run.log
        assert line.replace("(", "\\(") in settings
    assert "0 tracking issues labelled 'tracked'" in run.summary


def test_a_factory_config_with_a_mistake_fails_the_settings_check(github, mint_token, tmp_path) -> None:
    commit_config(github, mint_token, "stall-dayz: 30\n")
    run = run_action(github, tmp_path, {}, event="workflow_dispatch", mode="check")
    assert run.code == 1
    assert "| Settings | ❌ failed |" in run.summary and "did you mean 'stall-days'?" in run.summary
    assert "| Stage labels | ⏭️ skipped | needs Settings |" in run.summary


def test_an_installation_without_contents_fails_with_the_fix(github, tmp_path) -> None:
    github.world.installations[DEMO_INSTALLATION_ID].permissions = {"issues": "write", "metadata": "read"}
    run = run_action(github, tmp_path, {}, event="workflow_dispatch", mode="check")

    assert run.code == 1
    assert run.outputs["healthy"] == "false"
    row = row_of(run.summary, "Permissions")
    assert "❌ failed" in row and "it lacks contents: read" in row
    assert "Permissions &amp; events → Repository permissions, set Contents: Read-only" in row
    assert "an organization owner accepts the new permissions" in row
    assert "| Factory access | ⏭️ skipped | needs Permissions |" in run.summary
    assert any("Contents: Read-only" in error for error in run.errors)


def test_label_gaps_compare_names_as_github_does() -> None:
    assert label_gaps(DEFAULT_CATALOG, [stage.label for stage in DEFAULT_CATALOG.stages]) == []
    gaps = label_gaps(DEFAULT_CATALOG, ["STAGE:BASE-CAMP", "stage:protocol-development", "stage:other"])
    assert [(gap.stage.label, gap.existing) for gap in gaps][:2] == [
        ("stage:base-camp", "STAGE:BASE-CAMP"), ("stage:phenotype-development", None)]
    assert len(gaps) == 5


def test_commands_quote_every_word_for_a_posix_shell() -> None:
    stage = Stage("stage:it's $(done)", "Team's `first` step; rm -rf ~")
    [gap] = label_gaps(Catalog((stage,)), [])
    line = command(gap, "o/r")
    assert line == ("gh label create 'stage:it'\"'\"'s $(done)' --repo o/r --description "
                    "'Team'\"'\"'s `first` step; rm -rf ~' --color c5def5")
    assert shlex.split(line) == ["gh", "label", "create", stage.label, "--repo", "o/r", "--description",
                                 stage.name, "--color", "c5def5"]
    renamed = command(LabelGap(stage, 0, "Stage:It's $(done)"), "o/r")
    assert shlex.split(renamed) == ["gh", "label", "edit", "Stage:It's $(done)", "--repo", "o/r", "--name",
                                    stage.label]
