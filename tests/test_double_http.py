"""HTTP behaviour around the endpoints: ETags, rate limits, scripted faults, latency, the request log."""

from __future__ import annotations

import threading
import time

import pytest
import requests
from github import RateLimitExceededException
from github.GithubRetry import GithubRetry

STUDY = "ohdsi-demo/DemoStudy"
ISSUE = f"/repos/{STUDY}/issues/2"


@pytest.fixture
def token(mint_token) -> str:
    return mint_token()


def _get(github, path: str, token: str, **headers: str) -> requests.Response:
    return requests.get(f"{github.url}{path}", headers={"Authorization": f"token {token}", **headers},
                        timeout=10)


def test_if_none_match_gets_304_without_spending_the_rate_limit(github, token):
    first = _get(github, ISSUE, token)
    etag = first.headers["ETag"]
    again = _get(github, ISSUE, token, **{"If-None-Match": etag})
    assert again.status_code == 304 and again.content == b""
    assert again.headers["ETag"] == etag
    assert again.headers["x-ratelimit-remaining"] == first.headers["x-ratelimit-remaining"]
    github.world.repo(STUDY).issues[2].body = "changed"
    assert _get(github, ISSUE, token, **{"If-None-Match": etag}).status_code == 200


def test_rate_limit_headers_count_down_per_token(github, token, mint_token):
    seen = [_get(github, ISSUE, token).headers for _ in range(3)]
    assert [h["x-ratelimit-remaining"] for h in seen] == ["4999", "4998", "4997"]
    assert [h["x-ratelimit-used"] for h in seen] == ["1", "2", "3"]
    assert seen[0]["x-ratelimit-limit"] == "5000" and seen[0]["x-ratelimit-resource"] == "core"
    assert int(seen[0]["x-ratelimit-reset"]) > time.time()
    assert _get(github, ISSUE, mint_token()).headers["x-ratelimit-remaining"] == "4999"
    overview = _get(github, "/rate_limit", token).json()
    assert overview["resources"]["core"]["remaining"] == 4997 and overview["rate"]["used"] == 3


def test_an_exhausted_budget_gets_403(github, token, client):
    github.world.token(token).rate_limit = 2
    assert [_get(github, ISSUE, token).status_code for _ in range(2)] == [200, 200]
    refused = _get(github, ISSUE, token)
    assert refused.status_code == 403
    assert refused.headers["x-ratelimit-remaining"] == "0"
    assert refused.json()["message"] == "API rate limit exceeded for installation ID 100."
    with pytest.raises(RateLimitExceededException):
        client(token).get_repo(STUDY)
    assert _get(github, "/rate_limit", token).status_code == 200  # asking is free


def test_server_error_faults(github, token):
    github.faults.add(fault="500", method="GET", path="/repos/*/issues/*")
    github.faults.add(fault="502", method="GET", path="/repos/*/issues/*")
    github.faults.add(fault="503", method="GET", path="/repos/*/issues/*")
    statuses = [_get(github, ISSUE, token) for _ in range(4)]
    assert [r.status_code for r in statuses] == [500, 502, 503, 200]
    assert statuses[1].headers["Content-Type"].startswith("text/html")
    assert b"502 Bad Gateway" in statuses[1].content
    assert [e.fault for e in github.log.entries()[-4:]] == ["500", "502", "503", None]


def test_secondary_limits_with_and_without_retry_after(github, token):
    github.faults.add(fault="secondary", path=ISSUE)
    github.faults.add(fault="secondary", path=ISSUE, retry_after=30)
    github.faults.add(fault="429", path=ISSUE, retry_after=5)
    plain, waiting, too_many = (_get(github, ISSUE, token) for _ in range(3))
    assert plain.status_code == 403 and "retry-after" not in plain.headers
    assert plain.json()["message"].startswith("You have exceeded a secondary rate limit")
    assert int(plain.headers["x-ratelimit-remaining"]) > 0
    assert waiting.status_code == 403 and waiting.headers["retry-after"] == "30"
    assert too_many.status_code == 429 and too_many.headers["retry-after"] == "5"


