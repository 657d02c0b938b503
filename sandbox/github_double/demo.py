"""`python -m factory_sync sandbox demo`: the whole flow against a fresh double, start to finish.

A study lead labels an issue in ohdsi-demo/DemoStudy; the action step runs exactly as the runner
runs it (a child process, INPUT_* and GITHUB_* variables, an event file); the Factory's tracking
issue is printed before and after, and the Factory's board (the organisation's project "Factory
portfolio", input `project`) after. The same event is then replayed to show that nothing is written.
Last, the Factory's own run (a workflow_dispatch there) resyncs every study, and the portfolio
dashboard issue it keeps is printed.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import requests

from github_double import projects
from github_double.demo_world import (
    DEMO_APP_ID,
    DEMO_OWNER,
    FACTORY_REPO,
    PORTFOLIO_PROJECT,
    STUDY_REPO,
    TRACKING_LABEL,
    build_demo_world,
)
from github_double.server import GitHubDouble
from github_double.world import World

DASHBOARD_LABEL = "portfolio-dashboard"  # the action's default dashboard-label
PACKAGE_ROOT = Path(__file__).resolve().parents[2] / "action"  # the folder that holds factory_sync/

# What an earlier Factory workflow wrote, with notes people added since: the sync adopts it.
OLD_TRACKING_BODY = """**Repository:** https://github.com/ohdsi-demo/DemoStudy

Study lead: demo-lead. Data partners: 4 confirmed, 2 pending.

Notes from the study-a-thon: keep the protocol review open until the partners sign off.
"""


def main(args: argparse.Namespace) -> int:
    world, key = build_demo_world()
    factory = world.repo(FACTORY_REPO)
    with world.lock:
        world.create_issue(factory, "DemoStudy", OLD_TRACKING_BODY, "demo-lead", labels=[TRACKING_LABEL])
    with GitHubDouble(world) as double, tempfile.TemporaryDirectory(prefix="factory-sync-demo-") as tmp:
        double.reset(world, key)
        print(f"GitHub double serving the demo world at {double.url}\n")
        show_tracking_issues(world, "BEFORE")
        event = label_an_issue(double, "Define the target and comparator cohorts",
                               "stage:phenotype-development")
        first = run_action(double, key, event, Path(tmp), "first run")
        show_tracking_issues(world, "AFTER")
        show_board(world)
        second = run_action(double, key, event, Path(tmp), "the same event again")
        everything = run_action(double, key, {"inputs": {}}, Path(tmp),
                                "a resync of every study, in the Factory", repository=FACTORY_REPO)
        show_dashboard(world)
        return first or second or everything


def label_an_issue(double: GitHubDouble, title: str, label: str) -> dict:
    """The lead's action in the study repo, and the `issues` event GitHub would send for it."""
    world = double.world
    study = world.repo(STUDY_REPO)
    with world.lock:
        issue = world.create_issue(study, title, "Cohort definitions for the study.", "demo-lead")
        world.add_label(study, issue, label, "demo-lead")
    print(f"demo-lead labels {STUDY_REPO}#{issue.number} {title!r} with {label}\n")
    token = world.mint_workflow_token(STUDY_REPO, {"issues": "read"})
    api = requests.Session()
    api.headers["Authorization"] = f"Bearer {token}"
    base = f"{double.url}/repos/{STUDY_REPO}"
    return {
        "action": "labeled",
        "issue": api.get(f"{base}/issues/{issue.number}", timeout=10).json(),
        "label": api.get(f"{base}/labels/{label}", timeout=10).json(),
        "repository": api.get(base, timeout=10).json(),
        "sender": {"login": "demo-lead", "type": "User"},
    }


