"""scripts/bench.py at a tiny size and without latency: the portfolio world, the old updater's call
pattern, the contents endpoint it needs, and factory-sync's resync as the bench runs it."""

from __future__ import annotations

import base64
import hashlib
import importlib.util
import itertools
import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest
import requests
import yaml

from factory_sync.model import TrackingIssue
from factory_sync.planner import claim
from factory_sync.stages import DEFAULT_CATALOG
from factory_sync.tracking_body import split_body
from github_double.portfolio_world import (
    CONFIG_PATH,
    FACTORY_REPO,
    INSTALLATION_ID,
    OWNER,
    PERMISSIONS,
    TRACKING_LABEL,
    build_portfolio_world,
    study_repo,
)
from github_double.state_file import load_state

_spec = importlib.util.spec_from_file_location("bench", Path(__file__).parents[1] / "scripts" / "bench.py")
bench = importlib.util.module_from_spec(_spec)
sys.modules["bench"] = bench  # dataclasses look their module up there
_spec.loader.exec_module(bench)

N = 5
STAGES = [stage.label for stage in DEFAULT_CATALOG.stages]


@pytest.fixture
def portfolio(github_double, app_private_key):
    """The double serving a portfolio of N studies, without latency."""
    world, key = build_portfolio_world(N, seed=7, private_key=app_private_key)
    github_double.reset(world, key)
    return github_double


def history(world) -> list:
    return [(repo.full_name, issue.number, issue.title, issue.state, issue.labels,
             [(e.event, e.label, e.created_at) for e in issue.timeline])
            for repo in world.repositories.values() for issue in repo.issues.values()]


# -- the world --------------------------------------------------------------------------------------
def test_the_portfolio_has_realistic_stage_histories(app_private_key):
    world, _ = build_portfolio_world(200, seed=3, private_key=app_private_key)
    reached, reopened, unknown = Counter(), 0, 0
    for number in range(1, 201):
        repo = world.repo(study_repo(number))
        issues = [i for i in repo.issues.values() if not i.is_pull_request]
        by_stage = {label: [i for i in issues if label in i.labels] for label in STAGES}
        used = [label for label in STAGES if by_stage[label]]
        assert used == STAGES[:len(used)], "stages are reached in order, none skipped"
        reached[len(used)] += 1
        for earlier, later in itertools.pairwise(used):
            assert all(i.state == "closed" for i in by_stage[earlier])
            assert max(i.closed_at for i in by_stage[earlier]) < min(i.created_at for i in by_stage[later])
        assert all(1 <= len(by_stage[label]) <= 3 for label in used)
        for issue in issues:
            times = [e.created_at for e in issue.timeline]
            assert times == sorted(times) and all(t >= issue.created_at for t in times)
            reopened += any(e.event == "reopened" for e in issue.timeline)
        numbered = sorted(repo.issues.values(), key=lambda i: i.number)
        assert [i.created_at for i in numbered] == sorted(i.created_at for i in numbered)
        unknown += any(n.startswith("stage:") and n not in STAGES for i in issues for n in i.labels)
    assert set(reached) == set(range(7)), "studies at every point, from not started to the last stage"
    assert reopened >= 10
    assert unknown == 6, "3% of the studies use a stage label outside the catalog"
    assert history(build_portfolio_world(200, seed=3, private_key=app_private_key)[0]) == history(world)
    assert history(build_portfolio_world(200, seed=4, private_key=app_private_key)[0]) != history(world)


def test_the_factory_holds_one_old_tracking_issue_per_study_to_adopt(app_private_key):
    world, _ = build_portfolio_world(N, seed=7, private_key=app_private_key)
    factory = world.repo(FACTORY_REPO)
    issues = [TrackingIssue(i.number, i.title, i.body, i.labels, "") for i in factory.issues.values()]
    assert all(TRACKING_LABEL in issue.labels for issue in issues) and len(issues) == N
    for number in range(1, N + 1):
        found = claim(issues, study_repo(number)).keep
        assert found.number == number
        assert split_body(found.body)[1] is None, "no factory-sync block yet: the first resync adopts it"
    config = yaml.safe_load(factory.files[CONFIG_PATH])
    assert [stage["label"] for stage in config["stages"]] == STAGES
    [installation] = world.installations.values()
    assert (installation.account, installation.repository_selection, installation.permissions) == (
        OWNER, "all", PERMISSIONS)
    assert len(world.installation_repos(installation)) == N + 2  # the Factory, the studies, one untracked


