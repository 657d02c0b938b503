"""The Factory's resync end to end: the action step (`factory_sync.sync.main()`, in this process, with
the runner's variables) against the GitHub double over HTTP, on workflow_dispatch, schedule and
repository_dispatch in the Factory, and `mode: dispatch` in a study repository."""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest

from actionkit import (
    assert_nothing_shown,
    read_outputs,
    secrets_of,
    study_event,
    tracking_issues,
    unmasked,
    writes,
)
from factory_sync.app_tokens import App, InstallationTokens
from factory_sync.factory import Factory
from factory_sync.main import main
from factory_sync.stages import DEFAULT_CATALOG
from factory_sync.study_reader import seconds_until, used_up_until
from factory_sync.tracking_body import begin_marker
from github_double.demo_world import DEMO_INSTALLATION_ID, DEMO_OWNER, FACTORY_REPO, STUDY_REPO
from github_double.graphql_api import rate_key
from github_double.limits import SecondaryLimits
from github_double.server import GitHubDouble
from github_double.world import Issue, utc
from stepkit import Run

STAGES = [stage.label for stage in DEFAULT_CATALOG.stages]
EVERY_STUDY = {"inputs": {}}


@pytest.fixture
def act(github: GitHubDouble, tmp_path, monkeypatch, capsys) -> Callable[..., Run]:
    """Run the step in this process as the runner would, in the Factory unless told otherwise.
    Inputs are keyword arguments (`write_interval="1"`); None leaves an input out."""

    def run(event: str, payload: dict, *, repository: str = FACTORY_REPO, **inputs: str | None) -> Run:
        event_path, output, summary = tmp_path / "event.json", tmp_path / "output", tmp_path / "summary.md"
        event_path.write_text(json.dumps(payload), encoding="utf-8")
        output.write_text("")
        summary.write_text("")
        with github.world.lock:
            workflow_token = github.world.mint_workflow_token(repository, {"issues": "read"})
        given = {"app_id": str(github.app_id), "private_key": github.private_key,
                 "factory_repo": FACTORY_REPO, "token": workflow_token, "github_api_url": github.url,
                 "write_interval": "0", **inputs}
        for name in [name for name in os.environ if name.startswith("INPUT_")]:
            monkeypatch.delenv(name)
        variables = {
            "GITHUB_ACTIONS": "true", "GITHUB_EVENT_NAME": event, "GITHUB_EVENT_PATH": str(event_path),
            "GITHUB_REPOSITORY": repository, "GITHUB_API_URL": github.url, "GITHUB_SERVER_URL": "https://github.com",
            "GITHUB_RUN_ID": "777", "GITHUB_OUTPUT": str(output), "GITHUB_STEP_SUMMARY": str(summary),
            **{f"INPUT_{name.upper()}": value for name, value in given.items() if value is not None},
        }
        for name, value in variables.items():
            monkeypatch.setenv(name, value)
        capsys.readouterr()
        started = time.perf_counter()
        code = main()
        seconds = time.perf_counter() - started
        out, err = capsys.readouterr()
        assert_nothing_shown(github, stdout=unmasked(out), stderr=err, outputs=output.read_text(),
                             summary=summary.read_text())
        return Run(code, out, read_outputs(output.read_text()), summary.read_text(), seconds)

    return run


def add_study(github: GitHubDouble, name: str, reached: int, *, installed: bool = True) -> str:
    """A study in the demo organisation that has reached `reached` stages: one issue per stage, all
    closed but the last one's."""
    world, full_name = github.world, f"{DEMO_OWNER}/{name}"
    with world.lock:
        repo = world.add_repo(full_name, private=True)
        for label in STAGES:
            world.ensure_label(repo, label)
        for n, label in enumerate(STAGES[:reached]):
            world.import_issue(repo, f"{label[6:]} work", None, "demo-lead", created_at=utc(2025, 1, 1 + n),
                               labels=[label], closed_at=utc(2025, 1, 10 + n) if n < reached - 1 else None)
        if installed:
            world.installations[DEMO_INSTALLATION_ID].repositories.append(full_name)
    return full_name


