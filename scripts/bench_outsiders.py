"""What an outsider on a public study repository costs the App, before and after the job filter.

On the GitHub double with GitHub's secondary limits (github_double.limits.SecondaryLimits, default
figures), a public study repository gets an issue from an outsider (an account with no role there)
that an issue template labelled with a stage; then the outsider renames, closes and reopens it, in
turn. The same events are measured twice, side by side, each time on a fresh copy of the world:
- before: no job filter and `trust-authors: true`, the old behaviour: every event runs the action
  step and counts;
- after: the job filter of examples/study-workflow.yml decides (its `if:` is read from the file and
  evaluated as GitHub evaluates expressions by scripts/job_filter.py, which tests/test_act_job_filter.py
  checks against a real runner), and the steps that run use the defaults.
Each step is the action as the runner runs it: `python -m factory_sync action`, a child process with
the runner's variables. Then a burst of 20 stage events by a maintainer, run one after another as the
job's concurrency group runs them, gives the tokens and writes an event costs, and so how many events
an hour the App's budgets absorb. It prints a table and, as its last line, one JSON object with every
figure. Exits 1 if a step failed.

Usage: PYTHONPATH=action:sandbox python scripts/bench_outsiders.py [--events 100] [--burst 20]
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import math
import os
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

from github_double.demo_world import FACTORY_REPO, STUDY_REPO, build_demo_world, generate_private_key
from github_double.limits import CONTENT_PER_HOUR, TOKEN_REQUESTS, SecondaryLimits
from github_double.server import GitHubDouble
from github_double.world import Issue, World

ROOT = Path(__file__).resolve().parent.parent
WORKFLOW = ROOT / "examples" / "study-workflow.yml"
OUTSIDER, LEAD = "mallory", "demo-lead"  # no role in the study; a member of its organisation
TEMPLATE_LABEL = "stage:results-evaluation"  # what the outsider's issue form applies
RUN_TIMEOUT = 120  # seconds for one step
_spec = importlib.util.spec_from_file_location("job_filter", ROOT / "scripts" / "job_filter.py")
job_filter = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(job_filter)


# -- the world, the events, one step ----------------------------------------------------------------
def public_world(key: str) -> World:
    """The demo world with its study public, an outsider, and GitHub's secondary limits."""
    world, _ = build_demo_world(private_key=key)
    world.repo(STUDY_REPO).private = False
    world.outsiders.add(OUTSIDER)
    world.limits = SecondaryLimits()
    return world


def issues_payload(world: World, issue: Issue, action: str, sender: str, **extra: object) -> dict:
    """The `issues` event GitHub sends for this change, with the fields the filter and the action read."""
    repo = world.repo(STUDY_REPO)
    return {"action": action, "sender": {"login": sender},
            "repository": {"full_name": repo.full_name, "name": repo.name, "private": repo.private,
                           "owner": {"login": repo.owner}},
            "issue": {"number": issue.number, "title": issue.title, "state": issue.state,
                      "labels": [{"name": name} for name in issue.labels], "user": {"login": issue.user},
                      "author_association": world.association(repo, issue.user)}, **extra}


def outsider_events(world: World, count: int):
    """The outsider's issue, opened with the template's stage label, then renamed, closed, reopened."""
    study = world.repo(STUDY_REPO)
    with world.lock:
        issue = world.create_issue(study, "Please run my results", "", OUTSIDER, labels=[TEMPLATE_LABEL])
    yield issues_payload(world, issue, "labeled", OUTSIDER, label={"name": TEMPLATE_LABEL})
    for number in range(1, count):
        with world.lock:
            action = ("edited", "closed", "reopened")[(number - 1) % 3]
            old = issue.title
            if action == "edited":
                world.rename(issue, f"Please run my results ({number})", OUTSIDER)
            else:
                world.set_state(issue, "closed" if action == "closed" else "open", OUTSIDER)
        extra = {"changes": {"title": {"from": old}}} if action == "edited" else {}
        yield issues_payload(world, issue, action, OUTSIDER, **extra)


