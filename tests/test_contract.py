"""Every exchange of a representative session conforms to GitHub's published API descriptions."""

from __future__ import annotations

import dataclasses
import json

import pytest
from github import Auth, Github, GithubException, GithubIntegration

from contract.checker import ContractChecker, operation_of, report, subset_operations
from factory_sync.app_tokens import App
from factory_sync.study_query import LABELS, Piece, build_query
from github_double.demo_world import DEMO_OWNER, FACTORY_REPO, STUDY_REPO, TRACKING_LABEL

PERMISSIONS = {"issues": "write", "contents": "read", "metadata": "read"}  # contents: the stage catalog


def plain_client(github, token: str, **options) -> Github:
    """PyGithub without pauses or retries, so error answers come back at once."""
    return Github(auth=Auth.Token(token), base_url=github.url, seconds_between_requests=None,
                  seconds_between_writes=None, retry=None, **options)


def run_session(github) -> None:
    """What the action does in a sync, plus the error answers it must survive."""
    app = App(github.app_id, github.private_key, github.url)
    installation_id = app.installation_id(STUDY_REPO)
    integration = GithubIntegration(auth=Auth.AppAuth(github.app_id, github.private_key), base_url=github.url,
                                    retry=None)
    assert integration.get_org_installation(DEMO_OWNER).id == installation_id
    assert integration.get_app().slug == "factory-sync"
    token = app.mint(installation_id, [FACTORY_REPO, STUDY_REPO], PERMISSIONS).value

    gh = plain_client(github, token, per_page=1)  # one item a page: every list is paginated
    requester = gh.requester
    requester.requestJsonAndCheck("GET", "/installation/repositories")
    study = gh.get_repo(STUDY_REPO)
    assert len(list(study.get_issues(state="all"))) == 3
    query = build_query([Piece(LABELS, STUDY_REPO)])
    _, body = requester.graphql_query(query.text, query.variables)
    assert body["data"]["s0"]["nameWithOwner"] == STUDY_REPO

    factory = gh.get_repo(FACTORY_REPO)
    assert len(list(factory.get_labels())) == 7
    factory.get_label("stage:base-camp")
    factory.create_label("stage:archived", "ededed", "Finished studies")
    issue = factory.create_issue(title="DemoStudy", body="Tracking", labels=[TRACKING_LABEL])
    issue.edit(body="Tracking, stage: base camp", labels=[TRACKING_LABEL, "stage:base-camp"])
    issue_path = f"/repos/{FACTORY_REPO}/issues/{issue.number}"
    # The label endpoints in the object form the description documents (PyGithub sends bare arrays).
    requester.requestJsonAndCheck("POST", f"{issue_path}/labels", input={"labels": ["stage:archived"]})
    requester.requestJsonAndCheck("PUT", f"{issue_path}/labels",
                                  input={"labels": [TRACKING_LABEL, "stage:protocol-development"]})
    issue.remove_from_labels("stage:protocol-development")
    issue = factory.get_issue(issue.number)
    assert [label.name for label in issue.get_labels()] == [TRACKING_LABEL]
    assert len(list(issue.get_events())) >= 5
    assert len(list(issue.get_timeline())) >= 5

    # A study's workflow tells the Factory to sync, with its own GITHUB_TOKEN.
    with github.world.lock:
        workflow_token = github.world.mint_workflow_token(FACTORY_REPO,
                                                          {"actions": "write", "contents": "write"})
    workflow = plain_client(github, workflow_token, lazy=True)
    workflow.get_repo(FACTORY_REPO).create_repository_dispatch("factory-sync", {"study": STUDY_REPO})
    workflow.requester.requestJsonAndCheck(
        "POST", f"/repos/{FACTORY_REPO}/actions/workflows/sync.yml/dispatches",
        input={"ref": "main", "inputs": {"study": STUDY_REPO}})
    assert gh.get_rate_limit().resources.core.limit == 5000

    # The old Factory updater read its configuration file (the benchmark's baseline does too).
    with github.world.lock:
        github.world.repo(FACTORY_REPO).files["factory-config.yml"] = b"stages: default\n"
        reader_token = github.world.mint_workflow_token(FACTORY_REPO, {"contents": "read"})
    config_repo = plain_client(github, reader_token, lazy=True).get_repo(FACTORY_REPO)
    config = config_repo.get_contents("factory-config.yml")
    assert config.decoded_content == b"stages: default\n"
    # A Factory admin commits the Factory's config file, then changes it (the product only reads it).
    with github.world.lock:
        writer_token = github.world.mint_workflow_token(FACTORY_REPO, {"contents": "write"})
    writer = plain_client(github, writer_token, lazy=True).get_repo(FACTORY_REPO)
    added = writer.create_file(".github/factory-sync.yml", "Add the Factory config", "stall-days: 21\n")
    writer.update_file(".github/factory-sync.yml", "Stall after 30 days", "stall-days: 30\n",
                       added["content"].sha)

    with pytest.raises(GithubException) as missing:
        study.get_issue(999)
    with pytest.raises(GithubException) as untitled:
        factory.create_issue(title="")
    with pytest.raises(GithubException) as duplicate:
        factory.create_label("stage:archived", "ededed")
    reader = plain_client(github, app.mint(installation_id, [FACTORY_REPO], {"issues": "read"}).value)
    with pytest.raises(GithubException) as refused:
        reader.get_repo(FACTORY_REPO).create_issue(title="Not allowed")
    assert [e.value.status for e in (missing, untitled, duplicate, refused)] == [404, 422, 422, 403]
    app.revoke(token)


