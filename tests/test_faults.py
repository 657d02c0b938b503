"""Faults: every request of a run answered with each failure the double can play, one position at a time.

A clean run first records the run's requests. Then, for every request position and every fault, the
same world is built again, the fault is injected at that position and the step is run (in this process,
with the runner's variables). Each run must either recover (exit 0, every tracking issue exactly as
the clean run left it) or fail cleanly (exit 1, clear `::error::` lines, no traceback, and every
tracking issue either as it was or as the clean run left it). In both cases the text people wrote
around the block is intact, byte for byte. Waits are kept short with the action's own inputs
(`http-timeout`, `rate-limit-wait`, `retry-backoff`).

Two modes: the fault answers the request once (GitHub hiccups: the run must recover), or it answers
that request and the next three, as many as the retries (GitHub down for a while: the run may fail,
cleanly). The second mode plays one fault of each way a request can fail for good: a 5xx, a rate
limit, a dropped connection; the others end the same way once retried, and requests that time out
every time are tested on their own below (four timeouts of two seconds each per run).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import pytest

import reliability
from actionkit import study_event
from factory_sync.github_client import RETRIES
from factory_sync.inputs import read_settings
from factory_sync.runner import Runner
from factory_sync.stages import DEFAULT_CATALOG
from factory_sync.tracking_body import END_MARKER, begin_marker, names_study
from github_double.demo_world import (
    DEMO_INSTALLATION_ID,
    DEMO_OWNER,
    FACTORY_REPO,
    STUDY_REPO,
    build_demo_world,
)
from github_double.server import GitHubDouble
from github_double.world import Issue, utc
from stepkit import Run, run_step

STAGES = [stage.label for stage in DEFAULT_CATALOG.stages]
SLOW = 4.0  # seconds a "slow" answer takes, past the runs' http-timeout of 2 s
# Short waits: the waits themselves are checked by the tests at the end. The timeout leaves every
# answer that is not held a hundred times the time it takes, however loaded the machine.
FAST = {"http_timeout": "2", "rate_limit_wait": "0", "retry_backoff": "0"}
# The clean runs that record the positions have no fault to time out on: a long timeout keeps a loaded
# machine's slow answer from adding a retry to the record.
CLEAN = {**FAST, "http_timeout": "30"}
HELD = 60.0  # seconds a held answer waits at most: the tests release it once they have seen enough

# The faults the double can play, as GitHub plays them.
FAULTS: dict[str, tuple[str, dict]] = {
    "500": ("500", {}),
    "502 with an HTML body": ("502", {}),
    "503": ("503", {}),
    "403 secondary rate limit with Retry-After": ("secondary", {"retry_after": 1}),
    "403 secondary rate limit without Retry-After": ("secondary", {}),
    "429 with Retry-After": ("429", {"retry_after": 1}),
    "429 without Retry-After": ("429", {}),
    "dropped connection": ("dropped", {}),
    "read timeout": ("slow", {"seconds": SLOW}),
}
ONCE, DOWN = 1, RETRIES + 1  # the fault answers one request, or that request and its retries
FOR_GOOD = ("502 with an HTML body", "403 secondary rate limit without Retry-After",
            "429 without Retry-After", "dropped connection")

ABOVE = "Notes from the Factory team — keep these.\r\n\r\n> Quoted *markdown*, <b>html</b> & ünïcödé.\n\n"
BELOW = "\n\n## Decisions\n\n- Site list agreed on 2025-03-01 @someone #12\n\nTrailing line without newline"


def stale_block(study: str) -> str:
    return f"{begin_marker(study)}\n## Current stage: Base Camp\n{END_MARKER}"


# -- judging one run ---------------------------------------------------------------------------

@dataclass
class Verdict:
    """What the sweep saw: counted in the reliability figures, anything unclean listed."""

    recovered: int = 0
    failed_cleanly: int = 0
    mangled: int = 0
    problems: list[str] = field(default_factory=list)

    def count(self, injected: int) -> None:
        reliability.count("faults injected", injected)
        reliability.count("runs that recovered", self.recovered)
        reliability.count("runs that failed cleanly", self.failed_cleanly)
        reliability.count("runs that lost or mangled text", self.mangled)


@dataclass(frozen=True)
class Expected:
    """A tracking issue before the run, and as the clean run left it."""

    before: tuple[str, tuple[str, ...]]  # body, labels
    after: tuple[str, tuple[str, ...]]
    above: str  # text people wrote, which must survive every run
    below: str


def state(issue: Issue) -> tuple[str, tuple[str, ...]]:
    return issue.body or "", tuple(sorted(issue.labels))


def judge(verdict: Verdict, what: str, run: Run | BaseException, issues: dict[int, Issue],
          expected: dict[int, Expected], one_error: bool) -> None:
    """Sort one run into recovered, failed cleanly or mangled; anything else is a problem."""
    mangled = [number for number, issue in issues.items()
               if state(issue) not in (expected[number].before, expected[number].after)
               or not (issue.body or "").startswith(expected[number].above)
               or not (issue.body or "").endswith(expected[number].below)]
    if mangled:
        verdict.mangled += 1
        verdict.problems.append(f"{what}: issues {mangled} are neither as before nor as expected")
        return
    if isinstance(run, BaseException):
        verdict.problems.append(f"{what}: raised {run!r} (a traceback on the runner)")
        return
    stale = [number for number, issue in issues.items() if state(issue) != expected[number].after]
    if run.code == 0 and not stale:
        verdict.recovered += 1
        return
    if run.code == 0:
        verdict.problems.append(f"{what}: exit 0 but issues {stale} were not brought up to date")
        return
    unclear = [e for e in run.errors if not clear(e)]
    too_many = one_error and len(run.errors) != 1
    if run.code != 1 or not run.errors or unclear or too_many or "Traceback" in run.stdout:
        verdict.problems.append(f"{what}: exit {run.code}, errors {run.errors}")
        return
    verdict.failed_cleanly += 1


def clear(error: str) -> bool:
    """An error line that says what failed and GitHub's answer, in words; no exception's own text."""
    words = error.split("::", 2)[-1]
    return (" failed" in words and not any(raw in words for raw in (
        "Traceback", "HTTPConnectionPool", "Max retries exceeded", "urllib3", "requests.", "Error(",
        "<html", "<!DOCTYPE")))


def sweep(github: GitHubDouble, positions: int, build: Callable[[], dict[int, Expected]],
          run: Callable[[str], Run], times: int, one_error: bool, faults: tuple[str, ...] = tuple(FAULTS),
          ) -> Verdict:
    """Every fault at every request position, on a fresh copy of the world each time."""
    verdict = Verdict()
    for position in range(1, positions + 1):
        for name in faults:
            kind, options = FAULTS[name]
            expected = build()
            issues = {number: github.world.repo(FACTORY_REPO).issues[number] for number in expected}
            github.faults.on_request(position, kind, times=times, **options)
            what = f"{name} at request {position}" + (f" and the {times - 1} after it" if times > 1 else "")
            try:
                outcome: Run | BaseException = run(f"{position}-{kind}")
            except Exception as exc:  # judged: an exception is a traceback on the runner
                outcome = exc
            github.faults.clear()
            judge(verdict, what, outcome, issues, expected, one_error)
    verdict.count(positions * len(faults))
    return verdict


# -- a study's own run: a labeled event, an existing tracking issue with people's text ---------------

def event_world(github: GitHubDouble, key: str) -> tuple[Issue, dict]:
    world, _ = build_demo_world(private_key=key)
    github.reset(world, key)
    with world.lock:
        study = world.repo(STUDY_REPO)
        issue = world.import_issue(study, "Define the cohorts", None, "demo-lead",
                                   created_at=utc(2025, 4, 1, 9), labels=["stage:phenotype-development"])
        tracking = world.create_issue(world.repo(FACTORY_REPO), f"Study: {STUDY_REPO}",
                                      ABOVE + stale_block(STUDY_REPO) + BELOW, "factory-team",
                                      labels=["study-tracking", "stage:base-camp", "priority"])
    return tracking, study_event("labeled", issue, label="stage:phenotype-development")


@pytest.fixture
def event_sweep(github, app_private_key, tmp_path):
    """(positions, build, run) for sweeps of a study's own run."""
    tracking, payload = event_world(github, app_private_key)
    before = state(tracking)
    clean = run_step(github, tmp_path / "clean", "issues", payload, repository=STUDY_REPO, **CLEAN)
    assert clean.code == 0, clean.log
    assert clean.outputs["changed"] == "true"
    expected = {tracking.number: Expected(before, state(tracking), ABOVE, BELOW)}
    positions = len(github.log)
    assert [f"{e.method} {e.path}" for e in github.log.entries()] == [
        "POST /graphql", f"GET /repos/{FACTORY_REPO}/installation",
        f"POST /app/installations/{DEMO_INSTALLATION_ID}/access_tokens",
        f"GET /repos/{FACTORY_REPO}/contents/.github/factory-sync.yml", f"GET /repos/{FACTORY_REPO}/issues",
        f"GET /repos/{FACTORY_REPO}/issues/{tracking.number}",  # read again just before the write
        f"PATCH /repos/{FACTORY_REPO}/issues/{tracking.number}", "DELETE /installation/token"]

    def build() -> dict[int, Expected]:
        event_world(github, app_private_key)
        return expected

    def run(name: str) -> Run:
        return run_step(github, tmp_path / name, "issues", payload, repository=STUDY_REPO, **FAST)

    return positions, build, run