def track(github: GitHubDouble, study: str, *, old_format: bool = True) -> Issue:
    """A tracking issue in the Factory: as the old Factory workflow wrote it, or with a stale block."""
    body = (f"**Repository:** https://github.com/{study}\n\nNotes from the Factory team.\n" if old_format
            else f"{begin_marker(study)}\n## Current stage: Base Camp\n<!-- factory-sync:end -->\n")
    world = github.world
    with world.lock:
        return world.create_issue(world.repo(FACTORY_REPO), f"Study: {study}", body, "factory-team",
                                  labels=["study-tracking"])


def live_installation_tokens(github: GitHubDouble) -> list:
    return [t for t in github.world.tokens.values() if t.installation_id and github.world.is_live(t)]


def shown(run: Run, github: GitHubDouble) -> list[str]:
    """Secrets visible in the log, outputs or summary (there should be none)."""
    text = "\n".join([run.log, json.dumps(run.outputs), run.summary])
    return [secret[:8] for secret in secrets_of(github) if secret in text]


# -- every study, then nothing to do ------------------------------------------------------------

def test_a_resync_brings_every_tracking_issue_up_to_date_then_writes_nothing(github, act):
    alpha, beta = add_study(github, "Alpha", 2), add_study(github, "Beta", 0)
    gamma = add_study(github, "Gamma", 6)
    issues = {alpha: track(github, alpha), beta: track(github, beta, old_format=False),
              gamma: track(github, gamma), STUDY_REPO: track(github, STUDY_REPO)}
    with github.world.lock:
        note = github.world.create_issue(github.world.repo(FACTORY_REPO), "Coordination", "No study here.",
                                         "factory-team", labels=["study-tracking"])

    run = act("workflow_dispatch", EVERY_STUDY)

    assert run.code == 0, run.log
    assert "## Current stage: Protocol Development" in issues[alpha].body
    assert issues[alpha].body.startswith(f"**Repository:** https://github.com/{alpha}\n\nNotes")  # adopted
    assert "## Current stage: Not started" in issues[beta].body
    assert "## Current stage: Results Evaluation" in issues[gamma].body
    assert begin_marker(STUDY_REPO) in issues[STUDY_REPO].body
    assert note.body == "No study here."
    assert len(writes(github)) == 4 + 1  # and the portfolio dashboard, created
    assert (run.outputs["checked"], run.outputs["changed-count"], run.outputs["failed"]) == ("4", "4", "0")
    assert run.outputs["changed"] == "true"
    assert "| 4 | 4 | 0 | 0 | 0 |" in run.summary
    assert f"[1/4] {alpha}: updated #{issues[alpha].number} (Protocol Development shown" not in run.log
    assert f"[1/4] {alpha}: updated #{issues[alpha].number} (none shown -> Protocol Development)" in run.log
    assert f"issues carry the tracking label but name no study (#{note.number})" in run.log

    # Least privilege: a reader narrowed to the studies, a writer narrowed to the Factory.
    readers = github.log.select("POST", "/graphql")
    assert {tuple(e.token_repositories) for e in readers} == {tuple(sorted([alpha, beta, gamma, STUDY_REPO],
                                                                            key=str.lower))}
    assert {tuple(sorted(e.token_permissions.items())) for e in readers} == {(("contents", "read"),
                                                                              ("issues", "read"),
                                                                              ("metadata", "read"))}
    factory_side = [e for e in github.log.entries() if e.principal.startswith("installation:")
                    and e.path.startswith(f"/repos/{FACTORY_REPO}/")]
    assert factory_side
    assert all(e.token_repositories == [FACTORY_REPO] for e in factory_side)
    assert all(e.token_permissions == {"issues": "write", "contents": "read", "metadata": "read"}
               for e in factory_side)
    assert live_installation_tokens(github) == []
    assert shown(run, github) == []

    github.log.clear()
    again = act("schedule", {"schedule": "23 3 * * *"})
    assert again.code == 0, again.log
    assert writes(github) == []
    # installation, two tokens, the Factory config, the tracking issues, one GraphQL query, the
    # dashboard, two revocations
    assert len(github.log) == 9, [f"{e.method} {e.path}" for e in github.log.entries()]
    assert f"[1/4] {alpha}: unchanged" in again.log
    assert "| 4 | 0 | 4 | 0 | 0 |" in again.summary
    assert again.outputs["changed"] == "false"