def run_action(double: GitHubDouble, key: str, event: dict, tmp: Path, title: str,
               repository: str = STUDY_REPO) -> int:
    """`python -m factory_sync action` in a child process, with the environment the runner gives it:
    on the study's `issues` event, or on a workflow_dispatch in the Factory (`repository`)."""
    event_path, output, summary = tmp / "event.json", tmp / "output", tmp / "summary.md"
    event_path.write_text(json.dumps(event), encoding="utf-8")
    output.write_text("")
    summary.write_text("")
    env = {
        "PATH": os.environ.get("PATH", ""),
        "PYTHONPATH": str(PACKAGE_ROOT),
        "INPUT_APP_ID": str(DEMO_APP_ID),
        "INPUT_PRIVATE_KEY": key,
        "INPUT_FACTORY_REPO": FACTORY_REPO,
        # The workflow's job permissions: its issues, and its own stage catalog file.
        "INPUT_TOKEN": double.world.mint_workflow_token(repository, {"issues": "read", "contents": "read"}),
        "INPUT_GITHUB_API_URL": double.url,
        "INPUT_CREATE_MISSING": "true",
        "INPUT_DRY_RUN": "false",
        "INPUT_PROJECT": f"{DEMO_OWNER}/1",
        "GITHUB_ACTIONS": "true",
        "GITHUB_EVENT_NAME": "issues" if repository == STUDY_REPO else "workflow_dispatch",
        "GITHUB_EVENT_PATH": str(event_path),
        "GITHUB_REPOSITORY": repository,
        "GITHUB_API_URL": double.url,
        "GITHUB_SERVER_URL": double.url,
        "GITHUB_RUN_ID": "1001",
        "GITHUB_OUTPUT": str(output),
        "GITHUB_STEP_SUMMARY": str(summary),
    }
    print(f"==> python -m factory_sync action ({title})")
    double.log.clear()
    done = subprocess.run([sys.executable, "-m", "factory_sync", "action"], env=env, check=False,
                          capture_output=True, text=True)
    masks = 0
    for line in (done.stdout + done.stderr).splitlines():
        # The runner consumes ::add-mask:: commands, never shows them, and hides the values from then on.
        if line.startswith("::add-mask::"):
            masks += 1
            continue
        if masks:
            print(f"    ({masks} x ::add-mask::, which the runner takes in and never shows)")
            masks = 0
        print(f"    {line}")
    print("    GitHub saw:")
    for entry in double.log.entries():
        print(f"      {entry.method} {entry.path} -> {entry.status} ({entry.principal})")
    writes = [e for e in double.log.entries() if e.method in ("POST", "PATCH", "PUT", "DELETE")
              and e.path != "/graphql" and not e.path.endswith("/access_tokens")]
    print(f"    -> exit {done.returncode}; {len(double.log.entries())} requests to GitHub, "
          f"{sum(1 for e in writes if '/issues' in e.path)} issue writes")
    print(f"    -> outputs: {parse_outputs(output.read_text(encoding='utf-8'))}\n")
    return done.returncode


def parse_outputs(text: str) -> dict[str, str]:
    """Read GITHUB_OUTPUT's `name<<DELIMITER` blocks back, as the runner does."""
    outputs, lines = {}, iter(text.splitlines())
    for line in lines:
        name, _, delimiter = line.partition("<<")
        if delimiter:
            outputs[name] = "\n".join(iter(lambda: next(lines), delimiter))
        elif "=" in line:
            name, _, value = line.partition("=")
            outputs[name] = value
    return outputs


def show_tracking_issues(world: World, when: str) -> None:
    factory = world.repo(FACTORY_REPO)
    with world.lock:
        issues = [i for i in factory.issues.values() if not i.is_pull_request]
    print(f"---- {FACTORY_REPO} tracking issues, {when} " + "-" * 40)
    for issue in issues:
        print(f"#{issue.number} {issue.title}  [labels: {', '.join(issue.labels)}]\n")
        print(issue.body or "")
    print("-" * 80 + "\n")


def show_dashboard(world: World) -> None:
    """The portfolio dashboard issue as the resync left it: its number, title, labels and body."""
    with world.lock:
        issues = world.repo(FACTORY_REPO).issues.values()
        issue = next((i for i in issues if DASHBOARD_LABEL in i.labels and i.state == "open"), None)
    print(f"---- {FACTORY_REPO} portfolio dashboard, AFTER the resync " + "-" * 18)
    if issue is None:
        print("(no dashboard issue)")
    else:
        print(f"#{issue.number} {issue.title}  [labels: {', '.join(issue.labels)}]\n")
        print(issue.body or "")
    print("-" * 80 + "\n")


def show_board(world: World) -> None:
    """The board's rows as people see them: each item's issue, then the values of its custom fields."""
    with world.lock:
        board = projects.project_by_number(world, DEMO_OWNER, 1)
        custom = [f.name for f in board.fields
                  if f.data_type not in projects.BUILT_IN_TYPES and f.name != "Status"]
        rows = []
        for item in board.items:
            repo = world.repo(item.repository)
            issue = next((i for i in repo.issues.values() if i.id == item.issue_id), None) if repo else None
            shown = f"{item.repository}#{issue.number} {issue.title}" if issue else item.repository
            values = {name: projects.value_of(board, item, name) for name in custom}
            rows.append((shown + ("  (archived)" if item.archived else ""), values))
    print(f"---- {DEMO_OWNER}'s project {PORTFOLIO_PROJECT!r} (number 1), AFTER " + "-" * 24)
    print(" | ".join(["Item", *custom]))
    for shown, values in rows:
        cells = ["" if values[name] is None else str(values[name]) for name in custom]
        print(" | ".join([shown, *cells]))
    print("-" * 80 + "\n")
