"""Issues, labels, timelines and dispatches on the double, driven through PyGithub and raw HTTP."""

from __future__ import annotations

from urllib.parse import urlparse

import pytest
import requests
from github import GithubException, UnknownObjectException

STUDY = "ohdsi-demo/DemoStudy"
FACTORY = "ohdsi-demo/Factory"


@pytest.fixture
def token(mint_token) -> str:
    return mint_token()


def _call(github, method: str, path: str, token: str, **kwargs) -> requests.Response:
    return requests.request(method, f"{github.url}{path}", headers={"Authorization": f"token {token}"},
                            timeout=10, **kwargs)


def test_the_demo_study_lists_its_issues_and_pull_request(github, token, client):
    repo = client(token).get_repo(STUDY)
    listed = {i.number: i for i in repo.get_issues(state="all")}
    assert listed[1].title == "Draft the study protocol"
    assert (listed[1].state, listed[1].state_reason) == ("closed", "completed")
    assert [lab.name for lab in listed[1].labels] == ["stage:base-camp"]
    assert [lab.name for lab in listed[2].labels] == ["stage:protocol-development"]
    assert listed[3].pull_request is not None
    assert [i.number for i in repo.get_issues()] == [3, 2]  # open only, newest first


def test_every_url_points_back_at_the_double(github, token):
    issue = _call(github, "GET", f"/repos/{STUDY}/issues/1", token).json()
    for key in ("url", "repository_url", "comments_url", "events_url", "html_url", "timeline_url"):
        parsed = urlparse(issue[key])
        assert f"{parsed.scheme}://{parsed.netloc}" == github.url, key
    assert issue["labels"][0]["url"] == f"{github.url}/repos/{STUDY}/labels/stage%3Abase-camp"
    assert issue["node_id"] and issue["user"]["login"] == "demo-lead"


def test_create_edit_and_label_an_issue(github, token, client):
    repo = client(token).get_repo(FACTORY)
    issue = repo.create_issue("Track DemoStudy", body="Stage: base camp", labels=["study-tracking"])
    assert issue.number == 1 and issue.user.login == "factory-sync[bot]"

    issue.edit(title="Track DemoStudy (ohdsi-demo/DemoStudy)", body="Stage: protocol development",
               labels=["study-tracking", "stage:protocol-development"])
    issue.add_to_labels("needs-review")
    issue.remove_from_labels("study-tracking")
    issue.edit(state="closed", state_reason="not_planned")

    stored = github.world.repo(FACTORY).issues[1]
    assert stored.title == "Track DemoStudy (ohdsi-demo/DemoStudy)"
    assert stored.body == "Stage: protocol development"
    assert stored.labels == ["stage:protocol-development", "needs-review"]
    assert (stored.state, stored.state_reason) == ("closed", "not_planned")
    assert "needs-review" in github.world.repo(FACTORY).labels  # applying a label creates it

    events = [(e.event, e.label.name if e.event.endswith("labeled") else None) for e in issue.get_events()]
    assert events == [("labeled", "study-tracking"), ("renamed", None),
                      ("labeled", "stage:protocol-development"), ("labeled", "needs-review"),
                      ("unlabeled", "study-tracking"), ("closed", None)]
    assert [e.event for e in issue.get_timeline()] == [e for e, _ in events]


def test_patch_with_labels_replaces_the_set_and_records_the_changes(github, token):
    reply = _call(github, "PATCH", f"/repos/{STUDY}/issues/2", token,
                  json={"labels": [{"name": "stage:phenotype-development"}], "unknown_field": 1})
    assert reply.status_code == 200
    assert [lab["name"] for lab in reply.json()["labels"]] == ["stage:phenotype-development"]
    kinds = [(e.event, e.label) for e in github.world.repo(STUDY).issues[2].timeline[-2:]]
    assert kinds == [("unlabeled", "stage:protocol-development"), ("labeled", "stage:phenotype-development")]
    assert github.world.repo(STUDY).issues[2].timeline[-1].actor == "factory-sync[bot]"


