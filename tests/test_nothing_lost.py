"""Nothing people write is lost: a tracking issue is read again just before it is written, and planned
from what it holds then. Notes added to every tracking issue while a resync runs all survive."""

from __future__ import annotations

import threading

from github_double.demo_world import DEMO_OWNER
from github_double.server import GitHubDouble
from stepkit import run_step
from test_resync import add_study, track

FACTORY = f"{DEMO_OWNER}/Factory"
NOTE = "\n\nNote from the coordinator, added while the resync ran."


def notes_added_while_the_studies_are_read(github: GitHubDouble, issues: list) -> threading.Thread:
    """Hold the resync's study read (it comes after the listing of tracking issues) until a person has
    appended a note to every tracking issue, then let it go on."""
    held = github.faults.add("slow", "POST", "/graphql", times=1, seconds=30)

    def write_notes() -> None:
        while not held.fired:
            held.released.wait(0.01)
        with github.world.lock:
            for issue in issues:
                issue.body += NOTE
                github.world.touch(issue)
        held.release()

    thread = threading.Thread(target=write_notes, daemon=True)
    thread.start()
    return thread


def test_notes_written_during_a_resync_all_survive(github, tmp_path):
    issues = [track(github, add_study(github, f"Study{n}", 1 + n % 5)) for n in range(8)]
    writer = notes_added_while_the_studies_are_read(github, issues)

    run = run_step(github, tmp_path, "workflow_dispatch", {"inputs": {}}, repository=FACTORY)
    writer.join(timeout=10)

    assert run.code == 0, run.stdout
    assert run.outputs["changed-count"] == "8"
    assert [issue.body.count(NOTE) for issue in issues] == [1] * 8  # every note kept, none doubled
    assert all("## Current stage:" in issue.body for issue in issues)


def test_a_write_costs_one_read_more_and_a_replay_none(github, tmp_path):
    issues = [track(github, add_study(github, f"Study{n}", 2)) for n in range(3)]
    run_step(github, tmp_path / "first", "workflow_dispatch", {"inputs": {}}, repository=FACTORY)
    patches = github.log.count("PATCH", f"/repos/{FACTORY}/issues/")
    rereads = github.log.count("GET", f"/repos/{FACTORY}/issues/")
    assert patches == rereads == len(issues)

    github.log.clear()
    again = run_step(github, tmp_path / "again", "workflow_dispatch", {"inputs": {}}, repository=FACTORY)
    assert again.outputs["changed-count"] == "0"
    assert github.log.count("GET", f"/repos/{FACTORY}/issues/") == 0
    assert github.log.count("PATCH", f"/repos/{FACTORY}/issues/") == 0
