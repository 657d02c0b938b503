"""GitHub's secondary rate limits, as the double plays them over HTTP by default: content creation
80 a minute and 500 an hour, 900 REST points and 2,000 GraphQL points a minute, 100 requests at
once, 2,000 installation token requests an hour; each refusal a 403 with Retry-After and GitHub's
message, counted in the request log."""

from __future__ import annotations

import json
import re
import threading
import time
from datetime import timedelta

import pytest
import requests

from factory_sync.github_limits import CONTENT_WRITES_PER_HOUR
from factory_sync.portfolio import WRITE_BUDGET
from github_double.demo_world import DEMO_APP_ID, DEMO_INSTALLATION_ID, FACTORY_REPO, STUDY_REPO
from github_double.limits import CONTENT_PER_HOUR, SecondaryLimits, Window
from github_double.state_file import StateFileError, load_state
from github_double.world import Clock, node_id, utc

START = utc(2026, 3, 2, 9)
SECONDARY = re.compile(r"You have exceeded a secondary rate limit\. Please wait a few minutes before you try "
                       r"again\. If you reach out to GitHub Support for help, please include the request ID "
                       r"([0-9A-F]{4}:[0-9A-F]{4}:[0-9A-F]{6}:[0-9A-F]{7}:[0-9A-F]{8})\.")
DOCS = "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api#about-secondary-rate-limits"


@pytest.fixture
def frozen(github):
    """The demo world on a clock that moves only when the test moves it."""
    github.world.clock = Clock(START)
    return github


@pytest.fixture
def issue(frozen) -> int:
    with frozen.world.lock:
        made = frozen.world.create_issue(frozen.world.repo(FACTORY_REPO), "Tracking", None, "demo-lead")
    return made.number


def call(github, method: str, path: str, token: str | None, **options) -> requests.Response:
    headers = {"Authorization": f"token {token}"} if token else {}
    return requests.request(method, f"{github.url}{path}", headers=headers, timeout=30, **options)


def label(github, token: str, number: int) -> requests.Response:
    """One content-creating request: label an issue (with a label it already has, from the second on)."""
    return call(github, "POST", f"/repos/{FACTORY_REPO}/issues/{number}/labels", token,
                json={"labels": ["study-tracking"]})


def graphql(github, token: str, query: str, variables: dict | None = None) -> requests.Response:
    return call(github, "POST", "/graphql", token, json={"query": query, "variables": variables or {}})


def assert_secondary_refusal(reply: requests.Response, retry_after: int) -> None:
    """GitHub's answer: 403, Retry-After, its message naming the request id, its documentation link."""
    assert reply.status_code == 403
    assert reply.headers["Retry-After"] == str(retry_after)
    body = reply.json()
    assert set(body) == {"message", "documentation_url", "status"}
    found = SECONDARY.fullmatch(body["message"])
    assert found, body["message"]
    assert found[1] == reply.headers["X-GitHub-Request-Id"]
    assert (body["documentation_url"], body["status"]) == (DOCS, "403")


def test_the_defaults_are_githubs_figures():
    limits = SecondaryLimits()
    assert (limits.content_per_minute, limits.content_per_hour) == (Window(80, 60), Window(500, 3600))
    assert (limits.rest_points, limits.graphql_points) == (Window(900, 60), Window(2000, 60))
    assert (limits.token_requests, limits.concurrent) == (Window(2000, 3600), 100)
    scaled = SecondaryLimits(content_per_minute=10, content_per_hour=(30, 360), rest_points=None)
    assert (scaled.content_per_minute, scaled.content_per_hour, scaled.rest_points) == (
        Window(10, 60), Window(30, 360), None)
    assert set(vars(SecondaryLimits.off()).values()) == {None}
    with pytest.raises(ValueError, match="content_per_minute must be a count"):
        SecondaryLimits(content_per_minute=(0, 60))


# -- content creation -------------------------------------------------------------------------------
def test_the_81st_content_write_in_a_minute_is_refused_as_github_does(frozen, mint_token, issue):
    first, second = mint_token(), mint_token()  # one installation: one budget
    answers = [label(frozen, (first, second)[n % 2], issue).status_code for n in range(80)]
    assert answers == [200] * 80
    refused = label(frozen, first, issue)
    assert_secondary_refusal(refused, retry_after=60)
    refused_create = call(frozen, "POST", f"/repos/{FACTORY_REPO}/issues", second, json={"title": "Not now"})
    assert_secondary_refusal(refused_create, retry_after=60)
    assert [i.title for i in frozen.world.repo(FACTORY_REPO).issues.values()] == ["Tracking"]
    assert call(frozen, "GET", f"/repos/{FACTORY_REPO}/issues/{issue}", first).status_code == 200, (
        "reading creates nothing")
    assert frozen.log.refusals() == frozen.log.refusals("content_per_minute") == 2
    assert [e.status for e in frozen.log.entries() if e.refused_by] == [403, 403]