def test_a_session_conforms_to_the_published_descriptions(github):
    run_session(github)
    entries = github.log.entries()
    violations = ContractChecker().check(entries)
    assert not violations, report(violations)

    assert {entry.status for entry in entries} == {200, 201, 204, 403, 404, 422}
    # The session exercises every operation the vendored description holds, and GraphQL.
    assert {operation_of(entry) for entry in entries} == subset_operations() | {"POST /graphql"}


# -- the checker bites ------------------------------------------------------------------------------
def logged(github, method: str, path: str):
    return next(e for e in github.log.entries() if (e.method, e.path) == (method, path))


def test_a_response_off_the_schema_is_a_violation(github, mint_token, client):
    client(mint_token()).get_repo(STUDY_REPO).get_issue(1)
    real = logged(github, "GET", f"/repos/{STUDY_REPO}/issues/1")
    answer = json.loads(real.response_body)
    answer["number"] = str(answer["number"])
    del answer["labels"]
    wrong = dataclasses.replace(real, response_body=json.dumps(answer).encode())

    assert ContractChecker().check([real]) == []
    [violation] = ContractChecker().check([wrong])
    assert (violation.exchange, violation.side) == (f"GET /repos/{STUDY_REPO}/issues/1 -> 200", "response")
    assert "number: '1' is not of type 'integer'" in violation.problem
    assert "'labels' is a required property" in violation.problem


def test_an_undocumented_status_or_operation_is_a_violation(github, mint_token, client):
    client(mint_token()).get_repo(STUDY_REPO)
    real = logged(github, "GET", f"/repos/{STUDY_REPO}")
    teapot = dataclasses.replace(real, status=418)
    elsewhere = dataclasses.replace(real, method="DELETE")
    assert [v.problem.split(":")[0] for v in ContractChecker().check([teapot, elsewhere])] == [
        "ResponseNotFound", "OperationNotFound", "OperationNotFound"]


def test_pygithub_label_arrays_are_outside_the_published_schema(github, mint_token, client):
    """GitHub accepts a bare array of names, but documents only {"labels": [...]}: the product sends that."""
    issue = client(mint_token()).get_repo(STUDY_REPO).get_issue(2)
    issue.add_to_labels("stage:analysis-specifications")
    [violation] = ContractChecker().check([logged(github, "POST", f"/repos/{STUDY_REPO}/issues/2/labels")])
    assert violation.side == "request" and violation.problem.startswith("InvalidRequestBody")


def test_an_invalid_graphql_document_is_a_violation(github, mint_token, client):
    requester = client(mint_token()).requester
    requester.requestJson("POST", requester.graphql_url, input={"query": "{ viewer { MADEUPFIELD } }"})
    [violation] = ContractChecker().check([logged(github, "POST", "/graphql")])
    assert violation.side == "request"
    assert violation.problem == ("invalid against GitHub's schema: "
                                 "Cannot query field 'MADEUPFIELD' on type 'User'.")
