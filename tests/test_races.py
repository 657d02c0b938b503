"""Races: many runs of the action step at once against one double, as separate processes exactly as
runners start them.

Twenty runs for one study that has no tracking issue yet each find none and create one; they must
converge on one tracking issue (the lowest-numbered), retire the spare copies, and leave a body that a
fresh run would not change. Twenty runs that update one tracking issue, and a Factory resync racing a
study's own run, must end the same way: one body, what a fresh reconcile writes, people's text intact.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path

import pytest

import reliability
from actionkit import ActionRun, run_action, study_event, writes
from factory_sync.model import TrackingIssue
from factory_sync.planner import Claim, DuplicateTrackingIssues, claim, retired
from factory_sync.tracking_body import END_MARKER, begin_marker, names_study
from github_double.demo_world import FACTORY_REPO, STUDY_REPO
from github_double.limits import SecondaryLimits
from github_double.server import GitHubDouble
from github_double.world import Issue, utc

RUNS = 20
# Every create is held this long before GitHub carries it out, so that all the runs have looked for a
# tracking issue, found none and sent their create before the first one lands: the widest race.
HELD = 5.0
ABOVE = "Agreed with the study lead: report monthly.\n\n"
BELOW = "\n\n- [ ] ask the sites for their CDM versions\n"


def add_stage_issue(github: GitHubDouble) -> dict:
    world = github.world
    with world.lock:
        issue = world.import_issue(world.repo(STUDY_REPO), "Define the cohorts", None, "demo-lead",
                                   created_at=utc(2025, 4, 1, 9), labels=["stage:phenotype-development"])
    return study_event("labeled", issue, label="stage:phenotype-development")


def at_once(starts: list[Callable[[], ActionRun]]) -> list[ActionRun]:
    """Start every run at the same moment, each in its own process; their results in order."""
    results: list[ActionRun | BaseException | None] = [None] * len(starts)
    go = threading.Barrier(len(starts))

    def one(index: int) -> None:
        go.wait()
        try:
            results[index] = starts[index]()
        except BaseException as exc:  # reported below, with the others' results
            results[index] = exc

    threads = [threading.Thread(target=one, args=(i,)) for i in range(len(starts))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    failed = [r for r in results if not isinstance(r, ActionRun)]
    assert failed == [], failed
    return results  # type: ignore[return-value]


def claiming(github: GitHubDouble, study: str = STUDY_REPO) -> list[Issue]:
    return [i for i in github.world.repo(FACTORY_REPO).issues.values()
            if (names_study(i.body or "") or "").lower() == study.lower()]


def tokens(github: GitHubDouble, n: int) -> list[str]:
    with github.world.lock:
        scopes = {"issues": "read", "contents": "read"}
        return [github.world.mint_workflow_token(STUDY_REPO, scopes) for _ in range(n)]


def twenty_study_runs(github: GitHubDouble, tmp_path: Path, payload: dict) -> list[ActionRun]:
    """RUNS runs of the study's event at the same moment, each with its own workflow token; all succeed."""
    keys = tokens(github, RUNS)
    runs = at_once([lambda i=i: run_action(github, _dir(tmp_path, f"run{i:02}"), payload, token=keys[i],
                                           write_interval="0")
                    for i in range(RUNS)])
    reliability.count("races run")
    assert [run.code for run in runs] == [0] * RUNS, [run.log for run in runs if run.code]
    return runs


def a_fresh_run_changes_nothing(github: GitHubDouble, tmp_path: Path, payload: dict) -> None:
    github.log.clear()
    again = run_action(github, _dir(tmp_path, "fresh"), payload, write_interval="0")
    assert again.code == 0, again.log
    assert (again.outputs["changed"], writes(github)) == ("false", [])