def test_the_minute_passing_on_the_clock_lets_writes_through_again(frozen, mint_token, issue):
    token = mint_token()
    for _ in range(40):
        assert label(frozen, token, issue).status_code == 200
    frozen.world.clock.advance(30)
    for _ in range(40):
        assert label(frozen, token, issue).status_code == 200
    assert_secondary_refusal(label(frozen, token, issue), retry_after=30)
    frozen.world.clock.advance(29)
    assert_secondary_refusal(label(frozen, token, issue), retry_after=1)
    frozen.world.clock.advance(1)  # the first forty slide out of the window
    assert [label(frozen, token, issue).status_code for _ in range(41)] == [200] * 40 + [403]
    assert frozen.log.refusals() == 3


def test_five_hundred_writes_an_hour(frozen, mint_token, issue):
    token = mint_token()
    for _minute in range(6):
        assert [label(frozen, token, issue).status_code for _ in range(80)] == [200] * 80
        frozen.world.clock.advance(60)
    assert [label(frozen, token, issue).status_code for _ in range(20)] == [200] * 20  # 500 in 6 minutes
    refused = label(frozen, token, issue)
    assert_secondary_refusal(refused, retry_after=3600 - 6 * 60)  # until the first minute's writes age out
    assert frozen.log.select()[-1].refused_by == "content_per_hour"
    frozen.world.clock.advance(3600 - 6 * 60)
    assert label(frozen, mint_token(), issue).status_code == 200, "the first minute's 80 aged out"


def test_windows_age_without_the_clock_for_a_benchmarks_next_hour(frozen, mint_token, issue):
    token = mint_token()
    for _minute in range(6):
        assert [label(frozen, token, issue).status_code for _ in range(80)] == [200] * 80
        frozen.world.clock.advance(60)
    assert [label(frozen, token, issue).status_code for _ in range(20)] == [200] * 20
    before = frozen.world.clock.now()
    with frozen.world.lock:
        frozen.world.budgets.pass_time(3600 - 6 * 60 - 1)  # a second short of the first minute's aging out
    assert frozen.world.clock.now() == before  # tokens and JWTs age on the clock, which did not move
    assert_secondary_refusal(label(frozen, token, issue), retry_after=1)
    with frozen.world.lock:
        frozen.world.budgets.pass_time(1)
    assert [label(frozen, token, issue).status_code for _ in range(80)] == [200] * 80


def test_installations_and_repositories_have_budgets_of_their_own(frozen, mint_token, issue):
    world = frozen.world
    world.limits = SecondaryLimits(content_per_minute=2)
    with world.lock:
        other = world.add_installation(DEMO_APP_ID, "ohdsi-demo", [FACTORY_REPO], {"issues": "write"})
        elsewhere = world.mint_installation_token(other, None, {"issues": "write"}).value
        workflow = [world.mint_workflow_token(FACTORY_REPO) for _ in range(2)]
        study_workflow = world.mint_workflow_token(STUDY_REPO)
    demo = mint_token()
    assert [label(frozen, demo, issue).status_code for _ in range(3)] == [200, 200, 403]
    assert [label(frozen, elsewhere, issue).status_code for _ in range(3)] == [200, 200, 403]
    # A workflow's GITHUB_TOKEN spends its repository's budget, shared by every run there.
    assert [label(frozen, token, issue).status_code for token in workflow * 2] == [200, 200, 403, 403]
    assert call(frozen, "POST", f"/repos/{STUDY_REPO}/issues", study_workflow,
                json={"title": "Fine"}).status_code == 201


# -- points -----------------------------------------------------------------------------------------
def test_nine_hundred_rest_points_a_minute(frozen, mint_token):
    token = mint_token()
    path = f"/repos/{STUDY_REPO}/issues/2"
    assert all(call(frozen, "GET", path, token).status_code == 200 for _ in range(900))
    assert_secondary_refusal(call(frozen, "GET", path, token), retry_after=60)
    assert frozen.log.select()[-1].refused_by == "rest_points"
    assert call(frozen, "GET", "/rate_limit", token).status_code == 200, "asking about the limit is free"


