import copy
import json
from pathlib import Path

import pytest

from factory_sync.events import EventError, Trigger, is_factory, parse_factory_event, parse_study_event
from factory_sync.model import is_repo_name
from factory_sync.stages import DEFAULT_CATALOG

WORKFLOW_REPO = "OHDSI/Study"
WEBHOOKS = Path(__file__).parent / "fixtures" / "webhooks"


def label(name: str) -> dict:
    return {"id": 1, "name": name, "color": "d73a4a", "default": False, "description": None}


def issues_payload(action: str, *labels: str, repo: str = "OHDSI/Study", **extra) -> dict:
    """A trimmed `issues` payload shaped like GitHub's (see tests/fixtures/webhooks/issues.json)."""
    return {
        "action": action,
        "issue": {"number": 12, "title": "Draft the protocol", "state": "open",
                  "labels": [label(name) for name in labels]},
        "repository": {"id": 7, "name": repo.split("/")[1], "full_name": repo},
        "sender": {"login": "alice"},
        **extra,
    }


def without(payload: dict, *path: str) -> dict:
    damaged = copy.deepcopy(payload)
    target = damaged
    for key in path[:-1]:
        target = target[key]
    del target[path[-1]]
    return damaged


def replaced(payload: dict, value: object, *path: str) -> dict:
    damaged = copy.deepcopy(payload)
    target = damaged
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    return damaged


def parse(event_name: str, payload: object, repository: str = WORKFLOW_REPO) -> Trigger:
    return parse_study_event(event_name, payload, repository, DEFAULT_CATALOG)


# --- issues: labeled / unlabeled ------------------------------------------------------------

@pytest.mark.parametrize("action", ["labeled", "unlabeled"])
def test_adding_or_removing_a_stage_label_reconciles_the_study(action):
    trigger = parse("issues", issues_payload(action, "stage:base-camp", label=label("stage:base-camp")))
    assert trigger == Trigger("OHDSI/Study", True, f"OHDSI/Study#12 {action} 'stage:base-camp'")


def test_a_stage_label_outside_the_catalog_still_reconciles_so_it_can_be_reported():
    trigger = parse("issues", issues_payload("labeled", label=label("stage:draft")))
    assert trigger.reconcile
    assert trigger.notice == "OHDSI/Study#12 labeled 'stage:draft', which is not in the stage catalog"


def test_stage_labels_are_recognised_in_any_case():
    assert parse("issues", issues_payload("unlabeled", label=label("Stage:Base-Camp"))).reconcile


def test_other_labels_do_not_matter():
    trigger = parse("issues", issues_payload("labeled", "stage:base-camp", label=label("bug")))
    assert trigger == Trigger("OHDSI/Study", False, "label 'bug' is not a stage label; nothing to do")


# --- issues: other actions ------------------------------------------------------------------

@pytest.mark.parametrize("action", ["closed", "reopened", "deleted", "transferred", "edited"])
def test_changes_to_a_stage_issue_reconcile(action):
    trigger = parse("issues", issues_payload(action, "bug", "stage:protocol-development"))
    assert trigger == Trigger("OHDSI/Study", True,
                              f"OHDSI/Study#12 {action}, carrying stage:protocol-development")


@pytest.mark.parametrize("action", ["closed", "reopened", "deleted", "transferred", "edited"])
def test_changes_to_an_issue_without_a_stage_label_do_not_matter(action):
    trigger = parse("issues", issues_payload(action, "bug"))
    assert trigger == Trigger("OHDSI/Study", False, "OHDSI/Study#12 carries no stage label; nothing to do")


def test_a_title_edit_of_a_stage_issue_reconciles():
    changes = {"title": {"from": "Draft"}}
    assert parse("issues", issues_payload("edited", "stage:base-camp", changes=changes)).reconcile


def test_an_edit_that_keeps_the_title_does_not_matter():
    trigger = parse("issues", issues_payload("edited", "stage:base-camp", changes={"body": {"from": "x"}}))
    assert trigger == Trigger("OHDSI/Study", False, "OHDSI/Study#12: its title did not change; nothing to do")


