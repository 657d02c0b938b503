"""A resync lives within GitHub's secondary limits: its writes are spaced (write-interval) and bounded
(write-budget), so the double, which plays those limits, never refuses it; past its budget a run
stops cleanly and the next one continues, as a resync writes only what still differs."""

from __future__ import annotations

from collections import Counter

from github_double.demo_world import DEMO_OWNER
from github_double.limits import SecondaryLimits
from stepkit import run_step
from test_resync import add_study, track

FACTORY = f"{DEMO_OWNER}/Factory"
EVERY_STUDY = {"inputs": {}}


def test_a_large_first_resync_is_never_refused_and_finishes_over_several_runs(github, tmp_path):
    issues = [track(github, add_study(github, f"Study{n:03}", 1 + n % 5)) for n in range(100)]
    # GitHub's content limits scaled down in count and time: 10 writes in 2 s, 30 in 60 s.
    github.world.limits = SecondaryLimits(content_per_minute=(10, 2.0), content_per_hour=(30, 60.0))
    pace = {"write_interval": "0.25", "write_budget": "25"}  # 8 writes in 2 s; 25 a run

    runs = []
    for n in range(6):
        runs.append(run_step(github, tmp_path / f"run{n}", "workflow_dispatch", EVERY_STUDY,
                             repository=FACTORY, **pace))
        github.world.clock.advance(60)  # the next run comes once the scaled-down hour has passed
        if runs[-1].outputs["deferred"] == "0":  # done; one run more shows there is nothing left
            runs.append(run_step(github, tmp_path / "last", "workflow_dispatch", EVERY_STUDY,
                                 repository=FACTORY, **pace))
            break

    assert github.log.refusals() == 0
    assert [run.code for run in runs] == [0] * 5
    assert [run.outputs["changed-count"] for run in runs] == ["25", "25", "25", "25", "0"]
    assert [run.outputs["deferred"] for run in runs] == ["75", "50", "25", "0", "0"]
    assert ("::notice::The write budget of this run is spent (input write-budget): 75 studies still differ; "
            "the next resync continues with them") in runs[0].stdout
    assert "75 studies still differ" in runs[0].summary
    patched = Counter(entry.path for entry in github.log.select("PATCH", f"/repos/{FACTORY}/issues/"))
    assert sorted(patched.values()) == [1] * 100  # each study written exactly once
    assert all("## Current stage:" in issue.body for issue in issues)


def test_the_write_budget_is_a_clear_input(github, tmp_path):
    run = run_step(github, tmp_path, "workflow_dispatch", EVERY_STUDY, repository=FACTORY, write_budget="0")
    assert run.code == 1
    assert run.errors == ["::error::write-budget must be a whole number of writes from 1 to 100000 (the "
                          "default is 300), not '0'."]