def test_put_and_delete_issue_labels(github, token):
    put = _call(github, "PUT", f"/repos/{STUDY}/issues/2/labels", token, json={"labels": ["a", "b"]})
    assert [lab["name"] for lab in put.json()] == ["a", "b"]
    removed = _call(github, "DELETE", f"/repos/{STUDY}/issues/2/labels/a", token)
    assert [lab["name"] for lab in removed.json()] == ["b"]
    missing = _call(github, "DELETE", f"/repos/{STUDY}/issues/2/labels/a", token)
    assert missing.status_code == 404 and missing.json()["message"] == "Label does not exist"
    listed = _call(github, "GET", f"/repos/{STUDY}/issues/2/labels", token)
    assert [lab["name"] for lab in listed.json()] == ["b"]


def test_repository_labels_are_listed_read_and_created(github, token, client):
    repo = client(token).get_repo(FACTORY)
    assert {lab.name for lab in repo.get_labels()} >= {"stage:base-camp", "study-tracking"}
    created = repo.create_label("stage:archived", "cccccc", "Finished studies")
    assert (created.name, created.color) == ("stage:archived", "cccccc")
    assert created.description == "Finished studies"
    assert repo.get_label("STAGE:ARCHIVED").name == "stage:archived"
    with pytest.raises(UnknownObjectException):
        repo.get_label("stage:nowhere")
    again = _call(github, "POST", f"/repos/{FACTORY}/labels", token, json={"name": "stage:archived"})
    assert again.status_code == 422
    assert again.json()["errors"] == [{"resource": "Label", "code": "already_exists", "field": "name"}]


def test_pagination_follows_link_headers(github, token, client):
    repo = github.world.repo(FACTORY)
    for n in range(45):
        github.world.create_issue(repo, f"Issue {n}", None, "demo-lead", labels=["study-tracking"])
    github.log.clear()
    gh = client(token, per_page=20)
    factory = gh.get_repo(FACTORY)
    titles = [i.title for i in factory.get_issues(labels=[factory.get_label("study-tracking")])]
    assert len(titles) == 45 and titles[0] == "Issue 44"
    # As on GitHub, the Link headers name the repository by id, and PyGithub follows them as given.
    assert github.log.count("GET", f"/repos/{FACTORY}/issues") == 1
    assert github.log.count("GET", f"/repositories/{repo.id}/issues") == 2
    first_page = github.log.select("GET", f"/repos/{FACTORY}/issues")[0]
    assert f'/repositories/{repo.id}/issues?' in first_page.response_headers["Link"]
    assert 'rel="next"' in first_page.response_headers["Link"]
    assert 'rel="last"' in first_page.response_headers["Link"]


def test_link_header_names_every_relation(github, token):
    repo = github.world.repo(FACTORY)
    for n in range(5):
        github.world.create_issue(repo, f"Issue {n}", None, "demo-lead")
    reply = _call(github, "GET", f"/repos/{FACTORY}/issues", token, params={"per_page": 2, "page": 2})
    assert [i["title"] for i in reply.json()] == ["Issue 2", "Issue 1"]
    links = reply.headers["Link"]
    for rel, page in (("prev", 1), ("next", 3), ("last", 3), ("first", 1)):
        assert f"per_page=2&page={page}>; rel=\"{rel}\"" in links
        assert links.startswith(f"<{github.url}/repositories/{repo.id}/issues?")


def test_issue_filters(github, token):
    def titles(**params) -> list[str]:
        listed = _call(github, "GET", f"/repos/{STUDY}/issues", token, params=params)
        return [i["title"] for i in listed.json()]

    assert titles(state="closed") == ["Draft the study protocol"]
    assert titles(state="all", labels="stage:base-camp") == ["Draft the study protocol"]
    assert titles(state="all", labels="stage:base-camp,stage:protocol-development") == []
    assert titles(state="all", since="2025-03-24T00:00:00Z", direction="asc") == [
        "Review the protocol with the study team", "Add the protocol document"]
    assert titles(state="all", sort="updated")[0] == "Add the protocol document"


