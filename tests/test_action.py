"""The action step end to end: `python -m factory_sync action` against the GitHub double over HTTP."""

from __future__ import annotations

import random
from datetime import UTC, datetime

import pytest

from actionkit import (
    FACTORY_REPO,
    RUN_ID,
    STUDY_REPO,
    leaks,
    run_action,
    stage_rows,
    study_event,
    tracking_issues,
    webhook_examples,
    writes,
)
from github_double.demo_world import build_demo_world
from github_double.world import Clock

STAGE_ACTIONS = ("labeled", "unlabeled", "closed", "reopened", "deleted", "transferred", "edited")


def add_study_issue(github, title: str, label: str, actor: str = "demo-lead"):
    world = github.world
    study = world.repo(STUDY_REPO)
    with world.lock:
        issue = world.create_issue(study, title, "", actor)
        world.add_label(study, issue, label, actor)
    return issue


def test_a_stage_label_creates_the_tracking_issue(github, tmp_path) -> None:
    issue = add_study_issue(github, "Define the cohorts", "stage:phenotype-development")
    run = run_action(github, tmp_path, study_event("labeled", issue, label="stage:phenotype-development"))

    assert run.code == 0, run.log
    [tracking] = tracking_issues(github)
    assert tracking.title == f"Study: {STUDY_REPO}"
    assert tracking.labels == ["study-tracking", "stage:phenotype-development"]
    assert f"<!-- factory-sync:begin study={STUDY_REPO} -->" in tracking.body
    assert "## Current stage: Phenotype Development" in tracking.body
    assert run.outputs == {
        "factory-issue-number": str(tracking.number),
        "factory-issue-url": f"{github.url}/{FACTORY_REPO}/issues/{tracking.number}",
        "stage": "stage:phenotype-development",
        "changed": "true",
        "stalled": "false",
    }
    assert "| Stage before | none |" in run.summary
    assert "| Stage after | Phenotype Development |" in run.summary
    assert f"actions/runs/{RUN_ID}" in tracking.body


def test_every_issues_example_runs_and_non_stage_ones_make_no_request(github, tmp_path) -> None:
    examples = webhook_examples("issues")
    assert len(examples) == 29
    for payload in examples:
        github.log.clear()
        run = run_action(github, tmp_path, payload, repository="Codertocat/Hello-World")
        assert run.code == 0, (payload["action"], run.log)
        assert "Traceback" not in run.log
        assert len(github.log) == 0, payload["action"]
        assert any(line.startswith("::notice::") for line in run.stdout.splitlines()), run.stdout
        assert run.outputs["changed"] == "false"


@pytest.mark.parametrize("action", STAGE_ACTIONS)
def test_every_stage_related_example_reconciles(github, tmp_path, action: str) -> None:
    issue = add_study_issue(github, "Review the protocol", "stage:protocol-development")
    payload = study_event(action, issue, label="stage:protocol-development")
    if action == "edited":
        payload["changes"] = {"title": {"from": "Old title"}}
    run = run_action(github, tmp_path, payload)

    assert run.code == 0, run.log
    assert github.log.count("POST", "/graphql") == 1
    assert run.outputs["stage"] == "stage:protocol-development"
    [tracking] = tracking_issues(github)
    assert "## Current stage: Protocol Development" in tracking.body