def test_a_thousand_studies_are_built_in_seconds(app_private_key):
    started = time.perf_counter()
    world, _ = build_portfolio_world(1000, private_key=app_private_key)
    assert time.perf_counter() - started < 10
    assert len(world.repositories) == 1002  # the Factory, the studies and one untracked


# -- the contents endpoint --------------------------------------------------------------------------
def test_the_contents_endpoint_serves_a_file_in_githubs_shape(portfolio):
    with portfolio.world.lock:
        reader = portfolio.world.mint_workflow_token(FACTORY_REPO, {"contents": "read"})
    url = f"{portfolio.url}/repos/{FACTORY_REPO}/contents/{CONFIG_PATH}"
    reply = requests.get(url, headers={"Authorization": f"token {reader}"}, timeout=10)
    assert reply.status_code == 200
    body = reply.json()
    data = portfolio.world.repo(FACTORY_REPO).files[CONFIG_PATH]
    git_sha = hashlib.sha1(b"blob %d\0" % len(data) + data, usedforsecurity=False).hexdigest()
    assert {k: body[k] for k in ("type", "encoding", "name", "path", "size", "sha")} == {
        "type": "file", "encoding": "base64", "name": CONFIG_PATH, "path": CONFIG_PATH, "size": len(data),
        "sha": git_sha}
    assert base64.b64decode(body["content"]) == data
    assert all(len(line) <= 60 for line in body["content"].splitlines())
    web, api = f"{portfolio.url}/{FACTORY_REPO}", f"{portfolio.url}/repos/{FACTORY_REPO}"
    assert body["url"] == f"{url}?ref=main" == body["_links"]["self"]
    assert body["git_url"] == f"{api}/git/blobs/{git_sha}" == body["_links"]["git"]
    assert body["html_url"] == f"{web}/blob/main/{CONFIG_PATH}" == body["_links"]["html"]
    assert body["download_url"] == f"{web}/raw/main/{CONFIG_PATH}"


def test_the_contents_endpoint_refuses_as_github_does(portfolio):
    with portfolio.world.lock:
        reader = portfolio.world.mint_workflow_token(FACTORY_REPO, {"contents": "read"})
        issues_only = portfolio.world.mint_workflow_token(FACTORY_REPO, {"issues": "read"})
    url = f"{portfolio.url}/repos/{FACTORY_REPO}/contents"

    def get(path: str, token: str | None) -> requests.Response:
        headers = {"Authorization": f"token {token}"} if token else {}
        return requests.get(f"{url}/{path}", headers=headers, timeout=10)

    assert get("missing.yml", reader).status_code == 404
    assert get(f"{CONFIG_PATH}?ref=no-such-branch", reader).json()["message"] == (
        "No commit found for the ref no-such-branch")
    refused = get(CONFIG_PATH, issues_only)
    assert (refused.status_code, refused.json()["message"]) == (403, "Resource not accessible by integration")
    assert refused.headers["x-accepted-github-permissions"] == "contents=read"
    assert get(CONFIG_PATH, None).status_code == 404, "the Factory is private"


def test_a_state_file_gives_a_repository_files(tmp_path):
    state = tmp_path / "state.json"
    state.write_text(json.dumps({"apps": [{"id": 3, "public_key_pem": "-----BEGIN PUBLIC KEY-----"}],
                                 "repositories": [{"full_name": "acme/Factory",
                                                   "files": {"/config/factory.yml": "stages: []\n"}}]}))
    world, _ = load_state(state)
    assert world.repo("acme/Factory").files == {"config/factory.yml": b"stages: []\n"}