def test_an_issue_transferred_in_with_a_stage_label_reconciles():
    payload = issues_payload("opened", "stage:base-camp",
                             changes={"old_issue": {"number": 3}, "old_repository": {"full_name": "o/old"}})
    assert parse("issues", payload).reconcile


def test_a_newly_opened_issue_waits_for_its_labeled_events():
    trigger = parse("issues", issues_payload("opened", "stage:base-camp"))
    assert not trigger.reconcile
    assert trigger.notice == "issues.opened: stage labels arrive as labeled events; nothing to do"


@pytest.mark.parametrize("action", ["assigned", "milestoned", "locked", "pinned", "unassigned"])
def test_other_issue_actions_do_not_matter(action):
    trigger = parse("issues", issues_payload(action, "stage:base-camp"))
    assert trigger == Trigger("OHDSI/Study", False, f"issues.{action} does not change stages; nothing to do")


def test_a_labeled_event_without_its_label_reconciles_to_be_safe():
    notice = "OHDSI/Study#12 labeled, label not in the payload; reconciling"
    assert parse("issues", issues_payload("labeled", "bug")) == Trigger("OHDSI/Study", True, notice)


@pytest.mark.parametrize("action", ["closed", "transferred"])
def test_an_issue_without_labels_in_the_payload_reconciles_to_be_safe(action):
    payload = without(issues_payload(action, "bug"), "issue", "labels")
    notice = f"OHDSI/Study#12 {action}, labels not in the payload; reconciling"
    assert parse("issues", payload) == Trigger("OHDSI/Study", True, notice)


def test_the_study_is_the_payload_repository():
    trigger = parse("issues", issues_payload("closed", "stage:base-camp", repo="Other/Repo.js"))
    assert trigger.study == "Other/Repo.js"


def test_without_a_repository_in_the_payload_the_workflow_repository_is_the_study():
    payload = issues_payload("closed", "stage:base-camp")
    del payload["repository"]
    assert parse("issues", payload).study == WORKFLOW_REPO


# --- label events ---------------------------------------------------------------------------

def label_payload(action: str, name: str, **extra) -> dict:
    return {"action": action, "label": label(name), "repository": {"full_name": "OHDSI/Study"}, **extra}


def test_deleting_a_stage_label_reconciles():
    trigger = parse("label", label_payload("deleted", "stage:base-camp"))
    assert trigger == Trigger("OHDSI/Study", True, "stage label 'stage:base-camp' deleted in OHDSI/Study")


@pytest.mark.parametrize(("old", "new"), [("stage:basecamp", "stage:base-camp"), ("stage:x", "x"),
                                          ("triage", "stage:base-camp")])
def test_renaming_a_label_to_or_from_a_stage_label_reconciles(old, new):
    trigger = parse("label", label_payload("edited", new, changes={"name": {"from": old}}))
    assert trigger.reconcile
    assert trigger.notice == f"label '{old}' renamed to '{new}' in OHDSI/Study"


@pytest.mark.parametrize("payload", [
    label_payload("edited", "stage:base-camp", changes={"color": {"from": "cb1f00"}}),
    label_payload("created", "stage:base-camp"),
    label_payload("deleted", "bug"),
    label_payload("edited", "wontfix", changes={"name": {"from": "invalid"}}),
])
def test_other_label_events_do_not_matter(payload):
    assert not parse("label", payload).reconcile


# --- dispatch -------------------------------------------------------------------------------

@pytest.mark.parametrize("payload", [{"inputs": {}}, {"inputs": None}, {}, {"inputs": {"study": "  "}}])
def test_a_manual_run_reconciles_the_workflow_repository(payload):
    assert parse("workflow_dispatch", payload) == Trigger(
        WORKFLOW_REPO, True, "workflow_dispatch: resync of OHDSI/Study requested")


def test_a_manual_run_may_name_the_study():
    assert parse("workflow_dispatch", {"inputs": {"study": " OHDSI/Other "}}).study == "OHDSI/Other"


@pytest.mark.parametrize("payload", [{"client_payload": {}}, {"client_payload": None},
                                     {"action": "factory-sync"}])