@pytest.mark.parametrize(("event", "payload", "checked"), [
    ("workflow_dispatch", {"inputs": {"study": "ohdsi-demo/Beta"}}, ["Beta"]),
    ("repository_dispatch", {"action": "factory-sync", "client_payload": {"study": "ohdsi-demo/beta"}},
     ["Beta"]),
    ("repository_dispatch", {"action": "factory-sync", "client_payload": {"all": True}}, ["Alpha", "Beta"]),
    ("workflow_dispatch", EVERY_STUDY, ["Alpha", "Beta"]),
    ("schedule", {"schedule": "23 3 * * *"}, ["Alpha", "Beta"]),
])
def test_one_study_or_every_study_through_each_trigger(github, act, event, payload, checked):
    issues = {name: track(github, add_study(github, name, 3)) for name in ("Alpha", "Beta")}
    run = act(event, payload)
    assert run.code == 0, run.log
    synced = [name for name, issue in issues.items()
              if "## Current stage: Phenotype Development" in issue.body]
    assert synced == checked
    every = len(checked) > 1  # a resync of every study also creates the portfolio dashboard
    assert len(writes(github)) == len(checked) + every
    assert run.outputs["checked"] == str(len(checked))
    if len(checked) == 1:  # a run for one study reports it as a study repository's run does
        assert run.outputs["factory-issue-number"] == str(issues["Beta"].number)
        assert run.outputs["stage"] == "stage:phenotype-development"
        assert "| Stage after | Phenotype Development |" in run.summary


def test_a_study_named_in_a_dispatch_without_a_tracking_issue_gets_one(github, act):
    run = act("workflow_dispatch", {"inputs": {"study": STUDY_REPO}})
    assert run.code == 0, run.log
    [created] = tracking_issues(github)
    assert created.title == f"Study: {STUDY_REPO}"
    assert run.outputs["changed"] == "true"


def test_a_malformed_dispatch_is_a_clear_error_and_costs_no_request(github, act):
    run = act("repository_dispatch", {"action": "factory-sync", "client_payload": {"studies": ["a/b"]}})
    assert run.code == 1
    [error] = run.errors
    assert 'client_payload names no study: send {"study": "owner/name"}' in error
    assert len(github.log) == 0

    other = act("repository_dispatch", {"action": "deploy", "client_payload": {}})
    assert other.code == 0
    assert "repository_dispatch of type 'deploy', not 'factory-sync'; nothing to do" in other.log
    assert len(github.log) == 0


# -- one study failing never stops the others ---------------------------------------------------