def test_twenty_runs_creating_one_study_s_tracking_issue_converge_on_one(github, tmp_path):
    # Twenty runs creating and then retiring up to nineteen spare copies each make more than GitHub's
    # 80 content-creating requests (and 900 REST points) a minute; what is tested here is that they
    # converge, not pacing.
    github.world.limits = SecondaryLimits(content_per_minute=1000, content_per_hour=5000, rest_points=10_000)
    payload = add_stage_issue(github)
    github.faults.add("slow", method="POST", path=f"/repos/{FACTORY_REPO}/issues", seconds=HELD, times=RUNS)
    runs = twenty_study_runs(github, tmp_path, payload)
    created = github.log.select("POST", f"/repos/{FACTORY_REPO}/issues", status=201)
    assert len(created) >= 2, "the runs did not race"
    [kept] = claiming(github)
    assert kept.number == min(i.number for i in github.world.repo(FACTORY_REPO).issues.values())
    assert kept.state == "open" and kept.labels == ["study-tracking", "stage:phenotype-development"]
    assert {run.outputs["factory-issue-number"] for run in runs} == {str(kept.number)}
    spares = [i for i in github.world.repo(FACTORY_REPO).issues.values() if i is not kept]
    assert len(spares) == len(created) - 1
    for spare in spares:
        assert (spare.state, spare.state_reason, spare.labels) == ("closed", "not_planned", [])
        assert spare.body.startswith(f"Closed by factory-sync: a duplicate of #{kept.number}")
    a_fresh_run_changes_nothing(github, tmp_path, payload)


def test_twenty_runs_updating_one_tracking_issue_leave_one_body(github, tmp_path):
    payload = add_stage_issue(github)
    with github.world.lock:
        tracking = github.world.create_issue(
            github.world.repo(FACTORY_REPO), f"Study: {STUDY_REPO}",
            ABOVE + f"{begin_marker(STUDY_REPO)}\n## Current stage: Base Camp\n{END_MARKER}" + BELOW,
            "factory-team", labels=["study-tracking", "stage:base-camp"])
    twenty_study_runs(github, tmp_path, payload)
    assert claiming(github) == [tracking]
    assert tracking.body.startswith(ABOVE) and tracking.body.endswith(BELOW)
    assert "## Current stage: Phenotype Development" in tracking.body
    assert tracking.labels == ["study-tracking", "stage:phenotype-development"]
    a_fresh_run_changes_nothing(github, tmp_path, payload)


def _resync_and_event(github: GitHubDouble, tmp_path: Path, payload: dict) -> list[ActionRun]:
    key = tokens(github, 1)[0]
    return at_once([
        lambda: run_action(github, _dir(tmp_path, "resync"), {"inputs": {"study": STUDY_REPO}},
                           event="workflow_dispatch", repository=FACTORY_REPO, write_interval="0"),
        lambda: run_action(github, _dir(tmp_path, "event"), payload, token=key, write_interval="0"),
    ])


def test_a_resync_racing_a_study_s_run_converges_on_one_body(github, tmp_path):
    payload = add_stage_issue(github)
    with github.world.lock:
        tracking = github.world.create_issue(
            github.world.repo(FACTORY_REPO), f"Study: {STUDY_REPO}",
            ABOVE + f"**Repository:** https://github.com/{STUDY_REPO}\n" + BELOW, "factory-team",
            labels=["study-tracking"])
        before = tracking.body
    # Both runs read the study before either writes: each writes its own PATCH of the whole body.
    github.faults.add("slow", method="PATCH", path=f"/repos/{FACTORY_REPO}/issues/*", seconds=1, times=2)

    runs = _resync_and_event(github, tmp_path, payload)
    reliability.count("races run")

    assert [run.code for run in runs] == [0, 0], [run.log for run in runs]
    assert claiming(github) == [tracking]
    assert tracking.body.startswith(before)  # an old-format issue is adopted: its text stays first
    assert "## Current stage: Phenotype Development" in tracking.body
    a_fresh_run_changes_nothing(github, tmp_path, payload)


def test_a_resync_and_a_study_s_run_both_creating_converge_on_one_issue(github, tmp_path):
    payload = add_stage_issue(github)
    github.faults.add("slow", method="POST", path=f"/repos/{FACTORY_REPO}/issues", seconds=HELD, times=2)

    runs = _resync_and_event(github, tmp_path, payload)
    reliability.count("races run")

    assert [run.code for run in runs] == [0, 0], [run.log for run in runs]
    [kept] = claiming(github)
    assert {run.outputs["factory-issue-number"] for run in runs} == {str(kept.number)}
    assert len(github.world.repo(FACTORY_REPO).issues) == len(
        github.log.select("POST", f"/repos/{FACTORY_REPO}/issues", status=201))
    a_fresh_run_changes_nothing(github, tmp_path, payload)