def test_a_repository_dispatch_reconciles_the_workflow_repository(payload):
    assert parse("repository_dispatch", payload).study == WORKFLOW_REPO


def test_a_repository_dispatch_may_name_the_study():
    payload = {"action": "factory-sync", "client_payload": {"study": "OHDSI/Other"}}
    trigger = parse("repository_dispatch", payload)
    assert trigger == Trigger("OHDSI/Other", True, "repository_dispatch: resync of OHDSI/Other requested")


@pytest.mark.parametrize(("event_name", "payload", "says"), [
    ("workflow_dispatch", {"inputs": {"study": "not a repo"}}, "input 'study' is 'not a repo'"),
    ("workflow_dispatch", {"inputs": {"study": "a/b/c"}}, "expected owner/name"),
    ("workflow_dispatch", {"inputs": {"study": 5}}, "'inputs.study' is a number, expected a string"),
    ("workflow_dispatch", {"inputs": "OHDSI/Other"}, "'inputs' is a string, expected an object"),
    ("repository_dispatch", {"client_payload": {"study": "../x"}}, "client_payload.study is '../x'"),
    ("repository_dispatch", {"client_payload": ["OHDSI/Other"]}, "'client_payload' is a list"),
])
def test_a_bad_requested_study_is_an_error(event_name, payload, says):
    with pytest.raises(EventError, match=says.replace("(", r"\(")):
        parse(event_name, payload)


def test_a_dispatch_without_a_valid_workflow_repository_is_an_error():
    with pytest.raises(EventError, match="GITHUB_REPOSITORY is ''; expected owner/name"):
        parse("workflow_dispatch", {}, repository="")


# --- other events ---------------------------------------------------------------------------

@pytest.mark.parametrize("event_name", ["push", "issue_comment", "pull_request", "schedule"])
def test_other_events_do_not_matter(event_name):
    notice = (f"event '{event_name}' is not one factory-sync handles (it acts on issues, label, "
              "workflow_dispatch and repository_dispatch); nothing to do")
    assert parse(event_name, {"action": "created"}) == Trigger(None, False, notice)


# --- malformed payloads ---------------------------------------------------------------------

LABELED = issues_payload("labeled", "stage:base-camp", label=label("stage:base-camp"))
CLOSED = issues_payload("closed", "stage:base-camp")


@pytest.mark.parametrize(("event_name", "payload", "says"), [
    ("issues", None, "issues event payload is missing, expected an object"),
    ("issues", ["not", "a", "dict"], "issues event payload is a list, expected an object"),
    ("issues", without(LABELED, "action"), "issues payload: 'action' is missing, expected a string"),
    ("issues", replaced(LABELED, 3, "action"), "'action' is a number, expected a string"),
    ("issues", replaced(LABELED, "stage:x", "label"), "'label' is a string, expected an object"),
    ("issues", without(LABELED, "label", "name"), "'label.name' is missing, expected a string"),
    ("issues", replaced(LABELED, None, "label", "name"), "'label.name' is missing"),
    ("issues", without(CLOSED, "issue"), "'issue' is missing, expected an object"),
    ("issues", replaced(CLOSED, "12", "issue", "number"), "'issue.number' is a string, expected a number"),
    ("issues", replaced(CLOSED, True, "issue", "number"), "'issue.number' is true/false, expected a number"),
    ("issues", replaced(CLOSED, {"name": "stage:x"}, "issue", "labels"), "'issue.labels' is an object"),
    ("issues", replaced(CLOSED, ["stage:x"], "issue", "labels"), "'issue.labels[0]' has no name"),
    ("issues", replaced(CLOSED, [{"title": "x"}], "issue", "labels"), "'issue.labels[0]' has no name"),
    ("issues", replaced(CLOSED, "OHDSI/Study", "repository"), "'repository' is a string, expected an object"),
    ("issues", without(CLOSED, "repository", "full_name"), "'repository.full_name' is missing"),
    ("issues", replaced(CLOSED, "nope", "repository", "full_name"), "'repository.full_name' is 'nope'"),
    ("issues", replaced(CLOSED, [], "changes"), "'changes' is a list, expected an object"),
    ("label", {"action": "deleted", "repository": {"full_name": "a/b"}}, "label payload: 'label' is missing"),
    ("label", label_payload("edited", "x", changes={"name": "old"}), "'changes.name' is a string"),
])
def test_malformed_payloads_raise_a_clear_event_error(event_name, payload, says):
    with pytest.raises(EventError) as caught:
        parse(event_name, payload)
    assert says in str(caught.value)
    assert "\n" not in str(caught.value)