def test_the_sandbox_serves_the_portfolio(tmp_path):
    key = tmp_path / "app.pem"
    process = subprocess.Popen([sys.executable, "-m", "factory_sync", "sandbox", "serve", "--portfolio", "3",
                                "--app-key-out", str(key)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               text=True, env={**os.environ, "PYTHONPATH": str(bench.ACTION_DIR)})
    try:
        url = process.stdout.readline().strip()
        # the studies are public: anonymous callers read them
        issues = requests.get(f"{url}/repos/{study_repo(3)}/issues?state=all", timeout=10)
        assert issues.status_code == 200 and issues.json()
        assert "BEGIN RSA PRIVATE KEY" in key.read_text()
    finally:
        process.send_signal(signal.SIGINT)
        process.communicate(timeout=10)
    assert process.returncode == 0


# -- the baseline -----------------------------------------------------------------------------------
def test_the_old_updater_lists_reads_and_rewrites_once_per_study(portfolio):
    before = {i.number: i.body for i in portfolio.world.repo(FACTORY_REPO).issues.values()}
    run = bench.baseline(portfolio, portfolio.private_key)
    assert (run.requests, run.writes, run.ok) == (2 + 1 + 3 * N, N, True)
    entries = portfolio.log.entries()
    assert [(e.method, e.path) for e in entries[:2]] == [
        ("GET", f"/repos/{FACTORY_REPO}/installation"),
        ("POST", f"/app/installations/{INSTALLATION_ID}/access_tokens")]
    with_token = [e for e in entries if e.principal == f"installation:{INSTALLATION_ID}"]
    assert len(with_token) == 1 + 3 * N and all(e.status in (200, 201) for e in entries)
    listing = with_token[0]
    assert (listing.path, listing.query["labels"]) == (f"/repos/{FACTORY_REPO}/issues", TRACKING_LABEL)
    studies = {e.path.split("/")[3] for e in with_token if e.path.endswith("/issues") and "Study" in e.path}
    assert studies == {study_repo(n).split("/")[1] for n in range(1, N + 1)}
    assert Counter((e.method, e.path.split("/")[4]) for e in with_token[1:]) == {
        ("GET", "issues"): N, ("GET", "contents"): N, ("PATCH", "issues"): N}
    # It wrote the status the Factory already showed: a write on every run, whether or not anything changed.
    assert {i.number: i.body for i in portfolio.world.repo(FACTORY_REPO).issues.values()} == before
    assert bench.baseline(portfolio, portfolio.private_key).writes == N


# -- factory-sync, as the bench runs it ------------------------------------------------------------
def test_the_resync_adopts_every_study_then_writes_nothing(portfolio, tmp_path):
    first = bench.resync(portfolio, portfolio.private_key, tmp_path, 1, write_interval="0")
    assert first.ok, first.error
    assert bench.adoption_error(portfolio, N) == ""
    assert first.writes == N + 1  # every tracking issue, and the portfolio dashboard created
    noop = bench.resync(portfolio, portfolio.private_key, tmp_path, 2, write_interval=None)
    assert noop.ok, noop.error
    assert noop.writes == 0
    assert noop.requests <= bench.TARGET_NOOP_REQUESTS


def test_the_bench_ends_with_one_json_object_of_every_figure(capsys):
    code = bench.main(["--sizes", "3,2", "--latency", "0"])
    last = capsys.readouterr().out.splitlines()[-1]
    figures = json.loads(last)
    assert figures["n"] == 3 and set(figures["sizes"]) == {"2", "3"}
    for key in ("first_requests", "first_writes", "noop_requests", "noop_writes", "noop_seconds",
                "baseline_noop_requests", "baseline_noop_writes", "baseline_noop_seconds"):
        assert key in figures
    assert (figures["baseline_noop_requests"], figures["baseline_noop_writes"]) == (2 + 1 + 3 * 3, 3)
    failed = "first_error" in figures or "noop_error" in figures
    assert code == (1 if failed else 0)
    assert (figures["noop_writes"] is None) == failed