def test_a_study_that_cannot_be_read_is_reported_while_the_others_are_synced(github, act):
    alpha = track(github, add_study(github, "Alpha", 2))
    track(github, add_study(github, "Hidden", 2, installed=False))  # the App is not installed on it
    track(github, f"{DEMO_OWNER}/Gone")

    run = act("workflow_dispatch", EVERY_STUDY)

    assert run.code == 1
    assert "## Current stage: Protocol Development" in alpha.body
    assert len(writes(github)) == 1 + 1  # and the portfolio dashboard
    assert (run.outputs["checked"], run.outputs["changed-count"], run.outputs["failed"]) == ("3", "1", "2")
    # The narrowed reader was refused (the installation lacks those two), so it reads with all of its.
    assert "Reading with an issues: read token for all the installation's repositories instead" in run.log
    assert "#### Failed (2)" in run.summary
    gone = f"{DEMO_OWNER}/Gone"
    assert f"Reading the stage-labelled issues of {gone} failed: GitHub answered 404" in run.summary
    assert "install the App on it" in run.summary
    assert f"[2/3] {DEMO_OWNER}/Gone: FAILED: Reading the stage-labelled issues" in run.log
    assert run.errors[-1].startswith(f"::error::2 of 3 studies failed: {gone}, {DEMO_OWNER}/Hidden.")
    assert len(run.errors) == 3  # one annotation per failed study, then the closing one
    assert live_installation_tokens(github) == []


def test_a_study_whose_writes_keep_failing_is_reported_while_the_others_are_synced(github, act):
    alpha, beta, gamma = (track(github, add_study(github, name, 2)) for name in ("Alpha", "Beta", "Gamma"))
    github.faults.add("502", method="PATCH", path=f"/repos/{FACTORY_REPO}/issues/{beta.number}", times=None)

    run = act("workflow_dispatch", EVERY_STUDY)

    assert run.code == 1
    assert "## Current stage: Protocol Development" in alpha.body and "Protocol Development" in gamma.body
    assert "factory-sync:begin" not in beta.body
    assert len(github.log.select("PATCH", f"/repos/{FACTORY_REPO}/issues/{beta.number}")) == 4  # 3 retries
    assert f"[2/3] {DEMO_OWNER}/Beta: FAILED: Updating tracking issue #{beta.number}" in run.log
    assert "GitHub answered 502" in run.summary
    assert run.outputs["failed"] == "1" and run.outputs["changed-count"] == "2"
    assert "Traceback" not in run.stdout


def test_a_batch_query_that_keeps_failing_is_read_again_study_by_study(github, act):
    issues = [track(github, add_study(github, name, 4)) for name in ("Alpha", "Beta")]
    github.faults.add("502", method="POST", path="/graphql", times=4)  # the batch, past its 3 retries

    run = act("workflow_dispatch", EVERY_STUDY)

    assert run.code == 0, run.log
    assert all("## Current stage: Analysis Specifications" in issue.body for issue in issues)
    queries = github.log.select("POST", "/graphql")
    assert [e.status for e in queries] == [502] * 4 + [200, 200]


def test_a_secondary_rate_limit_in_the_middle_of_a_run_is_waited_out(github, act):
    alpha, beta = (track(github, add_study(github, name, 2)) for name in ("Alpha", "Beta"))
    path = f"/repos/{FACTORY_REPO}/issues/{beta.number}"
    github.faults.add("secondary", method="PATCH", path=path, times=1, retry_after=1)

    run = act("workflow_dispatch", EVERY_STUDY)

    assert run.code == 0, run.log
    assert "Protocol Development" in alpha.body and "Protocol Development" in beta.body
    assert [e.status for e in github.log.select("PATCH", path)] == [403, 200]
    assert run.seconds >= 1


def test_a_rate_limit_asking_for_too_long_a_wait_fails_that_study_at_once(github, act):
    alpha, beta = (track(github, add_study(github, name, 2)) for name in ("Alpha", "Beta"))
    github.faults.add("secondary", method="PATCH", path=f"/repos/{FACTORY_REPO}/issues/{alpha.number}",
                      times=1, retry_after=3600)

    run = act("workflow_dispatch", EVERY_STUDY)

    assert run.code == 1 and run.seconds < 30
    assert "Protocol Development" in beta.body
    assert (f"[1/2] {DEMO_OWNER}/Alpha: FAILED: Updating tracking issue #{alpha.number} of {FACTORY_REPO} "
            "failed: GitHub answered 403 (a rate limit, with Retry-After 3600 s, longer than the 240 s this "
            "action waits (input longest-wait)). GitHub's rate limit: run again once it has reset") in run.log
    assert run.outputs["failed"] == "1"