def test_validation_limits(github, token):
    def post(body: dict) -> requests.Response:
        return _call(github, "POST", f"/repos/{FACTORY}/issues", token, json=body)

    too_long = post({"title": "x", "body": "b" * 65537})
    assert too_long.status_code == 422
    assert too_long.json()["errors"] == [{"resource": "Issue", "code": "custom", "field": "body",
                                          "message": "body is too long (maximum is 65536 characters)"}]
    assert post({"title": "x", "body": "b" * 65536}).status_code == 201
    assert post({"body": "no title"}).json()["errors"][0] == {"resource": "Issue", "code": "missing_field",
                                                              "field": "title"}
    long_label = post({"title": "x", "labels": ["l" * 51]})
    assert long_label.status_code == 422
    assert long_label.json()["errors"][0]["message"] == "name is too long (maximum is 50 characters)"
    assert post({"title": "x", "labels": [f"l{n}" for n in range(101)]}).status_code == 422
    assert post({"title": "x", "labels": [f"l{n}" for n in range(100)]}).status_code == 201


def test_bad_json_and_missing_things(github, token):
    bad = _call(github, "POST", f"/repos/{FACTORY}/issues", token, data=b"{not json")
    assert bad.status_code == 400 and bad.json()["message"] == "Problems parsing JSON"
    assert _call(github, "GET", "/repos/ohdsi-demo/Nowhere/issues", token).status_code == 404
    assert _call(github, "GET", f"/repos/{STUDY}/issues/99", token).status_code == 404
    assert _call(github, "GET", "/no/such/route", token).json()["message"] == "Not Found"


def test_edit_on_a_missing_issue_raises_for_pygithub(github, token, client):
    with pytest.raises(UnknownObjectException):
        client(token).get_repo(STUDY).get_issue(42)


def test_repository_dispatch_needs_contents_write(github, mint_token):
    path = f"/repos/{FACTORY}/dispatches"
    body = {"event_type": "study-updated", "client_payload": {"study": STUDY}}
    refused = _call(github, "POST", path, mint_token(permissions={"issues": "write"}), json=body)
    assert refused.status_code == 403
    assert refused.headers["x-accepted-github-permissions"] == "contents=write"
    workflow = github.world.mint_workflow_token(FACTORY, {"contents": "write"})
    assert _call(github, "POST", path, workflow, json=body).status_code == 204
    (dispatch,) = github.world.dispatches
    assert (dispatch.kind, dispatch.repository, dispatch.event_type) == ("repository_dispatch", FACTORY,
                                                                          "study-updated")
    assert dispatch.client_payload == {"study": STUDY}
    assert _call(github, "POST", path, workflow, json={}).status_code == 422


def test_workflow_dispatch_is_recorded(github):
    token = github.world.mint_workflow_token(FACTORY, {"actions": "write"})
    reply = _call(github, "POST", f"/repos/{FACTORY}/actions/workflows/sync.yml/dispatches", token,
                  json={"ref": "main", "inputs": {"study": STUDY}})
    assert reply.status_code == 204
    (dispatch,) = github.world.dispatches
    assert (dispatch.kind, dispatch.workflow, dispatch.ref, dispatch.inputs) == (
        "workflow_dispatch", "sync.yml", "main", {"study": STUDY})


def test_reopening_records_the_event_and_reason(github, token, client):
    issue = client(token).get_repo(STUDY).get_issue(1)
    issue.edit(state="open")
    assert issue.state == "open" and issue.state_reason == "reopened" and issue.closed_at is None
    assert github.world.repo(STUDY).issues[1].timeline[-1].event == "reopened"


def test_invalid_state_is_a_validation_error(github, token, client):
    with pytest.raises(GithubException) as refused:
        client(token).get_repo(STUDY).get_issue(2).edit(state="done")
    assert refused.value.status == 422