def maintainer_events(world: World, count: int):
    """A maintainer's stage changes on their own issue: a stage label added, removed; closed, reopened."""
    study = world.repo(STUDY_REPO)
    issue = next(i for i in study.issues.values() if "stage:protocol-development" in i.labels)
    for number in range(count):
        action = ("labeled", "unlabeled", "closed", "reopened")[number % 4]
        with world.lock:
            if action in ("labeled", "unlabeled"):
                (world.add_label if action == "labeled" else world.remove_label)(
                    study, issue, "stage:phenotype-development", LEAD)
            else:
                world.set_state(issue, "closed" if action == "closed" else "open", LEAD)
        extra = {"label": {"name": "stage:phenotype-development"}} if action.endswith("labeled") else {}
        yield issues_payload(world, issue, action, LEAD, **extra)


def step(double: GitHubDouble, tmp: Path, event: str, payload: dict, **inputs: str) -> str:
    """The action step in the study's job; "" when it succeeded, else what went wrong."""
    (tmp / "event.json").write_text(json.dumps(payload), encoding="utf-8")
    for name in ("output", "summary.md"):
        (tmp / name).write_text("")
    with double.world.lock:
        token = double.world.mint_workflow_token(STUDY_REPO, {"issues": "read", "contents": "read"})
    given = {"app_id": str(double.app_id), "private_key": double.private_key, "factory_repo": FACTORY_REPO,
             "token": token, "github_api_url": double.url, **inputs}
    env = {"PATH": os.environ.get("PATH", ""), "PYTHONPATH": str(ROOT / "action"), "GITHUB_ACTIONS": "true",
           "GITHUB_EVENT_NAME": event, "GITHUB_EVENT_PATH": str(tmp / "event.json"),
           "GITHUB_REPOSITORY": STUDY_REPO, "GITHUB_API_URL": double.url, "GITHUB_RUN_ID": "1",
           "GITHUB_SERVER_URL": "https://github.com", "GITHUB_OUTPUT": str(tmp / "output"),
           "GITHUB_STEP_SUMMARY": str(tmp / "summary.md"),
           **{f"INPUT_{name.upper()}": value for name, value in given.items()}}
    done = subprocess.run([sys.executable, "-m", "factory_sync", "action"], env=env, capture_output=True,
                          text=True, timeout=RUN_TIMEOUT, check=False)
    errors = [line for line in done.stdout.splitlines() if line.startswith("::error")]
    return "" if done.returncode == 0 else "\n".join(errors + done.stderr.splitlines()[-5:])


def stage_shown(world: World) -> str:
    with world.lock:
        [tracking] = [i for i in world.repo(FACTORY_REPO).issues.values() if "study-tracking" in i.labels]
        return next(line[18:] for line in (tracking.body or "").splitlines()
                    if line.startswith("## Current stage: "))


# -- one scenario, all of them --------------------------------------------------------------------
def scenario(key: str, tmp: Path, events, count: int, filtered: bool, **inputs: str) -> dict:
    """The events on a fresh world whose Factory already tracks the study (a maintainer's manual run,
    not counted); each starts the step unless `filtered` and the job's `if:` skips it."""
    condition = job_filter.job_condition(WORKFLOW)
    with GitHubDouble() as double:
        double.reset(public_world(key), key)
        failed = [error for error in [step(double, tmp, "workflow_dispatch", {"inputs": {}})] if error]
        shown = stage_shown(double.world)
        double.log.clear()
        jobs, moved, started = 0, False, time.perf_counter()
        for payload in events(double.world, count):
            if filtered and not job_filter.job_runs(condition, "issues", payload):
                continue
            jobs += 1
            failed += [error for error in [step(double, tmp, "issues", payload, **inputs)] if error]
            moved = moved or stage_shown(double.world) != shown
        log, seconds = double.log.entries(), round(time.perf_counter() - started, 1)
    factory = f"/repos/{FACTORY_REPO}/issues".lower()
    return {"events": count, "jobs": jobs, "requests": len(log),
            "tokens": sum(e.method == "POST" and e.path.endswith("/access_tokens") for e in log),
            "writes": sum(e.method in ("POST", "PATCH") and e.path.lower().startswith(factory)
                          and e.status is not None and e.status < 400 for e in log),
            "refusals": sum(e.refused_by is not None for e in log),
            "refused_by": dict(Counter(e.refused_by for e in log if e.refused_by)),
            "stage_moved": moved, "seconds": seconds, "failed": failed}