# --- GitHub's example payloads --------------------------------------------------------------

def examples(event_name: str) -> list[dict]:
    return json.loads((WEBHOOKS / f"{event_name}.json").read_text(encoding="utf-8"))["examples"]


def test_every_github_issues_example_is_understood_and_none_of_them_concerns_stages():
    triggers = [parse("issues", payload) for payload in examples("issues")]
    assert len(triggers) == 29
    assert not any(trigger.reconcile for trigger in triggers)
    assert {trigger.study for trigger in triggers} == {"Codertocat/Hello-World", "octo-org/octo-repo"}


def as_stage_example(payload: dict) -> dict:
    """A copy of GitHub's example with its `bug` label renamed to a stage label."""
    staged = copy.deepcopy(payload)
    for entry in [staged.get("label"), *staged["issue"]["labels"]]:
        if entry is not None and entry["name"] == "bug":
            entry["name"] = "stage:protocol-development"
    if not staged["issue"]["labels"]:
        staged["issue"]["labels"] = [label("stage:protocol-development")]
    return staged


@pytest.mark.parametrize(("action", "reconciles"), [
    ("labeled", True), ("unlabeled", True), ("reopened", True), ("deleted", True), ("transferred", True),
    ("assigned", False), ("milestoned", False), ("locked", False), ("unassigned", False),
])
def test_github_examples_with_a_stage_label(action, reconciles):
    payloads = [as_stage_example(p) for p in examples("issues") if p["action"] == action]
    assert payloads
    assert all(parse("issues", payload).reconcile is reconciles for payload in payloads)


def test_github_examples_of_pinning_carry_no_labels_and_do_not_matter():
    pins = [p for p in examples("issues") if p["action"] in ("pinned", "unpinned")]
    assert pins
    assert all("labels" not in p["issue"] and not parse("issues", p).reconcile for p in pins)


def test_github_example_of_a_transferred_in_issue_with_a_stage_label_reconciles():
    transferred_in = [p for p in examples("issues") if p["action"] == "opened" and "changes" in p]
    assert len(transferred_in) == 1
    trigger = parse("issues", as_stage_example(transferred_in[0]))
    assert trigger.reconcile
    assert trigger.study == "Codertocat/Hello-World"


def test_github_examples_of_body_only_edits_do_not_reconcile():
    edits = [as_stage_example(p) for p in examples("issues") if p["action"] == "edited"]
    assert edits
    assert not any(parse("issues", payload).reconcile for payload in edits)


@pytest.mark.parametrize("event_name", ["workflow_dispatch", "repository_dispatch"])
def test_github_dispatch_examples_reconcile_the_workflow_repository(event_name):
    # GitHub's examples use their own repository_dispatch type; the study side answers only its own.
    payloads = [{**payload, "action": "factory-sync"} if event_name == "repository_dispatch" else payload
                for payload in examples(event_name)]
    assert all(parse(event_name, payload) == Trigger(WORKFLOW_REPO, True, f"{event_name}: resync of "
                                                                          f"{WORKFLOW_REPO} requested")
               for payload in payloads)


def test_a_study_repository_answers_only_its_own_repository_dispatch_type():
    # One rule for dispatches in a study repository and in the Factory.
    for payload in examples("repository_dispatch"):  # type "on-demand-test"
        assert parse("repository_dispatch", payload) == in_factory("repository_dispatch", payload)
        assert not parse("repository_dispatch", payload).reconcile


# --- repository names -----------------------------------------------------------------------

@pytest.mark.parametrize(("name", "valid"), [
    ("OHDSI/Study", True), ("o/r.js", True), ("my-org/my_repo-2", True),
    ("", False), ("OHDSI", False), ("a/b/c", False), ("a/..", False), ("./b", False), ("a b/c", False),
    ("a/b\n", False),
])
def test_is_repo_name(name, valid):
    assert is_repo_name(name) is valid