def test_a_rest_write_costs_five_points(frozen, mint_token, issue):
    frozen.world.limits = SecondaryLimits(content_per_minute=None, content_per_hour=None)
    token = mint_token()
    assert all(label(frozen, token, issue).status_code == 200 for _ in range(179))  # 895 points
    path = f"/repos/{FACTORY_REPO}/issues/{issue}"
    assert [call(frozen, "GET", path, token).status_code for _ in range(5)] == [200] * 5
    assert_secondary_refusal(call(frozen, "GET", path, token), retry_after=60)
    frozen.world.clock.advance(60)
    assert label(frozen, token, issue).status_code == 200


QUERY = "query { repository(owner: \"ohdsi-demo\", name: \"DemoStudy\") { name } }"
MUTATION = "mutation($id: ID!) { updateIssue(input: {id: $id, body: \"noted\"}) { issue { body } } }"


def test_graphql_points_count_a_mutation_as_five(frozen, mint_token, issue):
    frozen.world.limits = SecondaryLimits(graphql_points=20)
    token = mint_token()
    issue_id = node_id("Issue", frozen.world.repo(FACTORY_REPO).issues[issue].id)
    assert [graphql(frozen, token, QUERY).status_code for _ in range(10)] == [200] * 10
    changed = graphql(frozen, token, MUTATION, {"id": issue_id})
    assert changed.status_code == 200 and changed.json()["data"]["updateIssue"]["issue"]["body"] == "noted"
    assert [graphql(frozen, token, QUERY).status_code for _ in range(5)] == [200] * 5  # 10 + 5 + 5 = 20
    # Over a secondary limit GitHub answers /graphql as it answers REST: 403 and Retry-After.
    assert_secondary_refusal(graphql(frozen, token, QUERY), retry_after=60)
    assert_secondary_refusal(graphql(frozen, token, MUTATION, {"id": issue_id}), retry_after=60)
    assert frozen.log.refusals("graphql_points") == 2
    assert call(frozen, "GET", f"/repos/{STUDY_REPO}", token).status_code == 200, "REST has its own points"


def test_two_thousand_graphql_points_a_minute(frozen, mint_token, issue):
    frozen.world.limits = SecondaryLimits(content_per_minute=None, content_per_hour=None)
    token = mint_token()
    issue_id = node_id("Issue", frozen.world.repo(FACTORY_REPO).issues[issue].id)
    with requests.Session() as session:
        session.headers["Authorization"] = f"token {token}"
        change = {"query": MUTATION, "variables": {"id": issue_id}}
        answers = [session.post(f"{frozen.url}/graphql", json=change, timeout=30).status_code
                   for _ in range(399)]
        answers += [session.post(f"{frozen.url}/graphql", json={"query": QUERY}, timeout=30).status_code
                    for _ in range(5)]
    assert answers == [200] * 404  # 399 * 5 + 5 = 2,000 points
    assert_secondary_refusal(graphql(frozen, token, QUERY), retry_after=60)


def test_a_graphql_mutation_creates_content(frozen, mint_token, issue):
    frozen.world.limits = SecondaryLimits(content_per_minute=2)
    token = mint_token()
    issue_id = node_id("Issue", frozen.world.repo(FACTORY_REPO).issues[issue].id)
    assert label(frozen, token, issue).status_code == 200
    assert graphql(frozen, token, MUTATION, {"id": issue_id}).status_code == 200
    assert_secondary_refusal(graphql(frozen, token, MUTATION, {"id": issue_id}), retry_after=60)
    assert graphql(frozen, token, QUERY).status_code == 200, "a query creates nothing"


