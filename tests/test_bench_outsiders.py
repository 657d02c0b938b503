"""scripts/bench_outsiders.py at a small size: an outsider's own events on a public study repository
cost the App nothing once the example workflow's job filter decides, and moved the stage before."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

SCRIPT = Path(__file__).parents[1] / "scripts" / "bench_outsiders.py"
_spec = importlib.util.spec_from_file_location("bench_outsiders", SCRIPT)
bench_outsiders = importlib.util.module_from_spec(_spec)
sys.modules["bench_outsiders"] = bench_outsiders
_spec.loader.exec_module(bench_outsiders)


def test_an_outsiders_events_spend_nothing_after_the_filter_and_moved_the_stage_before(app_private_key):
    figures = bench_outsiders.measure(events=5, burst=4, key=app_private_key)
    before, after, burst = figures["before"], figures["after"], figures["burst"]
    assert [scenario["failed"] for scenario in (before, after, burst)] == [[], [], []]

    assert after["events"] == before["events"] == 5
    assert (after["jobs"], after["requests"], after["tokens"], after["writes"]) == (0, 0, 0, 0)
    assert after["stage_moved"] is False
    # Before: every event started the step, minted a token and rewrote the tracking issue; the
    # template's label counted, so the outsider moved the stage.
    assert before["jobs"] == before["tokens"] == 5
    assert before["writes"] >= 5 and before["requests"] > after["requests"]
    assert before["stage_moved"] is True
    assert before["refusals"] == 0  # five runs stay far within GitHub's limits

    # A maintainer's stage events all start the job, and each costs one token and one write.
    assert burst["jobs"] == burst["tokens"] == burst["writes"] == 4
    assert burst["stage_moved"] is True and burst["refusals"] == 0
    assert burst["events_an_hour_by_tokens"] == 2000 and burst["events_an_hour_by_writes"] == 500
    assert burst["events_an_hour"] == 500

    text = bench_outsiders.table(figures)
    assert "500 stage events an hour" in text
    row = next(line for line in text.splitlines() if line.startswith("installation tokens minted"))
    assert row.split()[-2:] == ["5", "0"]
    json.dumps(figures)  # the last line of the script's output


def test_the_job_filter_is_read_from_the_example_workflow():
    condition = bench_outsiders.job_filter.job_condition(bench_outsiders.WORKFLOW)
    assert "github.event.issue.author_association" in condition
    outsider = {"action": "closed", "sender": {"login": "mallory"}, "repository": {"private": False},
                "issue": {"labels": [{"name": "stage:base-camp"}], "user": {"login": "Mallory"},
                          "author_association": "NONE"}}
    assert not bench_outsiders.job_filter.job_runs(condition, "issues", outsider)
    member = {**outsider, "issue": {**outsider["issue"], "author_association": "member"}}
    assert bench_outsiders.job_filter.job_runs(condition, "issues", member)
    private = {**outsider, "repository": {"private": True}}
    assert bench_outsiders.job_filter.job_runs(condition, "issues", private)