def test_labeled_closed_reopened_unlabeled_in_turn(github, tmp_path) -> None:
    world, study = github.world, github.world.repo(STUDY_REPO)
    issue = add_study_issue(github, "Define the cohorts", "stage:phenotype-development")
    label = "stage:phenotype-development"

    def step(action: str, **kw: str) -> dict[str, str]:
        run = run_action(github, tmp_path, study_event(action, issue, **kw))
        assert run.code == 0, run.log
        [tracking] = tracking_issues(github)
        return stage_rows(tracking.body) | {
            "labels": ",".join(tracking.labels),
            "stage": run.outputs["stage"],
        }

    rows = step("labeled", label=label)
    assert rows["Phenotype Development"] == "in progress"
    assert rows["Protocol Development"] == "in progress"
    assert rows["stage"] == label

    with world.lock:
        world.set_state(study.issues[2], "closed", "demo-lead")  # protocol development done
        world.set_state(issue, "closed", "demo-lead")
    rows = step("closed")
    assert rows["Protocol Development"] == "complete"
    assert rows["Phenotype Development"] == "complete"
    assert rows["stage"] == "stage:analysis-specifications"
    assert rows["labels"] == "study-tracking,stage:analysis-specifications"

    with world.lock:
        world.set_state(issue, "open", "demo-lead")
    rows = step("reopened")
    assert rows["Phenotype Development"] == "in progress"
    assert rows["stage"] == label

    with world.lock:
        world.remove_label(study, issue, label, "demo-lead")
    rows = step("unlabeled", label=label)
    assert rows["Phenotype Development"] == "pending"
    assert rows["stage"] == label  # the stage after Protocol Development, the furthest complete
    assert rows["labels"] == f"study-tracking,{label}"


def test_replaying_an_event_makes_no_write(github, tmp_path) -> None:
    issue = add_study_issue(github, "Define the cohorts", "stage:phenotype-development")
    payload = study_event("labeled", issue, label="stage:phenotype-development")
    assert run_action(github, tmp_path, payload).code == 0
    [before] = tracking_issues(github)
    body = before.body

    for replay in (payload, study_event("closed", issue), payload):
        github.log.clear()
        run = run_action(github, tmp_path, replay, env={"GITHUB_RUN_ID": "9999"})
        assert run.code == 0, run.log
        assert writes(github) == []
        assert run.outputs["changed"] == "false"
        assert "already up to date" in run.summary
    assert tracking_issues(github)[0].body == body  # a newer run link alone is not a change


def test_shuffled_events_give_a_byte_identical_body(github, tmp_path, app_private_key) -> None:
    start = datetime.now(UTC).replace(microsecond=0)

    def play(order: list[int]) -> str:
        world, key = build_demo_world(clock=Clock(start), private_key=app_private_key)
        github.reset(world, key)
        study = world.repo(STUDY_REPO)
        events = []
        with world.lock:
            for title, label in (
                ("Cohorts", "stage:phenotype-development"),
                ("Analysis plan", "stage:analysis-specifications"),
            ):
                world.clock.advance(60)
                issue = world.create_issue(study, title, "", "demo-lead")
                world.add_label(study, issue, label, "demo-lead")
                events.append(study_event("labeled", issue, label=label))
            world.clock.advance(60)
            world.set_state(study.issues[2], "closed", "demo-analyst")
            events.append(study_event("closed", study.issues[2]))
            world.clock.advance(60)
            world.remove_label(study, study.issues[4], "stage:phenotype-development", "demo-lead")
            events.append(study_event("unlabeled", study.issues[4], label="stage:phenotype-development"))
        for index in order:
            assert run_action(github, tmp_path, events[index]).code == 0
        [tracking] = tracking_issues(github)
        return tracking.body

    in_order = play([0, 1, 2, 3])
    shuffled = list(range(4))
    random.Random(7).shuffle(shuffled)
    assert shuffled != [0, 1, 2, 3]
    assert play(shuffled) == in_order
    assert play([3, 3, 1]) == in_order  # duplicated and missed events too


def test_text_around_the_block_survives_byte_for_byte(github, tmp_path) -> None:
    issue = add_study_issue(github, "Define the cohorts", "stage:phenotype-development")
    assert (
        run_action(github, tmp_path, study_event("labeled", issue, label="stage:phenotype-development")).code
        == 0
    )
    [tracking] = tracking_issues(github)
    above = "Notes from the coordinators \u2014 *keep*\r\n\r\n| odd | table |\r\n\n"
    below = "\n\n```\n<!-- factory-sync:end -->\n```\nTrailing spaces   \n\u202eRTL text"
    tracking.body = above + tracking.body + below

    with github.world.lock:
        github.world.set_state(issue, "closed", "demo-lead")
    run = run_action(github, tmp_path, study_event("closed", issue))
    assert run.code == 0, run.log
    body = tracking_issues(github)[0].body
    assert body.startswith(above)
    assert body.endswith(below)
    assert "Phenotype Development | ✅ complete" in body