# --- runs in the Factory repository -----------------------------------------------------------

FACTORY_EVENT_TYPE = "factory-sync"


EVERY_STUDY = Trigger(None, True, "workflow_dispatch: resync of every study", all_studies=True)


def in_factory(event_name: str, payload: object) -> Trigger:
    return parse_factory_event(event_name, payload, FACTORY_EVENT_TYPE)


@pytest.mark.parametrize(("event_name", "payload", "expected"), [
    ("schedule", {"schedule": "23 3 * * *"}, Trigger(None, True, "schedule: resync of every study", True)),
    ("workflow_dispatch", {"inputs": {}}, EVERY_STUDY),
    ("workflow_dispatch", {"inputs": {"study": " "}}, EVERY_STUDY),
    ("workflow_dispatch", {"inputs": {"study": " OHDSI/Other "}},
     Trigger("OHDSI/Other", True, "workflow_dispatch: resync of OHDSI/Other requested")),
    ("repository_dispatch", {"action": "factory-sync", "client_payload": {"study": "OHDSI/Other"}},
     Trigger("OHDSI/Other", True, "repository_dispatch: resync of OHDSI/Other requested")),
    ("repository_dispatch", {"action": "factory-sync", "client_payload": {"all": True}},
     Trigger(None, True, "repository_dispatch: resync of every study", True)),
    ("repository_dispatch", {"client_payload": {"study": "OHDSI/Other", "all": False}},
     Trigger("OHDSI/Other", True, "repository_dispatch: resync of OHDSI/Other requested")),
    ("repository_dispatch", {"action": "deploy", "client_payload": {}},
     Trigger(None, False, "repository_dispatch of type 'deploy', not 'factory-sync'; nothing to do")),
    ("issues", {"action": "labeled"},
     Trigger(None, False, "event 'issues' in the Factory repository does not ask for a resync "
                          "(workflow_dispatch, schedule and repository_dispatch do); nothing to do")),
])
def test_in_the_factory_a_dispatch_or_schedule_resyncs_one_study_or_all(event_name, payload, expected):
    assert in_factory(event_name, payload) == expected


WANTED = 'send {"study": "owner/name"} for one study or {"all": true} for every study'


@pytest.mark.parametrize(("payload", "says"), [
    ({"action": "factory-sync"}, f"repository_dispatch payload has no client_payload: {WANTED}"),
    ({"client_payload": {}}, f"repository_dispatch client_payload names no study: {WANTED}"),
    ({"client_payload": {"all": False}}, "names no study"),
    ({"client_payload": {"all": "yes"}}, "'client_payload.all' is a string, expected true or false"),
    ({"client_payload": {"study": "a/b", "all": True}}, "names a study and asks for all"),
    ({"client_payload": {"study": ["a/b"]}}, "'client_payload.study' is a list, expected a string"),
    ({"client_payload": {"study": "not a repo"}}, "repository_dispatch client_payload.study is 'not a repo'"),
    ({"client_payload": "a/b"}, "'client_payload' is a string, expected an object"),
])
def test_a_malformed_dispatch_to_the_factory_is_a_clear_error(payload, says):
    with pytest.raises(EventError) as caught:
        in_factory("repository_dispatch", payload)
    assert says in str(caught.value)
    assert "\n" not in str(caught.value)


def test_github_repository_dispatch_examples_in_the_factory_need_a_study():
    for payload in examples("repository_dispatch"):  # GitHub's example: another type, no study
        assert not in_factory("repository_dispatch", payload).reconcile
        with pytest.raises(EventError, match="names no study"):
            parse_factory_event("repository_dispatch", payload, payload["action"])


@pytest.mark.parametrize(("repository", "factory", "expected"), [
    ("OHDSI/Factory", "ohdsi/factory", True), ("OHDSI/Study", "OHDSI/Factory", False), (None, "o/r", False)])
def test_is_factory(repository, factory, expected):
    assert is_factory(repository, factory) is expected