def _dir(tmp_path: Path, name: str) -> Path:
    path = tmp_path / name
    path.mkdir()
    return path


# -- the choice every racing run makes (pure) -----------------------------------------------------

def tracking_issue(number: int, body: str, title: str = f"Study: {STUDY_REPO}",
                   labels: tuple[str, ...] = ("study-tracking", "stage:base-camp")) -> TrackingIssue:
    return TrackingIssue(number, title, body, list(labels), f"https://github.com/{FACTORY_REPO}/issues/{number}")


BLOCK = f"{begin_marker(STUDY_REPO)}\n## Current stage: Base Camp\n{END_MARKER}"


def test_racing_runs_all_keep_the_lowest_numbered_copy_and_retire_the_others():
    copies = [tracking_issue(n, BLOCK) for n in (12, 7, 9)]
    found = claim(copies, STUDY_REPO)
    assert found.keep == copies[1]
    assert sorted(spare.number for spare in found.retire) == [9, 12]
    assert claim(copies[1:], STUDY_REPO).keep == copies[1]  # a run that saw fewer copies agrees


def test_the_copy_people_wrote_in_is_kept_and_two_such_copies_are_not_chosen_between():
    written = tracking_issue(9, "Our notes.\n\n" + BLOCK)
    spare = tracking_issue(3, BLOCK)
    assert claim([written, spare], STUDY_REPO) == Claim(written, (spare,))
    renamed = tracking_issue(4, BLOCK, title="DemoStudy, the one to keep")
    with pytest.raises(DuplicateTrackingIssues, match=r"Factory issues #4 and #9 all track"):
        claim([written, spare, renamed], STUDY_REPO)


def test_a_retired_copy_names_no_study_and_points_to_the_one_kept():
    kept = tracking_issue(7, BLOCK)
    spare = tracking_issue(12, BLOCK, labels=("study-tracking", "stage:x", "p1"))
    body, labels = retired(spare, kept, STUDY_REPO)
    assert names_study(body) is None
    assert body.startswith("Closed by factory-sync: a duplicate of #7")
    assert labels == ["p1"]


def test_a_spare_copy_left_by_an_interrupted_run_is_retired_by_the_next_run(github, tmp_path):
    payload = add_stage_issue(github)
    world = github.world
    with world.lock:
        first, second = (world.create_issue(world.repo(FACTORY_REPO), f"Study: {STUDY_REPO}", BLOCK,
                                            "factory-sync[bot]", labels=["study-tracking", "stage:base-camp"])
                         for _ in range(2))

    run = run_action(github, _dir(tmp_path, "run"), payload, write_interval="0")

    assert run.code == 0, run.log
    assert claiming(github) == [first]
    assert "## Current stage: Phenotype Development" in first.body
    assert (second.state, second.state_reason, second.labels) == ("closed", "not_planned", [])
    said = f"Closed #{second.number}, a spare copy of {STUDY_REPO}'s tracking issue #{first.number}"
    assert said in run.log
    a_fresh_run_changes_nothing(github, tmp_path, payload)


def test_a_dry_run_says_which_spare_copy_it_would_retire_and_writes_nothing(github, tmp_path):
    payload = add_stage_issue(github)
    world = github.world
    with world.lock:
        first, second = (world.create_issue(world.repo(FACTORY_REPO), f"Study: {STUDY_REPO}", BLOCK,
                                            "factory-sync[bot]", labels=["study-tracking"]) for _ in range(2))

    run = run_action(github, _dir(tmp_path, "run"), payload, dry_run="true")

    assert run.code == 0, run.log
    assert f"Dry run: would close #{second.number}, a spare copy of #{first.number}" in run.log
    assert writes(github) == []
    assert claiming(github) == [first, second]
