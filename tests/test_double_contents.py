"""The double's contents API and GraphQL blobs answer like GitHub's, over HTTP."""

from __future__ import annotations

import base64
import hashlib
import json

import pytest
import requests
from github import GithubException

from github_double.demo_world import DEMO_OWNER, FACTORY_REPO, STUDY_REPO

CONFIG = ".github/factory-sync.yml"
TEXT = b"stall-days: 21\ndashboard-label: portfolio-dashboard\n"
BLOB = """query($owner: String!, $name: String!, $expression: String!) {
  repository(owner: $owner, name: $name) {
    issues(first: 5) { totalCount }
    catalog: object(expression: $expression) { __typename ... on Blob { text byteSize isBinary oid } } } }"""


def git_blob_sha(data: bytes) -> str:
    return hashlib.sha1(b"blob %d\0" % len(data) + data, usedforsecurity=False).hexdigest()


def url(github, path: str = CONFIG, repo: str = FACTORY_REPO) -> str:
    return f"{github.url}/repos/{repo}/contents/{path}"


def put(github, token: str, body: dict, path: str = CONFIG, repo: str = FACTORY_REPO) -> requests.Response:
    return requests.put(url(github, path, repo), json=body, headers={"Authorization": f"token {token}"},
                        timeout=10)


def get(github, token: str, path: str = CONFIG, repo: str = FACTORY_REPO) -> requests.Response:
    return requests.get(url(github, path, repo), headers={"Authorization": f"token {token}"}, timeout=10)


def encoded(data: bytes) -> str:
    return base64.b64encode(data).decode()


def test_a_file_is_created_read_and_replaced_with_githubs_sha_rules(github, mint_token):
    token = mint_token(repositories=["Factory"], permissions={"contents": "write"})
    assert get(github, token).status_code == 404

    created = put(github, token, {"message": "Add the Factory config", "content": encoded(TEXT)})
    assert created.status_code == 201, created.text
    answer = created.json()
    assert answer["content"]["sha"] == git_blob_sha(TEXT)
    assert (answer["content"]["path"], answer["content"]["name"], answer["content"]["size"]) == (
        CONFIG, "factory-sync.yml", len(TEXT))
    assert "content" not in answer["content"], "the answer describes the file without its content"
    first = answer["commit"]
    assert first["message"] == "Add the Factory config" and len(first["sha"]) == 40
    assert first["author"]["name"] == "factory-sync[bot]"

    read = get(github, token).json()
    assert base64.b64decode(read["content"]) == TEXT and read["encoding"] == "base64"
    assert read["sha"] == git_blob_sha(TEXT)

    newer = TEXT + b"tracking-label: study-tracking\n"
    missing_sha = put(github, token, {"message": "Change it", "content": encoded(newer)})
    assert missing_sha.status_code == 422
    assert missing_sha.json()["message"] == "Invalid request.\n\n\"sha\" wasn't supplied."
    stale = put(github, token, {"message": "Change it", "content": encoded(newer), "sha": "0" * 40})
    assert stale.status_code == 409
    assert stale.json()["message"] == f"{CONFIG} does not match {'0' * 40}"
    assert base64.b64decode(get(github, token).json()["content"]) == TEXT, "refused writes change nothing"

    replaced = put(github, token, {"message": "Change it", "content": encoded(newer), "sha": read["sha"],
                                   "committer": {"name": "Factory Admin", "email": "admin@example.org"}})
    assert replaced.status_code == 200, replaced.text
    second = replaced.json()["commit"]
    assert [p["sha"] for p in second["parents"]] == [first["sha"]]
    assert second["committer"]["name"] == second["author"]["name"] == "Factory Admin"
    assert replaced.json()["content"]["sha"] == git_blob_sha(newer)
    with github.world.lock:
        assert github.world.repo(FACTORY_REPO).files[CONFIG] == newer


@pytest.mark.parametrize(("body", "message"), [
    ({"content": encoded(TEXT)}, "Invalid request.\n\n\"message\" wasn't supplied."),
    ({"message": "Add"}, "Invalid request.\n\n\"content\" wasn't supplied."),
    ({"message": "Add", "content": "not base64!"}, "Invalid request.\n\ncontent is not valid Base64"),
])
def test_a_body_github_refuses(github, mint_token, body, message):
    reply = put(github, mint_token(permissions={"contents": "write"}), body)
    assert (reply.status_code, reply.json()["message"]) == (422, message)