def test_a_study_run_recovers_from_any_single_fault_at_any_request(github, event_sweep):
    verdict = sweep(github, *event_sweep, times=ONCE, one_error=True)
    assert verdict.problems == []
    assert verdict.mangled == 0
    assert verdict.recovered == event_sweep[0] * len(FAULTS)  # one fault is always retried away


def test_a_study_run_with_github_down_fails_cleanly_or_recovers(github, event_sweep):
    verdict = sweep(github, *event_sweep, times=DOWN, one_error=True, faults=FOR_GOOD)
    assert verdict.problems == []
    assert verdict.mangled == 0
    assert verdict.failed_cleanly > 0


# -- the Factory's resync of 20 studies ----------------------------------------------------------

STUDIES = 20
STALE = (3, 10, 17)  # studies whose tracking issue is behind; the others are up to date


def add_study(world, n: int) -> str:
    """Study NN has reached n % 7 stages: one issue per stage, all closed but the last one's."""
    name = f"{DEMO_OWNER}/Study{n:02}"
    repo = world.add_repo(name, private=True)
    for label in STAGES:
        world.ensure_label(repo, label)
    reached = n % 7
    for index, label in enumerate(STAGES[:reached]):
        closed = utc(2025, 1, 10 + index) if index < reached - 1 else None
        world.import_issue(repo, f"{label[6:]} work", None, "demo-lead", created_at=utc(2025, 1, 1 + index),
                           labels=[label], closed_at=closed)
    world.installations[DEMO_INSTALLATION_ID].repositories.append(name)
    return name