def while_held(github: GitHubDouble, seconds: float, change: Callable[[], None]) -> threading.Thread:
    """Hold the next GraphQL request for `seconds` and, meanwhile, change the world."""
    held = github.faults.add("slow", method="POST", path="/graphql", seconds=seconds, times=1)

    def watch() -> None:
        deadline = time.monotonic() + 30
        while held.fired == 0 and time.monotonic() < deadline:
            time.sleep(0.01)
        with github.world.lock:
            change()

    watcher = threading.Thread(target=watch)
    watcher.start()
    return watcher


def reader_tokens(github: GitHubDouble) -> list:
    return [t for t in live_installation_tokens(github) if t.permissions.get("issues") == "read"]


def test_a_used_up_graphql_rate_limit_is_waited_for(github, act):
    alpha = track(github, add_study(github, "Alpha", 2))

    def use_it_up() -> None:  # every point of the reader's hour used, the hour ending in two seconds
        for token in reader_tokens(github):
            window = github.world.rate_window(rate_key(token), "graphql", token.rate_limit)
            window.used, window.reset_at = window.limit, github.world.clock.now() + timedelta(seconds=2)

    watcher = while_held(github, 0.1, use_it_up)
    run = act("workflow_dispatch", EVERY_STUDY)
    watcher.join()

    assert run.code == 0, run.log
    assert "Protocol Development" in alpha.body
    first, second = github.log.select("POST", "/graphql")
    assert b"RATE_LIMITED" in first.response_body and first.response_headers["X-RateLimit-Remaining"] == "0"
    assert b"RATE_LIMITED" not in second.response_body
    assert "GraphQL rate limit used up: waiting" in run.log
    assert run.seconds >= 1.5


def test_rate_limit_waits():
    now = datetime(2025, 1, 1, 12, 0, 0, tzinfo=UTC)
    reset = str(int(now.timestamp()) + 30)
    assert seconds_until(used_up_until({"x-ratelimit-remaining": "0", "x-ratelimit-reset": reset}), now) == 31
    assert used_up_until({"x-ratelimit-remaining": "1", "x-ratelimit-reset": reset}) is None
    assert used_up_until({"x-ratelimit-remaining": "0"}) is None
    assert used_up_until({}) is None
    assert seconds_until(now.timestamp() - 5, now) == 1  # a reset already past: the next second


def test_writes_are_spaced_by_write_interval(github, act):
    for name in ("Alpha", "Beta"):
        track(github, add_study(github, name, 2))
    run = act("workflow_dispatch", EVERY_STUDY, write_interval=None)  # the default: 1 s
    assert run.code == 0, run.log
    assert len(writes(github)) == 2 + 1 and run.seconds >= 2  # and the portfolio dashboard


@pytest.mark.parametrize(("inputs", "says"), [
    ({"write_interval": "-1"}, "write-interval must be a number of seconds from 0 to 60"),
    ({"write_interval": "soon"}, "write-interval must be a number of seconds from 0 to 60"),
    ({"mode": "push"}, "mode must be `sync` (write the tracking issue), `dispatch`"),
    ({"mode": "dispatch"}, "mode `dispatch` asks ohdsi-demo/Factory to resync a study, so it runs in study"),
    ({"dispatch_event_type": "factory sync"}, "dispatch-event-type must be one word"),
])
def test_bad_inputs_are_clear_errors(github, act, inputs, says):
    run = act("workflow_dispatch", EVERY_STUDY, **inputs)
    assert run.code == 1
    [error] = run.errors
    assert says in error
    assert len(github.log) == 0


# -- tokens outlasting their hour -----------------------------------------------------------------

