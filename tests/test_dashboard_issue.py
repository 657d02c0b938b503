"""The portfolio at a glance over HTTP against the double: stalled studies written once as they cross
the threshold, the dashboard issue written once per change (people's text kept), its size with 0, 1
and 500 studies, hostile stage names escaped in its table and chart, and the export read back equal
to the tracking issues."""

from __future__ import annotations

import csv
import json
import re
from datetime import UTC, datetime, timedelta

from actionkit import commit_config, tracking_issues, writes
from factory_sync.dashboard import DASHBOARD_LABEL, DASHBOARD_TITLE
from factory_sync.github_limits import BODY_LIMIT
from factory_sync.tracking_block import body_size
from github_double.demo_world import DEMO_OWNER, FACTORY_REPO
from github_double.server import GitHubDouble
from github_double.world import Issue
from test_dashboard import parse_with_mermaid
from test_resync import EVERY_STUDY, STAGES, act, add_study, track  # noqa: F401 (act: a fixture)


def dashboards(github: GitHubDouble) -> list[Issue]:
    factory = github.world.repo(FACTORY_REPO)
    return [issue for issue in factory.issues.values() if DASHBOARD_LABEL in issue.labels]


def days_pass(monkeypatch, days: int) -> None:
    """The runner's clock moves `days` days on (the day runs count time in stage to)."""
    import factory_sync.portfolio_run as run

    later = datetime.now(UTC).date() + timedelta(days=days)
    monkeypatch.setattr(run, "today", lambda: later)


def labelled_ago(github: GitHubDouble, name: str, days: int) -> str:
    """A study whose one open issue got the base-camp label `days` days ago."""
    world, full_name = github.world, f"{DEMO_OWNER}/{name}"
    with world.lock:
        repo = world.add_repo(full_name, private=True)
        world.ensure_label(repo, STAGES[0])
        world.import_issue(repo, "Base camp", None, "demo-lead", labels=[STAGES[0]],
                           created_at=datetime.now(UTC).replace(microsecond=0) - timedelta(days=days))
        world.installations[next(iter(world.installations))].repositories.append(full_name)
    return full_name


def test_a_study_crossing_the_threshold_is_written_once_then_not_again(github, act, monkeypatch):  # noqa: F811 (the act fixture)
    study = labelled_ago(github, "Slow", 19)
    issue = track(github, study)
    first = act("schedule", EVERY_STUDY)
    assert first.code == 0, first.log
    since = (datetime.now(UTC) - timedelta(days=19)).strftime("%Y-%m-%d")
    assert f"In this stage since {since}." in issue.body and "Stalled" not in issue.body
    assert first.outputs["stalled"] == "0"
    days_pass(monkeypatch, 1)  # 20 days: not yet
    github.log.clear()
    assert act("schedule", EVERY_STUDY).code == 0
    dashboard = dashboards(github)[0]
    assert [e.path for e in writes(github)] == [f"/repos/{FACTORY_REPO}/issues/{dashboard.number}"]
    days_pass(monkeypatch, 2)  # 21 days: stalled
    github.log.clear()
    crossed = act("schedule", EVERY_STUDY)
    assert crossed.code == 0
    assert f"/repos/{FACTORY_REPO}/issues/{issue.number}" in [e.path for e in writes(github)]
    assert "⚠️ **Stalled** since " in issue.body and f"no stage change since {since}." in issue.body
    assert crossed.outputs["stalled"] == "1"
    assert f"stalled study::{study} has been in Base Camp since {since}" in crossed.stdout
    for later in (3, 4, 30):  # later days: the tracking issue stays as it is; the dashboard counts days
        days_pass(monkeypatch, later)
        github.log.clear()
        assert act("schedule", EVERY_STUDY).code == 0
        assert f"/repos/{FACTORY_REPO}/issues/{issue.number}" not in [e.path for e in writes(github)]
        assert len(writes(github)) == 1  # the dashboard, once a day
    github.log.clear()
    assert act("schedule", EVERY_STUDY).code == 0  # the same day again: nothing at all
    assert writes(github) == []