def portfolio_world(github: GitHubDouble, key: str) -> dict[int, Issue]:
    """20 studies, each with a tracking issue holding people's text around a stale block."""
    world, _ = build_demo_world(private_key=key)
    github.reset(world, key)
    issues = {}
    with world.lock:
        for n in range(1, STUDIES + 1):
            study = add_study(world, n)
            issue = world.create_issue(world.repo(FACTORY_REPO), f"Study: {study}",
                                       ABOVE + stale_block(study) + BELOW, "factory-team",
                                       labels=["study-tracking"])
            issues[n] = issue
    return issues


EVERY_STUDY = {"inputs": {}}


@pytest.fixture
def resync_sweep(github, app_private_key, tmp_path):
    """(positions, build, run) for sweeps of a resync of 20 studies, 3 of them behind."""

    def run(name: str, timeouts: dict = FAST) -> Run:
        return run_step(github, tmp_path / name, "workflow_dispatch", EVERY_STUDY, repository=FACTORY_REPO,
                        **timeouts)

    first = portfolio_world(github, app_private_key)
    assert run("first", CLEAN).code == 0
    synced = {n: state(issue) for n, issue in first.items()}

    def build() -> dict[int, Expected]:
        issues = portfolio_world(github, app_private_key)
        with github.world.lock:
            for n, issue in issues.items():
                if n not in STALE:
                    issue.body, issue.labels = synced[n][0], list(synced[n][1])
        return {issue.number: Expected(state(issue), synced[n], ABOVE, BELOW) for n, issue in issues.items()}

    build()
    clean = run("clean", CLEAN)
    assert clean.code == 0, clean.log
    assert clean.outputs["changed-count"] == str(len(STALE))
    requests = [f"{e.method} {e.path}" for e in github.log.entries()]
    assert len([r for r in requests if r.startswith("PATCH")]) == len(STALE)
    # The App's 2 tokens, their revokes, the installation, the config, the listing, the study read, each
    # stale issue read again and written, and the dashboard (looked for in the listing, then created).
    assert len(requests) == 10 + 1 + len(STALE) + 2, requests
    return len(requests), build, run