def test_an_old_format_issue_is_adopted_and_its_text_kept(github, tmp_path) -> None:
    old = (
        "**Repository:** https://github.com/ohdsi-demo/DemoStudy\n\nStatus: protocol review\n\n"
        "Contacts: @coordinator, see <https://example.org/notes>\n"
    )
    world = github.world
    with world.lock:
        world.create_issue(
            world.repo(FACTORY_REPO), "DemoStudy", old, "factory-bot", labels=["study-tracking"]
        )
    issue = add_study_issue(github, "Define the cohorts", "stage:phenotype-development")
    run = run_action(github, tmp_path, study_event("labeled", issue, label="stage:phenotype-development"))

    assert run.code == 0, run.log
    [tracking] = tracking_issues(github)
    assert tracking.body.startswith(old)
    assert "block added to an old-format issue" in run.log
    assert len(writes(github)) == 1


def test_token_is_narrowed_to_the_factory_and_revoked(github, tmp_path) -> None:
    issue = add_study_issue(github, "Define the cohorts", "stage:phenotype-development")
    run = run_action(github, tmp_path, study_event("labeled", issue, label="stage:phenotype-development"))
    assert run.code == 0, run.log

    app_side = [e for e in github.log.entries() if e.principal.startswith("installation:")]
    assert app_side, "the Factory is written with an installation token"
    assert {e.token_id for e in app_side} == {app_side[0].token_id}
    for entry in app_side:
        assert entry.token_repositories == [FACTORY_REPO]
        # contents: read is for the Factory's config file, on the Factory only
        assert entry.token_permissions == {"contents": "read", "issues": "write", "metadata": "read"}
    last = github.log.last()
    assert (last.method, last.path, last.status) == ("DELETE", "/installation/token", 204)
    live = [t for t in github.world.tokens.values() if t.installation_id is not None and not t.revoked]
    assert live == []
    assert leaks(run, github) == []


def test_a_failing_run_still_revokes_its_token_and_leaks_nothing(github, tmp_path) -> None:
    issue = add_study_issue(github, "Define the cohorts", "stage:phenotype-development")
    github.faults.add("500", method="PATCH", path="/repos/*/issues/*", times=None)
    github.faults.add("500", method="POST", path=f"/repos/{FACTORY_REPO}/issues", times=None)
    run = run_action(github, tmp_path, study_event("labeled", issue, label="stage:phenotype-development"))

    assert run.code == 1
    assert "Traceback" not in run.log
    [error] = run.errors
    assert "GitHub answered 500" in error
    assert github.log.select("DELETE", "/installation/token", status=204)
    assert [t for t in github.world.tokens.values() if t.installation_id and not t.revoked] == []
    assert leaks(run, github) == []


def test_a_labelled_event_costs_at_most_eight_requests_with_100_tracking_issues(github, tmp_path) -> None:
    # The study read, the installation, the token, the Factory's config, the tracking issues, the
    # tracking issue read again just before it is written, the write, the revoke.
    world = github.world
    factory = world.repo(FACTORY_REPO)
    with world.lock:
        for n in range(99):
            body = (
                f"<!-- factory-sync:begin study=ohdsi-demo/Study{n:03} -->\nold\n<!-- factory-sync:end -->\n"
            )
            world.create_issue(
                factory,
                f"Study: ohdsi-demo/Study{n:03}",
                body,
                "factory-sync[bot]",
                labels=["study-tracking"],
            )
    issue = add_study_issue(github, "Define the cohorts", "stage:phenotype-development")
    run_action(github, tmp_path, study_event("labeled", issue, label="stage:phenotype-development"))
    assert len(tracking_issues(github)) == 100

    with world.lock:
        world.set_state(issue, "closed", "demo-lead")
    github.log.clear()
    run = run_action(github, tmp_path, study_event("closed", issue))

    assert run.code == 0, run.log
    assert run.outputs["changed"] == "true"
    requests = [f"{e.method} {e.path}" for e in github.log.entries()]
    assert len(requests) <= 8, requests
    assert not [r for r in requests if "/search" in r]
    assert len(writes(github)) == 1