def test_the_dashboard_is_written_once_per_change_and_keeps_peoples_text(github, act):  # noqa: F811 (the act fixture)
    alpha = track(github, add_study(github, "Alpha", 2))
    track(github, add_study(github, "Beta", 6))
    first = act("workflow_dispatch", EVERY_STUDY)
    assert first.code == 0, first.log
    [dashboard] = dashboards(github)
    assert dashboard.title == DASHBOARD_TITLE
    assert first.outputs["dashboard-issue-number"] == str(dashboard.number)
    assert "pie showData title Studies by stage" in first.summary
    assert "| Protocol Development | 1 |" in first.summary
    assert "| ohdsi-demo/Alpha | Protocol Development |" in dashboard.body
    assert f"[#{alpha.number}](" in dashboard.body
    github.log.clear()
    again = act("schedule", EVERY_STUDY)
    assert again.code == 0 and writes(github) == []
    assert again.outputs["dashboard-issue-number"] == str(dashboard.number)
    with github.world.lock:
        dashboard.body = "Coordinators: review on Mondays.\n\n" + dashboard.body + "\n\nEnd of notes."
    with github.world.lock:  # a study moves on
        repo = github.world.repo(f"{DEMO_OWNER}/Alpha")
        github.world.import_issue(repo, "Phenotypes", None, "demo-lead", labels=[STAGES[2]],
                                  created_at=datetime.now(UTC).replace(microsecond=0))
    github.log.clear()
    moved = act("schedule", EVERY_STUDY)
    assert moved.code == 0
    assert len([e for e in writes(github) if e.path.endswith(f"/issues/{dashboard.number}")]) == 1
    assert dashboard.body.startswith("Coordinators: review on Mondays.\n\n")
    assert dashboard.body.endswith("\n\nEnd of notes.")
    assert "| ohdsi-demo/Alpha | Phenotype Development |" in dashboard.body
    assert len(dashboards(github)) == 1


def test_an_empty_dashboard_label_in_the_config_turns_it_off(github, act, mint_token):  # noqa: F811 (the act fixture)
    track(github, add_study(github, "Alpha", 2))
    commit_config(github, mint_token, "dashboard-label: false\n")
    run = act("workflow_dispatch", EVERY_STUDY)
    assert run.code == 0, run.log
    assert dashboards(github) == [] and run.outputs["dashboard-issue-number"] == ""


def test_the_dashboard_of_0_1_and_500_studies_fits_in_an_issue(github, act):  # noqa: F811 (the act fixture)
    assert act("workflow_dispatch", EVERY_STUDY).code == 0
    [empty] = dashboards(github)
    assert "0 studies: 0 stalled" in empty.body and "```mermaid" not in empty.body
    track(github, add_study(github, "One", 3))
    assert act("workflow_dispatch", EVERY_STUDY).code == 0
    assert "1 study: 1 stalled" in empty.body  # in its stage since 2025
    with github.world.lock:
        for n in range(498):  # and the demo world's own study: 500 in all
            name = f"{DEMO_OWNER}/Study-with-a-long-name-for-the-table-{n:03}"
            repo = github.world.add_repo(name, private=True)
            github.world.ensure_label(repo, STAGES[n % 6])
            github.world.import_issue(repo, "Work", None, "demo-lead", labels=[STAGES[n % 6]],
                                      created_at=datetime(2025, 1, 1, tzinfo=UTC) + timedelta(days=n % 300))
            next(iter(github.world.installations.values())).repositories.append(name)
    # Found by discovery and left untracked: no tracking issue is written, the dashboard lists them.
    big = act("workflow_dispatch", EVERY_STUDY, discover="true", create_missing="false")
    assert big.code == 0, big.log[-2000:]
    assert (big.outputs["checked"], big.outputs["untracked"]) == ("500", "499")
    assert body_size(empty.body) <= BODY_LIMIT
    assert "500 studies: " in empty.body
    listed = [line for line in empty.body.splitlines() if line.startswith(f"| {DEMO_OWNER}/")]
    hidden = re.search(r"… and (\d+) more not listed, to stay within GitHub's 65,536 characters", empty.body)
    assert len(listed) + (int(hidden.group(1)) if hidden else 0) == 500
    assert parse_with_mermaid([re.search(r"```mermaid\n(.*?)\n```", empty.body, re.S).group(1)])[0]["ok"]