def test_a_resync_of_20_studies_recovers_from_any_single_fault_at_any_request(github, resync_sweep):
    verdict = sweep(github, *resync_sweep, times=ONCE, one_error=False)
    assert verdict.problems == []
    assert verdict.mangled == 0
    # Every tracking issue recovers; a fault on the dashboard's create (a POST, never sent twice
    # blindly) may leave the dashboard for the next run, which the run reports as a clean failure.
    assert verdict.recovered + verdict.failed_cleanly == resync_sweep[0] * len(FAULTS)
    assert verdict.failed_cleanly <= len(FAULTS)


def test_a_resync_of_20_studies_with_github_down_fails_cleanly_or_recovers(github, resync_sweep):
    verdict = sweep(github, *resync_sweep, times=DOWN, one_error=False, faults=FOR_GOOD)
    assert verdict.problems == []
    assert verdict.mangled == 0
    assert verdict.failed_cleanly > 0


# -- creating: never twice -------------------------------------------------------------------------

def new_study_world(github: GitHubDouble, key: str) -> dict:
    """The demo world with a stage-labelled study issue and no tracking issue: a run creates one."""
    world, _ = build_demo_world(private_key=key)
    github.reset(world, key)
    with world.lock:
        issue = world.import_issue(world.repo(STUDY_REPO), "Define the cohorts", None, "demo-lead",
                                   created_at=utc(2025, 4, 1, 9), labels=["stage:phenotype-development"])
    return study_event("labeled", issue, label="stage:phenotype-development")


def claiming(github: GitHubDouble) -> list[Issue]:
    issues = github.world.repo(FACTORY_REPO).issues.values()
    return [i for i in issues if (names_study(i.body or "") or "").lower() == STUDY_REPO.lower()]


def creates(github: GitHubDouble) -> list:
    return github.log.select("POST", f"/repos/{FACTORY_REPO}/issues")


def until(condition: Callable[[], object]) -> None:
    """Wait for something the double does, at most as long as an answer is held."""
    deadline = time.monotonic() + HELD
    while not condition():
        assert time.monotonic() < deadline, "the double never got there"
        time.sleep(0.01)


@pytest.mark.parametrize("name", FAULTS)
def test_a_fault_on_the_create_never_leaves_two_tracking_issues(github, app_private_key, tmp_path, name):
    kind, options = FAULTS[name]
    payload = new_study_world(github, app_private_key)
    clean = run_step(github, tmp_path / "clean", "issues", payload, repository=STUDY_REPO, **CLEAN)
    [made] = claiming(github)
    position = 1 + next(i for i, e in enumerate(github.log.entries())
                        if (e.method, e.path) == ("POST", f"/repos/{FACTORY_REPO}/issues"))

    payload = new_study_world(github, app_private_key)
    github.faults.on_request(position, kind, **options)
    run = run_step(github, tmp_path / "fault", "issues", payload, repository=STUDY_REPO, **FAST)
    reliability.count("faults injected")

    assert run.code == 0, run.log
    reliability.count("runs that recovered")
    if kind == "slow":  # the first create is held past the timeout: wait until GitHub has answered it
        deadline = time.monotonic() + 10
        while len(creates(github)) < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
    [kept] = claiming(github)
    assert (kept.number, kept.body, kept.labels) == (made.number, made.body, made.labels)
    assert clean.code == 0
    github.log.clear()
    again = run_step(github, tmp_path / "again", "issues", payload, repository=STUDY_REPO, **FAST)
    assert (again.code, again.outputs["changed"]) == (0, "false")


