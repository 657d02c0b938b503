"""Where recorded api.github.com answers showed the double differing, it now answers as GitHub does:
lists without `closed_by`, strong ETags and Last-Modified on single resources, pagination links by
repository id (and those paths served), bot and organisation URLs."""

from __future__ import annotations

import subprocess
import sys
from email.utils import parsedate_to_datetime
from pathlib import Path

import pytest
import requests

from github_double.demo_world import DEMO_OWNER, FACTORY_REPO, STUDY_REPO
from github_double.world import Clock, utc

SANDBOX = Path(__file__).resolve().parent.parent / "sandbox"


@pytest.fixture
def token(mint_token) -> str:
    return mint_token()


def call(github, method: str, path: str, token: str | None, **options) -> requests.Response:
    headers = {"Authorization": f"token {token}", **options.pop("headers", {})} if token else {}
    return requests.request(method, f"{github.url}{path}", headers=headers, timeout=30, **options)


def test_only_a_single_issue_names_who_closed_it(github, token):
    [listed] = [i for i in call(github, "GET", f"/repos/{STUDY_REPO}/issues", token,
                                params={"state": "closed"}).json()]
    assert "closed_by" not in listed and listed["state"] == "closed"
    single = call(github, "GET", f"/repos/{STUDY_REPO}/issues/{listed['number']}", token).json()
    assert single["closed_by"]["login"] == "demo-lead"
    assert {k: v for k, v in single.items() if k != "closed_by"} == listed


def test_single_resources_carry_a_strong_etag_and_last_modified(github, token):
    github.world.clock = Clock(utc(2026, 3, 2, 9, 30, 15))
    created = call(github, "POST", f"/repos/{FACTORY_REPO}/issues", token, json={"title": "Tracking"})
    edited = call(github, "PATCH", f"/repos/{FACTORY_REPO}/issues/1", token, json={"body": "noted"})
    read = call(github, "GET", f"/repos/{FACTORY_REPO}/issues/1", token)
    for reply in (created, edited, read):
        assert reply.headers["ETag"].startswith('"') and reply.headers["ETag"].endswith('"'), "strong"
        assert reply.headers["Last-Modified"] == "Mon, 02 Mar 2026 09:30:15 GMT"
        assert parsedate_to_datetime(reply.headers["Last-Modified"]) == utc(2026, 3, 2, 9, 30, 15)
    assert edited.headers["ETag"] == read.headers["ETag"], "the same representation, the same tag"
    repository = call(github, "GET", f"/repos/{FACTORY_REPO}", token)
    assert not repository.headers["ETag"].startswith("W/") and "Last-Modified" in repository.headers
    listing = call(github, "GET", f"/repos/{FACTORY_REPO}/issues", token)
    assert listing.headers["ETag"].startswith('W/"'), "lists carry a weak one"
    again = call(github, "GET", f"/repos/{FACTORY_REPO}/issues/1", token,
                 headers={"If-None-Match": read.headers["ETag"]})
    assert again.status_code == 304 and again.headers["ETag"] == read.headers["ETag"]
    assert "ETag" not in call(github, "POST", f"/repos/{FACTORY_REPO}/issues/1/labels", token,
                              json={"labels": ["study-tracking"]}).headers, "a list answer to a write"


def test_repositories_are_served_by_id_too(github, token):
    study = github.world.repo(STUDY_REPO)
    by_name = call(github, "GET", f"/repos/{STUDY_REPO}/issues", token, params={"state": "all"})
    by_id = call(github, "GET", f"/repositories/{study.id}/issues", token, params={"state": "all"})
    assert by_id.status_code == 200 and by_id.json() == by_name.json()
    assert call(github, "GET", f"/repositories/{study.id}", token).json()["full_name"] == STUDY_REPO
    assert call(github, "GET", f"/repositories/{study.id}/issues/1", token).json()["number"] == 1
    assert call(github, "GET", f"/repositories/{study.id}/labels", token).status_code == 200
    assert call(github, "GET", "/repositories/999999/issues", token).status_code == 404
    with github.world.lock:
        github.world.add_repo("elsewhere/Private", private=True)
        hidden = github.world.repo("elsewhere/Private")
    assert call(github, "GET", f"/repositories/{hidden.id}/issues", token).status_code == 404
    assert call(github, "GET", f"/repositories/{hidden.id}/issues", None).status_code == 404


def test_pagination_links_name_the_repository_by_id_and_pygithub_follows_them(github, token, client):
    factory = github.world.repo(FACTORY_REPO)
    with github.world.lock:
        for n in range(7):
            github.world.create_issue(factory, f"Issue {n}", None, "demo-lead")
    first = call(github, "GET", f"/repos/{FACTORY_REPO}/issues", token, params={"per_page": 3, "labels": ""})
    by_id = f"{github.url}/repositories/{factory.id}/issues"
    assert first.links["next"]["url"] == f"{by_id}?per_page=3&labels=&page=2"
    github.log.clear()
    titles = [issue.title for issue in client(token, per_page=3).get_repo(FACTORY_REPO).get_issues()]
    assert titles == [f"Issue {n}" for n in reversed(range(7))]
    assert [e.path for e in github.log.entries()][-3:] == [
        f"/repos/{FACTORY_REPO}/issues", f"/repositories/{factory.id}/issues",
        f"/repositories/{factory.id}/issues"]


def test_an_apps_bot_and_an_organisation_are_shown_as_github_shows_them(github, token):
    issue = call(github, "POST", f"/repos/{FACTORY_REPO}/issues", token, json={"title": "Tracking"}).json()
    bot = issue["user"]
    assert bot["login"] == "factory-sync[bot]" and bot["type"] == "Bot"
    assert bot["url"] == f"{github.url}/users/factory-sync%5Bbot%5D"
    assert bot["html_url"] == f"{github.url}/apps/factory-sync"
    assert bot["repos_url"] == f"{github.url}/users/factory-sync%5Bbot%5D/repos"
    owner = call(github, "GET", f"/repos/{FACTORY_REPO}", token).json()["owner"]
    assert owner["type"] == "Organization"
    assert owner["url"] == f"{github.url}/users/{DEMO_OWNER}"
    assert owner["repos_url"] == f"{github.url}/users/{DEMO_OWNER}/repos"
    assert owner["events_url"] == f"{github.url}/users/{DEMO_OWNER}/events{{/privacy}}"
    assert owner["html_url"] == f"{github.url}/{DEMO_OWNER}"


def test_the_schema_is_parsed_when_the_double_starts_not_on_the_first_query():
    """Parsed once per process at start, so that no GraphQL answer waits for it."""
    script = ("from github_double.graphql_api import github_schema\n"
              "from github_double.server import GitHubDouble\n"
              "before = github_schema.cache_info().currsize\n"
              "double = GitHubDouble().start()\n"
              "print(before, github_schema.cache_info().currsize)\n"
              "double.stop()\n")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120,
                          check=False, env={"PYTHONPATH": str(SANDBOX)})
    assert (done.returncode, done.stdout.split()) == (0, ["0", "1"]), done.stderr