def test_hostile_stage_names_stay_escaped_in_the_table_and_the_chart(github, act, mint_token):  # noqa: F811 (the act fixture)
    commit_config(github, mint_token, """\
stages:
  - label: "stage:a"
    name: 'Base "Camp"; %%{init: {}}%% #1'
  - label: "stage:b"
    name: "<script>alert(1)</script> | [x](https://evil) @everyone"
""")
    study = f"{DEMO_OWNER}/Hostile"
    with github.world.lock:
        repo = github.world.add_repo(study, private=True)
        github.world.ensure_label(repo, "stage:b")
        github.world.import_issue(repo, "Work", None, "demo-lead", labels=["stage:b"],
                                  created_at=datetime(2025, 1, 1, tzinfo=UTC))
        next(iter(github.world.installations.values())).repositories.append(study)
    track(github, study)
    run = act("workflow_dispatch", EVERY_STUDY)
    assert run.code == 0, run.log
    [dashboard] = dashboards(github)
    chart = re.search(r"```mermaid\n(.*?)\n```", dashboard.body, re.S).group(1)
    assert parse_with_mermaid([chart])[0]["ok"]
    assert "<script>" not in dashboard.body and "%%{init" not in chart and "@everyone" not in dashboard.body
    row = next(line for line in dashboard.body.splitlines() if line.startswith("| ohdsi-demo/Hostile |"))
    assert row.count(" | ") == 5 and "&lt;script&gt;" in row and "\\[x\\]" in row


def test_the_export_read_back_equals_the_tracking_issues(github, act, tmp_path):  # noqa: F811 (the act fixture)
    for name, reached in (("Alpha", 2), ("Beta", 6), ("Gamma", 1)):
        track(github, add_study(github, name, reached))
    folder = tmp_path / "export"
    run = act("workflow_dispatch", EVERY_STUDY, export_dir=str(folder))
    assert run.code == 0, run.log
    with open(folder / "studies.csv", encoding="utf-8", newline="") as file:
        rows = {row["study"]: row for row in csv.DictReader(file)}
    issues = {issue.number: issue for issue in tracking_issues(github)}
    assert len(rows) == len(issues) == 3
    for study, row in rows.items():
        issue = issues[int(row["tracking_issue"])]
        assert f"study={study} -->" in issue.body
        headline = re.search(r"^## Current stage: (.*)$", issue.body, re.M).group(1)
        assert row["stage"] == headline
        assert f"since {row['stage_since']}." in issue.body
        assert row["stage_label"] in issue.labels
        assert (row["stalled"] == "TRUE") == ("**Stalled** since" in issue.body)
    with open(folder / "stages.csv", encoding="utf-8", newline="") as file:
        stages = list(csv.DictReader(file))
    for row in stages:
        issue = issues[int(rows[row["study"]]["tracking_issue"])]
        table = next(line for line in issue.body.splitlines() if line.startswith(f"| {row['stage']} |")
                     or line.startswith(f"| **{row['stage']}** |"))
        assert row["status"] in table and row["started"][:10] in table
    with open(folder / "history.csv", encoding="utf-8", newline="") as file:
        history = list(csv.DictReader(file))
    assert {row["study"] for row in history} == set(rows)
    document = json.loads((folder / "portfolio.json").read_text(encoding="utf-8"))
    assert [s["study"] for s in document["studies"]] == list(rows)