def test_a_create_whose_answer_was_lost_is_found_before_it_is_sent_again(github, app_private_key, tmp_path):
    payload = new_study_world(github, app_private_key)
    run_step(github, tmp_path / "clean", "issues", payload, repository=STUDY_REPO, **CLEAN)
    position = 1 + next(i for i, e in enumerate(github.log.entries())
                        if (e.method, e.path) == ("POST", f"/repos/{FACTORY_REPO}/issues"))

    payload = new_study_world(github, app_private_key)
    # The create is held past the run's timeout and lands while the run looks for it: the look-up is
    # held until the create is done, whatever the machine's speed.
    create = github.faults.on_request(position, "slow", seconds=HELD)
    lookup = github.faults.on_request(position + 1, "slow", seconds=HELD)

    def land_the_create_during_the_lookup() -> None:
        until(lambda: lookup.fired == 1)
        create.release()
        until(lambda: creates(github))
        lookup.release()

    watcher = threading.Thread(target=land_the_create_during_the_lookup)
    watcher.start()
    try:
        run = run_step(github, tmp_path / "fault", "issues", payload, repository=STUDY_REPO, **FAST)
    finally:
        create.release()
        lookup.release()
        watcher.join()

    assert run.code == 0, run.log
    assert "Looking for the issue before creating it again" in run.log
    assert len(creates(github)) == 1
    assert len(claiming(github)) == 1
    assert run.outputs["factory-issue-number"] == str(claiming(github)[0].number)


def test_a_create_that_keeps_failing_fails_cleanly_and_is_sent_at_most_twice(github, app_private_key,
                                                                              tmp_path):
    payload = new_study_world(github, app_private_key)
    github.faults.add("502", method="POST", path=f"/repos/{FACTORY_REPO}/issues", times=None)
    run = run_step(github, tmp_path / "fault", "issues", payload, repository=STUDY_REPO, **FAST)

    assert run.code == 1
    [error] = run.errors
    assert error.startswith(f"::error::Creating a tracking issue in {FACTORY_REPO} failed: "
                            "GitHub answered 502")
    assert len(creates(github)) == 2
    assert claiming(github) == []


# -- what a run waits for, and what it says when the retries run out ---------------------------------

@pytest.fixture
def tracked(github, app_private_key):
    tracking, payload = event_world(github, app_private_key)
    return tracking, payload


def test_a_retry_after_is_honoured(github, tracked, tmp_path):
    _, payload = tracked
    github.faults.add("secondary", method="PATCH", retry_after=2)
    run = run_step(github, tmp_path, "issues", payload, repository=STUDY_REPO, **FAST)
    assert run.code == 0, run.log
    assert run.seconds >= 2
    assert [e.status for e in github.log.select("PATCH")] == [403, 200]


def test_a_429_without_retry_after_waits_as_a_secondary_rate_limit(github, tracked, tmp_path):
    _, payload = tracked
    github.faults.add("429", method="PATCH")
    run = run_step(github, tmp_path, "issues", payload, repository=STUDY_REPO,
                   **{**FAST, "rate_limit_wait": "1.5"})
    assert run.code == 0, run.log
    assert run.seconds >= 1.5
    assert [e.status for e in github.log.select("PATCH")] == [429, 200]


def test_a_secondary_rate_limit_without_retry_after_waits_a_minute_by_default(github):
    runner = Runner({"INPUT_APP_ID": "1", "INPUT_PRIVATE_KEY": github.private_key,
                     "INPUT_FACTORY_REPO": FACTORY_REPO, "INPUT_TOKEN": "t"})
    waits = read_settings(runner).waits
    assert (waits.rate_limit, waits.timeout, waits.backoff) == (60, 30, 0.5)