def per_hour(figures: dict) -> dict:
    """What one event costs, and how many events an hour the App's hourly budgets take."""
    events = max(1, figures["events"])
    tokens, writes = figures["tokens"] / events, figures["writes"] / events
    return {"tokens_per_event": tokens, "writes_per_event": writes,
            "events_an_hour_by_tokens": math.floor(TOKEN_REQUESTS.count / tokens) if tokens else None,
            "events_an_hour_by_writes": math.floor(CONTENT_PER_HOUR.count / writes) if writes else None}


def measure(events: int, burst: int, key: str | None = None) -> dict:
    key = key or generate_private_key()
    with tempfile.TemporaryDirectory(prefix="factory-sync-bench-") as tmp:
        before = scenario(key, Path(tmp), outsider_events, events, filtered=False, trust_authors="true")
        after = scenario(key, Path(tmp), outsider_events, events, filtered=True)
        maintainers = scenario(key, Path(tmp), maintainer_events, burst, filtered=True)
    maintainers.update(per_hour(maintainers))
    limits = [maintainers[f"events_an_hour_by_{name}"] for name in ("tokens", "writes")]
    maintainers["events_an_hour"] = min((n for n in limits if n), default=None)
    return {"before": before, "after": after, "burst": maintainers, "before_per_hour": per_hour(before),
            "budgets": {"tokens_an_hour": TOKEN_REQUESTS.count, "content_an_hour": CONTENT_PER_HOUR.count}}


ROWS = [("events", "events"), ("jobs", "jobs started"), ("requests", "requests"),
        ("tokens", "installation tokens minted"), ("writes", "Factory writes (POST/PATCH on issues) (c)"),
        ("refusals", "secondary-limit refusals"), ("stage_moved", "the Factory's stage moved")]


def table(figures: dict) -> str:
    before, after, burst, budgets = figures["before"], figures["after"], figures["burst"], figures["budgets"]
    spent = figures["before_per_hour"]["events_an_hour_by_writes"]

    def shown(value: object) -> str:
        return ("yes" if value else "no") if isinstance(value, bool) else str(value)

    lines = ["An outsider's stage-labelled issue on a public study repository: its author renames, closes",
             "and reopens it (GitHub's secondary limits on the double)", "",
             f"{'':<44}{'before (a)':>12}{'after (b)':>12}"]
    lines += [f"{title:<44}{shown(before[name]):>12}{shown(after[name]):>12}" for name, title in ROWS]
    lines += ["(a) no job filter, trust-authors: true: every event runs the step and counts",
              "(b) the job filter of examples/study-workflow.yml; the steps that run use the defaults",
              "(c) the ones GitHub accepted; a refused request is retried after its Retry-After",
              f"the events ran back to back: before in {before['seconds']:g} s; refused by: "
              f"{', '.join(f'{name} {n}' for name, n in before['refused_by'].items()) or 'none'}",
              f"before, one outsider alone could spend the installation's {budgets['content_an_hour']} "
              f"content-creating requests", f"an hour with {spent} events", "",
              f"A burst of {burst['events']} maintainer stage events from one study, run one after another "
              f"({burst['seconds']:g} s in all):",
              f"  jobs started {burst['jobs']}, requests {burst['requests']}, installation tokens "
              f"{burst['tokens']}, Factory writes {burst['writes']}, refusals {burst['refusals']}",
              f"  per event: {burst['tokens_per_event']:g} token(s), {burst['writes_per_event']:g} write(s)",
              f"  the App's hourly budgets take {burst['events_an_hour_by_tokens']} events by tokens "
              f"({budgets['tokens_an_hour']} an hour for the App)",
              f"  and {burst['events_an_hour_by_writes']} by writes ({budgets['content_an_hour']} "
              f"content-creating requests an hour per installation): {burst['events_an_hour']} "
              "stage events an hour"]
    for name in ("before", "after", "burst"):
        lines += [f"{name} FAILED: {error}" for error in figures[name]["failed"]]
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--events", type=int, default=100, help="the outsider's events")
    parser.add_argument("--burst", type=int, default=20, help="the maintainer's stage events in one burst")
    args = parser.parse_args(argv)
    figures = measure(args.events, args.burst)
    print(table(figures))
    print(json.dumps(figures))
    return 1 if any(figures[name]["failed"] for name in ("before", "after", "burst")) else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