def test_dry_run_shows_the_diff_and_writes_nothing(github, tmp_path) -> None:
    issue = add_study_issue(github, "Define the cohorts", "stage:phenotype-development")
    run = run_action(
        github, tmp_path, study_event("labeled", issue, label="stage:phenotype-development"), dry_run="true"
    )
    assert run.code == 0, run.log
    assert writes(github) == []
    assert tracking_issues(github) == []
    assert "```diff" in run.summary
    assert "+## Current stage: Phenotype Development" in run.summary
    assert run.outputs["changed"] == "false"


def test_create_missing_false_leaves_the_factory_alone(github, tmp_path) -> None:
    issue = add_study_issue(github, "Define the cohorts", "stage:phenotype-development")
    run = run_action(
        github,
        tmp_path,
        study_event("labeled", issue, label="stage:phenotype-development"),
        create_missing="false",
    )
    assert run.code == 0, run.log
    assert tracking_issues(github) == []
    assert run.outputs["factory-issue-number"] == ""
    assert "create-missing is false" in run.summary


def test_two_tracking_issues_for_one_study_fail_naming_both(github, tmp_path) -> None:
    world = github.world
    body = f"<!-- factory-sync:begin study={STUDY_REPO} -->\n<!-- factory-sync:end -->\n"
    with world.lock:
        for _ in range(2):
            world.create_issue(world.repo(FACTORY_REPO), "DemoStudy", body, "x", labels=["study-tracking"])
    issue = add_study_issue(github, "Define the cohorts", "stage:phenotype-development")
    run = run_action(github, tmp_path, study_event("labeled", issue, label="stage:phenotype-development"))
    assert run.code == 1
    [error] = run.errors
    assert "#1" in error and "#2" in error
    assert writes(github) == []


def test_an_unknown_stage_label_warns_and_is_listed(github, tmp_path) -> None:
    issue = add_study_issue(github, "Write the paper", "stage:publication")
    run = run_action(github, tmp_path, study_event("labeled", issue, label="stage:publication"))
    assert run.code == 0, run.log
    assert any(
        line.startswith("::warning") and "stage:publication" in line for line in run.stdout.splitlines()
    )
    assert "stage:publication" in tracking_issues(github)[0].body


def test_factory_issue_input_pins_the_issue(github, tmp_path) -> None:
    world = github.world
    with world.lock:
        pinned = world.create_issue(world.repo(FACTORY_REPO), "DemoStudy (pinned)", "Notes.\n", "x")
    issue = add_study_issue(github, "Define the cohorts", "stage:phenotype-development")
    run = run_action(
        github,
        tmp_path,
        study_event("labeled", issue, label="stage:phenotype-development"),
        factory_issue=str(pinned.number),
        installation_id="100",
    )
    assert run.code == 0, run.log
    assert pinned.body.startswith("Notes.\n")
    assert "## Current stage: Phenotype Development" in pinned.body
    assert github.log.count("GET", f"/repos/{FACTORY_REPO}/installation") == 0


@pytest.mark.parametrize("event", ["workflow_dispatch", "repository_dispatch"])
def test_a_dispatch_in_a_study_repo_reconciles_that_study(github, tmp_path, event: str) -> None:
    payload = webhook_examples(event)[0]
    payload["repository"]["full_name"] = STUDY_REPO
    if event == "repository_dispatch":
        payload["action"] = "factory-sync"  # the type the action answers; GitHub's example has its own
    run = run_action(github, tmp_path, payload, event=event)
    assert run.code == 0, run.log
    assert run.outputs["stage"] == "stage:protocol-development"
    assert len(tracking_issues(github)) == 1