def test_writing_needs_contents_write_and_reading_contents_read(github, mint_token):
    with github.world.lock:
        github.world.repo(FACTORY_REPO).files[CONFIG] = TEXT
    reader = mint_token(permissions={"contents": "read"})
    refused = put(github, reader, {"message": "Change", "content": encoded(b"x"), "sha": git_blob_sha(TEXT)})
    assert refused.status_code == 403
    assert refused.json()["message"] == "Resource not accessible by integration"
    assert refused.headers["x-accepted-github-permissions"] == "contents=write"
    assert get(github, reader).status_code == 200

    without = mint_token(permissions={"issues": "write"})
    assert get(github, without).status_code == 403
    assert get(github, without).headers["x-accepted-github-permissions"] == "contents=read"
    outside = mint_token(repositories=["DemoStudy"], permissions={"contents": "write"})
    assert get(github, outside).status_code == 404, "a repository outside the token is not found"

    with github.world.lock:
        workflow = github.world.mint_workflow_token(FACTORY_REPO)  # contents: read, as GitHub's default
        writer = github.world.mint_workflow_token(FACTORY_REPO, {"contents": "write"})
    assert put(github, workflow, {"message": "x", "content": encoded(b"x"), "sha": git_blob_sha(TEXT)}
               ).status_code == 403
    assert put(github, writer, {"message": "x", "content": encoded(b"x"), "sha": git_blob_sha(TEXT)}
               ).status_code == 200


def test_pygithub_commits_and_reads_a_file_as_an_admin_would(github, mint_token, client):
    repo = client(mint_token(permissions={"contents": "write"})).get_repo(FACTORY_REPO)
    created = repo.create_file(CONFIG, "Add the Factory config", TEXT.decode())
    assert created["content"].sha == git_blob_sha(TEXT)
    current = repo.get_contents(CONFIG)
    assert current.decoded_content == TEXT
    repo.update_file(CONFIG, "Stall after 30 days", "stall-days: 30\n", current.sha)
    assert repo.get_contents(CONFIG).decoded_content == b"stall-days: 30\n"
    with pytest.raises(GithubException) as stale:
        repo.update_file(CONFIG, "Again", "stall-days: 40\n", current.sha)
    assert stale.value.status == 409


def gql(github, token: str, query: str, variables: dict) -> dict:
    reply = requests.post(f"{github.url}/graphql", json={"query": query, "variables": variables},
                          headers={"Authorization": f"bearer {token}"}, timeout=10)
    assert reply.status_code == 200
    return reply.json()


def test_a_study_reads_its_own_catalog_in_the_same_query_as_its_issues(github, mint_token):
    catalog = b"stages:\n  - label: stage:one\n    name: One\n"
    with github.world.lock:
        study = github.world.repo(STUDY_REPO)
        study.files[".github/factory-stages.yml"] = catalog
        study.files["logo.png"] = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR"
    token = mint_token(permissions={"issues": "read", "contents": "read"})
    where = {"owner": DEMO_OWNER, "name": "DemoStudy"}
    body = gql(github, token, BLOB, {**where, "expression": "HEAD:.github/factory-stages.yml"})
    assert "errors" not in body, body
    assert body["data"]["repository"]["issues"]["totalCount"] == 2
    assert body["data"]["repository"]["catalog"] == {"__typename": "Blob", "text": catalog.decode(),
                                                     "byteSize": len(catalog), "isBinary": False,
                                                     "oid": git_blob_sha(catalog)}
    on_branch = gql(github, token, BLOB, {**where, "expression": "main:.github/factory-stages.yml"})
    assert on_branch["data"]["repository"]["catalog"]["oid"] == git_blob_sha(catalog)

    missing = gql(github, token, BLOB, {**where, "expression": "HEAD:.github/nothing-here.yml"})
    assert "errors" not in missing and missing["data"]["repository"]["catalog"] is None
    binary = gql(github, token, BLOB, {**where, "expression": "HEAD:logo.png"})["data"]["repository"]
    assert (binary["catalog"]["isBinary"], binary["catalog"]["text"]) == (True, None)

    without = gql(github, mint_token(permissions={"issues": "read"}), BLOB,
                  {**where, "expression": "HEAD:.github/factory-stages.yml"})
    assert without["data"]["repository"]["catalog"] is None
    assert [{k: e[k] for k in ("type", "path", "message")} for e in without["errors"]] == [
        {"type": "FORBIDDEN", "path": ["repository", "catalog"],
         "message": "Resource not accessible by integration"}]
    assert json.dumps(without).count("totalCount") == 1, "the issues are still answered"


def test_a_file_committed_over_rest_is_read_over_graphql(github, mint_token):
    token = mint_token(permissions={"contents": "write", "issues": "read"})
    put(github, token, {"message": "Add", "content": encoded(TEXT)})
    body = gql(github, token, BLOB, {"owner": DEMO_OWNER, "name": "Factory", "expression": f"HEAD:{CONFIG}"})
    assert body["data"]["repository"]["catalog"]["text"] == TEXT.decode()