# -- concurrency and token requests -----------------------------------------------------------------
def test_the_101st_concurrent_request_is_refused(frozen, mint_token):
    token = mint_token()
    held_path = f"/repos/{STUDY_REPO}/issues/2"
    held = frozen.faults.add("slow", method="GET", path=held_path, times=100, seconds=120)
    answers: list[int] = []

    def one() -> None:
        answers.append(call(frozen, "GET", held_path, token).status_code)

    threads = [threading.Thread(target=one) for _ in range(100)]
    try:
        for thread in threads:
            thread.start()
        deadline = time.monotonic() + 60
        while frozen.world.budgets.in_flight(f"installation:{DEMO_INSTALLATION_ID}") < 100:
            assert time.monotonic() < deadline, "the hundred requests did not all arrive"
            time.sleep(0.01)
        crowded = call(frozen, "GET", f"/repos/{STUDY_REPO}", token)
        with frozen.world.lock:
            other = frozen.world.mint_workflow_token(STUDY_REPO)
        not_crowded = call(frozen, "GET", f"/repos/{STUDY_REPO}", other)
    finally:
        held.release()
        for thread in threads:
            thread.join(timeout=60)
    assert_secondary_refusal(crowded, retry_after=60)
    assert frozen.log.refusals("concurrent") == 1
    assert not_crowded.status_code == 200, "another caller's requests are not counted"
    assert answers == [200] * 100
    assert frozen.world.budgets.in_flight() == 0
    assert call(frozen, "GET", f"/repos/{STUDY_REPO}", token).status_code == 200


def test_the_2001st_token_request_of_an_app_in_an_hour_is_refused(frozen, app_jwt):
    frozen.world.limits = SecondaryLimits(rest_points=None)  # a token request is 5 REST points too
    url = f"{frozen.url}/app/installations/{DEMO_INSTALLATION_ID}/access_tokens"
    with requests.Session() as session:
        session.headers["Authorization"] = f"Bearer {app_jwt()}"
        answers = [session.post(url, timeout=30).status_code for _ in range(1000)]
        frozen.world.clock.advance(30 * 60)
        session.headers["Authorization"] = f"Bearer {app_jwt()}"
        answers += [session.post(url, timeout=30).status_code for _ in range(1000)]
        refused = session.post(url, timeout=30)
        assert session.get(f"{frozen.url}/app", timeout=30).status_code == 200, "other App requests go on"
    assert answers == [201] * 2000
    assert_secondary_refusal(refused, retry_after=30 * 60)
    assert frozen.log.select()[-2].refused_by == "token_requests"


# -- the clock and the state file -------------------------------------------------------------------
def test_a_fast_clock_runs_writes_through_the_minute_window(github, mint_token):
    world = github.world
    world.clock = Clock(START, speed=600.0)  # a real tenth of a second is a minute here
    world.limits = SecondaryLimits(content_per_minute=5)
    with world.lock:
        number = world.create_issue(world.repo(FACTORY_REPO), "Tracking", None, "demo-lead").number
    token = mint_token()
    answers = [label(github, token, number) for _ in range(6)]
    assert [a.status_code for a in answers] == [200] * 5 + [403]
    wait = int(answers[-1].headers["Retry-After"])
    assert 1 <= wait <= 60
    free_at = world.clock.exact() + timedelta(seconds=wait)
    deadline = time.monotonic() + 60
    while world.clock.exact() < free_at:  # about a tenth of a second
        assert time.monotonic() < deadline
        time.sleep(0.01)
    assert label(github, token, number).status_code == 200
    assert github.log.refusals() == 1


def test_the_clock_keeps_its_old_ways():
    still = Clock(START)
    still.advance(90)
    assert still.now() == still.now() == START.replace(minute=1, second=30)
    real = Clock()
    assert abs((real.now() - Clock(speed=1.0).now()).total_seconds()) <= 1
    with pytest.raises(ValueError, match="speed"):
        Clock(speed=-1)


def test_a_state_file_sets_the_limits(tmp_path):
    state = tmp_path / "state.json"
    app = {"id": 3, "public_key_pem": "-----BEGIN PUBLIC KEY-----"}
    state.write_text(json.dumps({"apps": [app], "limits": {"content_per_minute": 10,
                                                           "content_per_hour": [30, 360],
                                                           "concurrent": None}}))
    world, _ = load_state(state)
    assert world.limits == SecondaryLimits(content_per_minute=10, content_per_hour=(30, 360), concurrent=None)
    state.write_text(json.dumps({"apps": [app], "limits": {"writes": 10}}))
    with pytest.raises(StateFileError, match=r"^limits: unknown limit 'writes'; one of concurrent, "):
        load_state(state)


def test_the_product_budgets_its_writes_within_the_limit_the_double_plays():
    assert CONTENT_PER_HOUR == Window(CONTENT_WRITES_PER_HOUR, 3600)
    assert CONTENT_WRITES_PER_HOUR == 500  # GitHub's documented figure
    assert 0 < WRITE_BUDGET < CONTENT_WRITES_PER_HOUR  # an hourly resync leaves the study runs the rest