def test_a_token_that_expires_mid_run_is_replaced(github, act):
    issues = [track(github, add_study(github, name, 2)) for name in ("Alpha", "Beta")]

    def expire_the_reader() -> None:  # its hour runs out, on the double's clock
        for token in reader_tokens(github):
            token.expires_at = github.world.clock.now()

    # The read is held; meanwhile the reader token expires. GitHub refuses it, and the step mints a
    # new one and reads again.
    watcher = while_held(github, 0.5, expire_the_reader)
    run = act("workflow_dispatch", EVERY_STUDY)
    watcher.join()

    assert run.code == 0, run.log
    assert all("Protocol Development" in issue.body for issue in issues)
    assert [e.status for e in github.log.select("POST", "/graphql")] == [401, 200]
    minted = github.log.select("POST", f"/app/installations/{DEMO_INSTALLATION_ID}/access_tokens")
    assert len(minted) == 3  # the writer, the reader, the reader's replacement
    assert live_installation_tokens(github) == []
    assert shown(run, github) == []


def test_a_token_near_its_expiry_is_replaced_before_the_next_request(github):
    now = [datetime.now(UTC)]
    announced, warned = [], []
    app = App(github.app_id, github.private_key, github.url)
    with InstallationTokens(app, DEMO_INSTALLATION_ID, announced.append, warned.append,
                            clock=lambda: now[0]) as tokens:
        factory = Factory(tokens.client([FACTORY_REPO], {"issues": "write"}, writes=True), FACTORY_REPO)
        factory.tracking_issues("study-tracking")
        now[0] += timedelta(minutes=56)  # four minutes before the token's hour is up
        factory.tracking_issues("study-tracking")
        factory.tracking_issues("study-tracking")
    first, second = announced
    assert github.world.token(first.value).revoked  # replaced, and revoked at once
    assert github.world.token(second.value).revoked  # at the end of the block
    listings = github.log.select("GET", f"/repos/{FACTORY_REPO}/issues")
    assert [e.token_id for e in listings] == [github.world.token(first.value).id] + [
        github.world.token(second.value).id] * 2
    assert warned == []


# -- asking instead of writing --------------------------------------------------------------------

def test_mode_dispatch_sends_a_repository_dispatch_that_the_factory_acts_on(github, act):
    review = github.world.repo(STUDY_REPO).issues[2]
    with github.world.lock:  # a fine-grained token with Contents: Read and write on the Factory only
        dispatcher = github.world.mint_workflow_token(FACTORY_REPO, {"contents": "write"})
    in_study = {"repository": STUDY_REPO, "mode": "dispatch", "token": dispatcher, "app_id": None,
                "private_key": None}

    run = act("issues", study_event("labeled", review, label="stage:protocol-development"), **in_study)

    assert run.code == 0, run.log
    [sent] = github.world.dispatches
    assert (sent.repository, sent.event_type, sent.client_payload) == (FACTORY_REPO, "factory-sync",
                                                                      {"study": STUDY_REPO})
    assert [(e.method, e.path) for e in github.log.entries()] == [
        ("POST", f"/repos/{FACTORY_REPO}/dispatches")]
    assert tracking_issues(github) == []

    github.log.clear()
    ignored = act("issues", study_event("labeled", review, label="question"), **in_study)
    assert ignored.code == 0 and len(github.log) == 0  # not a stage label: no request at all

    received = {"action": sent.event_type, "client_payload": sent.client_payload,
                "repository": {"full_name": FACTORY_REPO}}
    acted = act("repository_dispatch", received)
    assert acted.code == 0, acted.log
    [tracking] = tracking_issues(github)
    assert begin_marker(STUDY_REPO) in tracking.body
    assert "## Current stage: Protocol Development" in tracking.body
    [read] = github.log.select("POST", "/graphql")
    assert read.token_repositories == [STUDY_REPO]