def test_dropped_connection_and_slow_answer(github, token):
    github.faults.on_request(1, "dropped")
    with pytest.raises(requests.ConnectionError):
        _get(github, ISSUE, token)
    assert github.log.last().status is None and github.log.last().fault == "dropped"
    held = github.faults.on_request(1, "slow", seconds=60)
    try:  # the answer is held until released, so the read times out however slow the machine
        with pytest.raises(requests.ReadTimeout):
            requests.get(f"{github.url}{ISSUE}", headers={"Authorization": f"token {token}"},
                         timeout=(10, 0.2))
    finally:
        held.release()
    assert _get(github, ISSUE, token).status_code == 200


def test_faults_by_request_number_fire_the_given_number_of_times(github, token):
    github.faults.on_request(2, "503", times=2)
    assert [_get(github, ISSUE, token).status_code for _ in range(5)] == [200, 503, 503, 200, 200]
    github.faults.add(fault="500", method="PATCH", times=None)
    assert _get(github, ISSUE, token).status_code == 200
    patched = [requests.patch(f"{github.url}{ISSUE}", json={}, headers={"Authorization": f"token {token}"},
                              timeout=10).status_code for _ in range(3)]
    assert patched == [500, 500, 500]
    github.faults.clear()
    assert not github.faults.pending


def test_unknown_fault_kind_is_rejected(github):
    with pytest.raises(ValueError, match="unknown fault"):
        github.faults.add(fault="418")


def test_pygithub_retries_through_a_bad_gateway(github, token, client):
    github.faults.add(fault="502", method="GET", path=f"/repos/{STUDY}")
    gh = client(token, retry=GithubRetry(total=2, backoff_factor=0))
    assert gh.get_repo(STUDY).name == "DemoStudy"
    assert [e.status for e in github.log.select("GET", f"/repos/{STUDY}")] == [502, 200]


def test_latency_applies_to_every_request(github, token):
    github.latency = 0.2
    started = time.monotonic()
    _get(github, ISSUE, token)
    assert time.monotonic() - started >= 0.2
    assert github.log.last().duration >= 0.2


def test_log_entries_describe_each_exchange(github, token):
    requests.patch(f"{github.url}{ISSUE}", json={"body": "new"}, params={"x": "1"},
                   headers={"Authorization": f"token {token}"}, timeout=10)
    entry = github.log.last()
    assert (entry.method, entry.path, entry.query, entry.status) == ("PATCH", ISSUE, {"x": "1"}, 200)
    assert entry.request_body == b'{"body": "new"}'
    assert entry.response_headers["Content-Type"] == "application/json; charset=utf-8"
    assert b'"body":"new"' in entry.response_body
    assert entry.request_headers["Authorization"] == f"token {token}"
    assert github.log.count(method="PATCH") == 1 and github.log.count(path_prefix="/repos/") >= 1
    github.log.clear()
    assert len(github.log) == 0


def test_concurrent_writers_each_get_their_own_issue_number(github, token):
    numbers: list[int] = []

    def create() -> None:
        reply = requests.post(f"{github.url}/repos/{STUDY}/issues", json={"title": "parallel"},
                              headers={"Authorization": f"token {token}"}, timeout=10)
        numbers.append(reply.json()["number"])

    threads = [threading.Thread(target=create) for _ in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(numbers) == list(range(4, 16))


def test_graphql_requests_are_authenticated_and_parsed_before_they_run(github, token):
    anonymous = requests.post(f"{github.url}/graphql", json={"query": "{ viewer { login } }"}, timeout=10)
    assert anonymous.status_code == 401
    assert anonymous.json()["message"] == "This endpoint requires you to be authenticated."
    garbled = requests.post(f"{github.url}/graphql", data=b"{query",
                            headers={"Authorization": f"bearer {token}"}, timeout=10)
    assert garbled.status_code == 400 and garbled.json()["message"] == "Problems parsing JSON"
    assert garbled.headers["x-ratelimit-resource"] == "graphql"