@pytest.mark.parametrize(("inputs", "message"), [
    ({"http_timeout": "0"},
     "http-timeout must be a whole number of seconds from 1 to 600 (the default is 30), not '0'."),
    ({"http_timeout": "2.5"}, "http-timeout must be a whole number of seconds from 1 to 600"),
    ({"rate_limit_wait": "901"},
     "rate-limit-wait must be a number of seconds from 0 to 900 (the default is 60)"),
    ({"retry_backoff": "soon"},
     "retry-backoff must be a number of seconds from 0 to 60 (the default is 0.5)"),
])
def test_wait_inputs_out_of_range_are_refused_with_the_range(github, tracked, tmp_path, inputs, message):
    _, payload = tracked
    run = run_step(github, tmp_path, "issues", payload, repository=STUDY_REPO, **inputs)
    assert run.code == 1
    [error] = run.errors
    assert message in error
    assert len(github.log) == 0


def test_a_read_timeout_is_retried_within_seconds(github, tracked, tmp_path):
    tracking, payload = tracked
    held = github.faults.add("slow", method="GET", path=f"/repos/{FACTORY_REPO}/issues", seconds=HELD)
    try:
        run = run_step(github, tmp_path, "issues", payload, repository=STUDY_REPO, **FAST)
    finally:
        held.release()  # only now can the held answer come: the run did not wait for it
    assert run.code == 0, run.log
    assert run.seconds >= 2, "it waited one http-timeout"
    assert tracking.body.startswith(ABOVE) and "Phenotype Development" in tracking.body


@pytest.mark.parametrize(("kind", "options", "answer"), [
    ("502", {}, "GitHub answered 502"),
    ("503", {}, "GitHub answered 503"),
    ("429", {"retry_after": 1}, "GitHub answered 429 (You have exceeded a secondary rate limit"),
    ("secondary", {}, "GitHub answered 403 (a rate limit, still in force after 3 retries). GitHub's rate"),
    ("dropped", {}, "GitHub closed the connection without answering"),
    ("slow", {"seconds": SLOW}, "GitHub did not answer in time (a timeout)"),
])
def test_when_the_retries_run_out_the_error_says_what_github_did(github, tracked, tmp_path, kind, options,
                                                                  answer):
    tracking, payload = tracked
    body = tracking.body
    github.faults.add(kind, method="PATCH", times=None, **options)
    run = run_step(github, tmp_path, "issues", payload, repository=STUDY_REPO, **FAST)
    github.faults.clear()
    assert run.code == 1
    [error] = run.errors
    doing = f"Updating tracking issue #{tracking.number} of {FACTORY_REPO}"
    assert error.startswith(f"::error::{doing} failed: {answer}")
    assert clear(error)
    assert "Traceback" not in run.stdout
    if kind == "slow":  # GitHub may still carry out a request it did not answer in time: whole, or not at all
        assert tracking.body.startswith(ABOVE) and tracking.body.endswith(BELOW)
    else:
        assert len(github.log.select("PATCH")) == RETRIES + 1
        assert tracking.body == body


def test_github_unreachable_is_said_so(github, tracked, tmp_path):
    _, payload = tracked
    run = run_step(github, tmp_path, "issues", payload, repository=STUDY_REPO, **FAST,
                   github_api_url="http://127.0.0.1:9")
    assert run.code == 1
    [error] = run.errors
    assert "could not reach GitHub" in error and "Check github-api-url" in error
    assert clear(error)


def test_a_study_that_github_never_answers_in_time_fails_cleanly(github, tracked, tmp_path):
    tracking, payload = tracked
    body = tracking.body
    github.faults.add("slow", method="POST", path="/graphql", seconds=SLOW, times=None)
    run = run_step(github, tmp_path, "issues", payload, repository=STUDY_REPO, **FAST)
    github.faults.clear()
    assert run.code == 1
    [error] = run.errors
    doing = f"Reading the stage-labelled issues of {STUDY_REPO}"
    assert error.startswith(f"::error::{doing} failed: GitHub did not answer in time (a timeout)")
    assert "raise `http-timeout`" in error and clear(error)
    assert tracking.body == body