def test_mode_dispatch_with_the_workflow_token_says_what_token_it_needs(github, act):
    review = github.world.repo(STUDY_REPO).issues[2]
    run = act("issues", study_event("labeled", review, label="stage:protocol-development"),
              repository=STUDY_REPO, mode="dispatch")  # the App's key given too, needlessly
    assert run.code == 1
    [error] = run.errors
    assert "GitHub answered 404" in error
    assert "`token` must be a fine-grained token (or an App token) with Contents: Read and write" in error
    assert "::warning::app-id and private-key are not used in mode `dispatch`" in run.stdout
    assert shown(run, github) == []


# -- dry run, discovery, scale ---------------------------------------------------------------------

def test_a_dry_run_resync_says_what_would_change_and_writes_nothing(github, act):
    alpha = track(github, add_study(github, "Alpha", 2))
    before = alpha.body
    run = act("workflow_dispatch", EVERY_STUDY, dry_run="true")
    assert run.code == 0, run.log
    assert writes(github) == [] and alpha.body == before
    assert f"[1/1] {DEMO_OWNER}/Alpha: would update #{alpha.number}" in run.log
    assert "Dry run: nothing was written" in run.summary
    assert "+## Current stage: Protocol Development" in run.log
    assert run.outputs["changed"] == "false" and run.outputs["changed-count"] == "1"


def test_discovery_reports_untracked_studies_among_the_installations_repositories(github, act):
    alpha = track(github, add_study(github, "Alpha", 2))
    add_study(github, "Delta", 5)
    add_study(github, "Empty", 0)  # stage labels, no stage-labelled issue: not a study
    run = act("schedule", {"schedule": "23 3 * * *"}, discover="true", create_missing="false")

    assert run.code == 0, run.log
    assert "Protocol Development" in alpha.body
    assert len(tracking_issues(github)) == 1  # create-missing is false
    assert (run.outputs["checked"], run.outputs["untracked"]) == ("3", "2")
    assert "#### Untracked (2)" in run.summary
    assert f"| `{DEMO_OWNER}/Delta` | Network Execution |" in run.summary
    assert f"| `{STUDY_REPO}` | Protocol Development |" in run.summary
    assert "Empty" not in run.summary
    assert ("Discovery: 3 untracked repositories looked at, 2 of them have stage-labelled issues."
            in run.summary)
    assert all(e.token_repositories is None for e in github.log.select("POST", "/graphql"))

    created = act("schedule", {"schedule": "23 3 * * *"}, discover="true")
    assert created.code == 0, created.log
    assert len(tracking_issues(github)) == 3


def test_a_hundred_studies_cost_a_handful_of_requests(github, act):
    # The first resync below writes all 100 tracking issues at once: the resync does not pace itself
    # within GitHub's 80 content-creating requests a minute yet.
    github.world.limits = SecondaryLimits(content_per_minute=200)
    names = [add_study(github, f"Study{n:03d}", n % 7) for n in range(100)]
    for name in names:
        track(github, name)
    busy = github.world.repo(names[3])
    with github.world.lock:  # 25 issues under one label: more than a page
        for n in range(25):
            github.world.import_issue(busy, f"Task {n}", None, "demo-lead", created_at=utc(2025, 2, 1, 9, n),
                                      labels=["stage:base-camp"], closed_at=utc(2025, 2, 2))
    assert act("workflow_dispatch", EVERY_STUDY).code == 0
    github.log.clear()

    run = act("workflow_dispatch", EVERY_STUDY, write_interval=None)

    assert run.code == 0, run.log
    assert writes(github) == []
    # 2 batches of 50 studies and 1 follow-up page; installation, 2 tokens, the Factory config, 1 list,
    # the dashboard, 2 revocations
    assert github.log.count("POST", "/graphql") == 3
    assert len(github.log) == 11, [f"{e.method} {e.path}" for e in github.log.entries()]
    assert f"[100/100] {names[-1]}: unchanged" in run.log
