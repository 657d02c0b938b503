"""The resync benchmark: factory-sync's portfolio resync against the old Factory updater workflow.

For each size N it builds the seeded portfolio world (factory_sync/sandbox/portfolio_world.py) on
the GitHub double, with a fixed latency on every request, and measures requests, writes and wall
time of:
- factory-sync: a first resync of all studies, which adopts every old tracking issue, then a second
  one in which nothing changed. Each is the action step exactly as the runner runs it on a
  workflow_dispatch in the Factory: `python -m factory_sync action` in a child process.
- the baseline: the old Factory updater's calls, replayed with plain requests, twice on a fresh copy
  of the same world. It rewrites every tracking issue on every run, so its no-change run costs as
  much as its first.
It prints a table and, as its last line, one JSON object with every figure. Exits 1 if a
factory-sync run failed.

With --board it measures the Factory's project board instead: a first resync that makes it, then the
no-change resync with the board and without it, side by side (requests and mutation documents).

Usage: PYTHONPATH=action:sandbox python scripts/bench.py [--sizes 10,100,1000] [--latency 0.05] [--seed 1]
       [--limits off|github] [--board]
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import jwt
import requests
import yaml

from factory_sync.tracking_body import begin_marker
from github_double.demo_world import generate_private_key
from github_double.graphql_api import is_mutation
from github_double.limits import SecondaryLimits
from github_double.portfolio_world import (
    APP_ID,
    CONFIG_PATH,
    FACTORY_REPO,
    NOT_STARTED,
    TRACKING_LABEL,
    build_portfolio_world,
    study_repo,
)
from github_double.request_log import LoggedRequest
from github_double.server import GitHubDouble

ACTION_DIR = Path(__file__).resolve().parent.parent / "action"
RUN_TIMEOUT = 1800  # seconds; a first resync of 1,000 studies at 50 ms a request takes about a minute
# What the no-change resync must achieve at N = 1,000, against the old updater.
TARGET_N, TARGET_NOOP_REQUESTS, TARGET_REQUEST_RATIO, TARGET_SECONDS_RATIO = 1000, 60, 50, 10
WRITES_MEANING = ("writes: POST, PATCH, PUT and DELETE on a repository's issues or labels; "
                  "requests: every request the double answered, GraphQL and App/token requests included")
STATUS_LINE = re.compile(r"^\*\*Status:\*\*.*$", re.MULTILINE)
STUDY_LINE = re.compile(r"\*\*Repository:\*\*\s*https://github\.com/([\w.-]+/[\w.-]+)")


@dataclass
class Run:
    requests: int
    writes: int
    seconds: float
    exit_code: int = 0
    error: str = ""  # what went wrong, for a failed run
    refusals: int = 0  # requests the double refused for a secondary rate limit

    @property
    def ok(self) -> bool:
        return self.exit_code == 0 and not self.error


def is_write(entry: LoggedRequest) -> bool:
    parts = entry.path.split("/")  # "", "repos", owner, name, "issues" or "labels", ...
    return (entry.method in ("POST", "PATCH", "PUT", "DELETE") and parts[1:2] == ["repos"]
            and parts[4:5] in (["issues"], ["labels"]))


def timed(double: GitHubDouble, work: Callable[[], tuple[int, str]]) -> Run:
    """Run `work` (which returns an exit code and an error text) and count what the double saw."""
    double.log.clear()
    started = time.perf_counter()
    exit_code, error = work()
    seconds = time.perf_counter() - started
    entries = double.log.entries()
    return Run(len(entries), sum(map(is_write, entries)), round(seconds, 2), exit_code, error,
               double.log.refusals())


# -- factory-sync ------------------------------------------------------------------------------
def resync_env(double: GitHubDouble, key: str, tmp: Path, run_id: int,
               inputs: dict[str, str]) -> dict[str, str]:
    """The environment the runner gives the action's step on a workflow_dispatch in the Factory (no
    dispatch inputs: every study), with the App's credentials, the workflow's token and `inputs`."""
    event, output, summary = tmp / "event.json", tmp / "output", tmp / "summary.md"
    event.write_text(json.dumps({"inputs": {}}), encoding="utf-8")
    output.write_text("")
    summary.write_text("")
    with double.world.lock:
        token = double.world.mint_workflow_token(FACTORY_REPO, {"issues": "read"})
    given = {"app-id": str(APP_ID), "private-key": key, "factory-repo": FACTORY_REPO,
             "github-api-url": double.url, "token": token, "dry-run": "false", **inputs}
    return {
        "PATH": os.environ.get("PATH", ""), "PYTHONPATH": str(ACTION_DIR),
        **{f"INPUT_{name.replace('-', '_').upper()}": value for name, value in given.items()},
        "GITHUB_ACTIONS": "true", "GITHUB_EVENT_NAME": "workflow_dispatch", "GITHUB_EVENT_PATH": str(event),
        "GITHUB_REPOSITORY": FACTORY_REPO, "GITHUB_API_URL": double.url, "GITHUB_SERVER_URL": double.url,
        "GITHUB_RUN_ID": str(run_id), "GITHUB_OUTPUT": str(output), "GITHUB_STEP_SUMMARY": str(summary),
    }


def resync(double: GitHubDouble, key: str, tmp: Path, run_id: int, write_interval: str | None,
           project: str | None = None, write_budget: int | None = None) -> Run:
    """The action step on a workflow_dispatch in the Factory with no inputs: resync every study (and
    keep the board `project`, when given)."""
    given = {"write-interval": write_interval, "project": project,
             "write-budget": None if write_budget is None else str(write_budget)}
    env = resync_env(double, key, tmp, run_id, {"create-missing": "true",
                                               **{name: value for name, value in given.items() if value}})

    def step() -> tuple[int, str]:
        try:
            done = subprocess.run([sys.executable, "-m", "factory_sync", "action"], env=env, check=False,
                                  capture_output=True, text=True, timeout=RUN_TIMEOUT)
        except subprocess.TimeoutExpired:
            return -1, f"did not finish within {RUN_TIMEOUT} s"
        if done.returncode == 0:
            return 0, ""
        # The step reports its failure as ::error:: lines on stdout; Python's own on stderr.
        errors = [line for line in done.stdout.splitlines() if line.startswith("::error")]
        return done.returncode, "\n".join(errors + done.stderr.splitlines()[-15:])

    return timed(double, step)


def adoption_error(double: GitHubDouble, n: int) -> str:
    """Why the first resync did not leave every study's old tracking issue adopted ("" if it did)."""
    factory = double.world.repo(FACTORY_REPO)
    with double.world.lock:  # the portfolio dashboard is the one issue a first resync creates
        bodies = {number: issue.body or "" for number, issue in factory.issues.items()
                  if "portfolio-dashboard" not in issue.labels}
    adopted = sum(begin_marker(study_repo(i)) in bodies.get(i, "") for i in range(1, n + 1))
    created = len(bodies) - n
    if adopted == n and created == 0:
        return ""
    return f"adopted {adopted} of {n} tracking issues and created {created}"


# -- the baseline: the old Factory updater -------------------------------------------------------
def old_updater(api: str, key: str, factory: str) -> None:
    """The old workflow's calls: list the tracking issues; then for each study list all its issues
    (one list with state=all, paginated, rather than one per stage label), read the config file from
    the Factory, and rewrite the tracking issue's status line, always."""
    session = _PatientSession()
    session.headers["Accept"] = "application/vnd.github+json"
    now = int(time.time())
    app_jwt = jwt.encode({"iat": now - 60, "exp": now + 540, "iss": str(APP_ID)}, key, algorithm="RS256")
    as_app = {"Authorization": f"Bearer {app_jwt}"}
    installation = _json(session.get(f"{api}/repos/{factory}/installation", headers=as_app, timeout=30))
    minted = session.post(f"{api}/app/installations/{installation['id']}/access_tokens", headers=as_app,
                          timeout=30)
    session.headers["Authorization"] = f"token {_json(minted)['token']}"
    listing = {"state": "all", "per_page": 100}
    tracking = list(_pages(session, f"{api}/repos/{factory}/issues", {**listing, "labels": TRACKING_LABEL}))
    for issue in tracking:
        named = STUDY_LINE.search(issue["body"] or "")
        if named is None:
            continue
        issues = list(_pages(session, f"{api}/repos/{named.group(1)}/issues", listing))
        config_file = _json(session.get(f"{api}/repos/{factory}/contents/{CONFIG_PATH}", timeout=30))
        config = yaml.safe_load(base64.b64decode(config_file["content"]))
        status = f"**Status:** {_old_status(issues, config['stages'])}"
        body = STATUS_LINE.sub(status, issue["body"], count=1)
        url = f"{api}/repos/{factory}/issues/{issue['number']}"
        _json(session.patch(url, json={"body": body}, timeout=30))


class _PatientSession(requests.Session):
    """Waits out a secondary rate limit's Retry-After and sends the request again, so that under
    GitHub's limits (--limits github) the replay finishes and its refusals are counted."""

    def request(self, method, url, *args, **kwargs):
        while True:
            reply = super().request(method, url, *args, **kwargs)
            wait = reply.headers.get("Retry-After")
            if reply.status_code not in (403, 429) or wait is None:
                return reply
            time.sleep(int(wait))


def _old_status(issues: list[dict], stages: list[dict]) -> str:
    """The old rule: the furthest stage whose label any issue carries."""
    carried = {label["name"] for issue in issues for label in issue["labels"]}
    reached = [stage["name"] for stage in stages if stage["label"] in carried]
    return reached[-1] if reached else NOT_STARTED


def _pages(session: requests.Session, url: str, params: dict) -> Iterator[dict]:
    while url:
        reply = session.get(url, params=params, timeout=30)
        yield from _json(reply)
        url, params = reply.links.get("next", {}).get("url"), None  # the next link carries the query


def _json(reply: requests.Response):
    reply.raise_for_status()
    return reply.json()


def baseline(double: GitHubDouble, key: str) -> Run:
    def replay() -> tuple[int, str]:
        old_updater(double.url, key, FACTORY_REPO)  # a failure here is the bench's own bug: let it raise
        return 0, ""

    return timed(double, replay)


# -- one size, all sizes -------------------------------------------------------------------------
# The double's secondary rate limits (--limits): GitHub's, or none. A first resync in one run with
# write-interval 0 is not paced within GitHub's, so the bench runs without them unless asked.
LIMITS = {"github": SecondaryLimits, "off": SecondaryLimits.off}


def serve(double: GitHubDouble, n: int, seed: int, key: str, latency: float, limits: str = "off") -> None:
    world, _ = build_portfolio_world(n, seed, key)
    world.limits = LIMITS[limits]()
    double.reset(world, key)
    double.latency = latency


def bench_size(double: GitHubDouble, n: int, seed: int, key: str, latency: float, tmp: Path,
               limits: str = "off") -> dict:
    """The four runs at one size, each system on a fresh copy of the same world."""
    serve(double, n, seed, key, latency, limits)
    first = resync(double, key, tmp, 1, write_interval="0", write_budget=n + 1)  # the studies, the dashboard
    if first.ok:
        first.error = adoption_error(double, n)
    # After a failed first resync, a second one would measure nothing worth comparing.
    noop = (resync(double, key, tmp, 2, write_interval=None) if first.ok
            else Run(0, 0, 0.0, error="not run: the first resync failed"))
    serve(double, n, seed, key, latency, limits)
    runs = {"first": first, "noop": noop, "baseline_first": baseline(double, key),
            "baseline_noop": baseline(double, key)}
    figures: dict = {"n": n}
    for name, run in runs.items():
        for field in ("requests", "writes", "seconds", "refusals"):  # a failed run's would mislead: None
            figures[f"{name}_{field}"] = getattr(run, field) if run.ok else None
        if not run.ok:
            figures[f"{name}_error"] = (f"exit {run.exit_code}: " if run.exit_code else "") + run.error
    figures["noop_request_ratio"] = _ratio(figures["baseline_noop_requests"], figures["noop_requests"])
    figures["noop_seconds_ratio"] = _ratio(figures["baseline_noop_seconds"], figures["noop_seconds"])
    return figures


def _ratio(baseline_value: float | None, value: float | None) -> float | None:
    return round(baseline_value / value, 1) if baseline_value is not None and value else None


def targets(figures: dict) -> dict[str, bool]:
    """The issue's targets for the no-change resync; a missing figure (None) misses its target."""
    noop_requests = figures["noop_requests"]
    return {
        "noop_writes == 0": figures["noop_writes"] == 0,
        f"noop_requests <= {TARGET_NOOP_REQUESTS}":
            noop_requests is not None and noop_requests <= TARGET_NOOP_REQUESTS,
        f"noop_request_ratio >= {TARGET_REQUEST_RATIO}":
            (figures["noop_request_ratio"] or 0) >= TARGET_REQUEST_RATIO,
        f"noop_seconds_ratio >= {TARGET_SECONDS_RATIO}":
            (figures["noop_seconds_ratio"] or 0) >= TARGET_SECONDS_RATIO,
    }


ROWS = [("first", "factory-sync first resync (a)"), ("noop", "factory-sync no-change resync"),
        ("baseline_first", "old updater first run (b)"), ("baseline_noop", "old updater no-change run")]
NOTES = [
    "(a) with write-interval 0 and write-budget N + 1 (the studies and the dashboard), in one run, with",
    "    no secondary limits. By default factory-sync pauses 1 s between writes and stops at 300 a run,",
    "    within GitHub's limits: see scripts/bench_limits.py. The no-change resync runs with the defaults.",
    "(b) replayed without any pause between writes. Each system starts from a fresh copy of the same",
    "    seeded world.",
]


def table(results: list[dict], latency: float) -> str:
    lines = [f"Resync benchmark on the GitHub double, {latency * 1000:g} ms latency on every request",
             WRITES_MEANING, "",
             f"{'N':>6}  {'run':<32}{'requests':>10}{'writes':>8}{'seconds':>9}{'refusals':>10}"]
    for figures in results:
        n = figures["n"]
        for name, title in ROWS:
            if figures[f"{name}_requests"] is None:
                lines.append(f"{n:>6}  {title:<32}  FAILED, see below")
                continue
            lines.append(f"{n:>6}  {title:<32}{figures[f'{name}_requests']:>10}{figures[f'{name}_writes']:>8}"
                         f"{figures[f'{name}_seconds']:>9.2f}{figures[f'{name}_refusals']:>10}")
        ratios = [f"x{figures[name]} {what}" for name, what in (("noop_request_ratio", "requests"),
                                                                 ("noop_seconds_ratio", "seconds"))
                  if figures[name] is not None]
        lines.append(f"{'':>8}no-change, old updater / factory-sync: {', '.join(ratios) or 'n/a'}")
        for name, error in figures.items():
            if name.endswith("_error"):
                indented = error.replace("\n", "\n" + " " * 10)
                lines.append(f"{'':>8}{name.removesuffix('_error')} FAILED: {indented}")
        lines.append("")
    return "\n".join(lines + NOTES)


# -- the board mode (--board) ---------------------------------------------------------------------
BOARD = f"{FACTORY_REPO.split('/', 1)[0]}/1"  # the portfolio world's "Factory portfolio"
BOARD_EXTRA_REQUESTS = 12  # the most a board may add to the no-change resync at N = 1,000


def mutation_documents(double: GitHubDouble) -> int:
    """GraphQL mutation documents among the requests the double logged since it was last cleared."""
    return sum(1 for entry in double.log.entries()
               if entry.path == "/graphql" and entry.method == "POST" and is_mutation(_body(entry)))


def _body(entry: LoggedRequest) -> object:
    try:
        return json.loads(entry.request_body)
    except ValueError:
        return None


def bench_board(double: GitHubDouble, n: int, seed: int, key: str, latency: float, tmp: Path,
                limits: str = "off") -> dict:
    """A first resync that makes the board (its fields, then one item a study with its values), then the
    no-change resync with the board and without it, side by side on the same world."""
    serve(double, n, seed, key, latency, limits)
    runs: dict[str, Run] = {}
    documents: dict[str, int] = {}
    for name, interval, project in (("first", "0", BOARD), ("noop_with_board", None, BOARD),
                                    ("noop_without_board", None, None)):
        runs[name] = resync(double, key, tmp, len(runs) + 1, write_interval=interval, project=project,
                            write_budget=n + 1 if name == "first" else None)
        documents[name] = mutation_documents(double)
        if not runs[name].ok:
            break
    figures: dict = {"n": n, "project": BOARD}
    for name, run in runs.items():
        figures[f"{name}_requests"] = run.requests if run.ok else None
        figures[f"{name}_mutation_documents"] = documents[name] if run.ok else None
        figures[f"{name}_seconds"] = run.seconds if run.ok else None
        if not run.ok:
            figures[f"{name}_error"] = (f"exit {run.exit_code}: " if run.exit_code else "") + run.error
    with double.world.lock:
        board = double.world.projects and next(iter(double.world.projects.values()))
        figures["board_items"] = len(board.items) if board else 0
    if all(run.ok for run in runs.values()) and len(runs) == 3:
        figures["board_extra_requests"] = (figures["noop_with_board_requests"]
                                           - figures["noop_without_board_requests"])
    return figures


def board_targets(figures: dict) -> dict[str, bool]:
    extra = figures.get("board_extra_requests")
    documents = figures.get("noop_with_board_mutation_documents")
    within = extra is not None and extra <= BOARD_EXTRA_REQUESTS
    return {f"board_extra_requests <= {BOARD_EXTRA_REQUESTS}": within,
            "noop_with_board_mutation_documents == 0": documents == 0}


def board_table(results: list[dict], latency: float) -> str:
    lines = [f"Board benchmark on the GitHub double ({BOARD}), {latency * 1000:g} ms latency a request",
             "requests: every request the double answered; mutation documents: GraphQL mutation requests", "",
             f"{'N':>6}  {'run':<40}{'requests':>10}{'mutation documents':>20}{'seconds':>9}"]
    titles = (("first", "first resync, making the board (a)"),
              ("noop_with_board", "no-change resync, with the board"),
              ("noop_without_board", "no-change resync, without a board"))
    for figures in results:
        for name, title in titles:
            if figures.get(f"{name}_requests") is None:
                lines.append(f"{figures['n']:>6}  {title:<40}  FAILED or not run")
                continue
            lines.append(f"{figures['n']:>6}  {title:<40}{figures[f'{name}_requests']:>10}"
                         f"{figures[f'{name}_mutation_documents']:>20}{figures[f'{name}_seconds']:>9.2f}")
        lines.append(f"{'':>8}board items: {figures['board_items']}; the board adds "
                     f"{figures.get('board_extra_requests', 'n/a')} requests to the no-change resync")
        for name, error in figures.items():
            if name.endswith("_error"):
                lines.append(f"{'':>8}{name.removesuffix('_error')} FAILED: {error}")
        lines.append("")
    return "\n".join([*lines, "(a) with write-interval 0 and write-budget N + 1; the no-change resyncs run "
                               "with the defaults."])


def board_main(args: argparse.Namespace, sizes: list[int], key: str) -> int:
    results = []
    with GitHubDouble() as double, tempfile.TemporaryDirectory(prefix="factory-sync-bench-") as tmp:
        for n in sizes:
            print(f"N = {n} (board) ...", file=sys.stderr, flush=True)
            results.append(bench_board(double, n, args.seed, key, args.latency, Path(tmp), args.limits))
    print(board_table(results, args.latency))
    summary = {**results[-1], "latency": args.latency, "seed": args.seed, "limits": args.limits,
               "sizes": {str(figures["n"]): figures for figures in results}}
    at_target = next((figures for figures in results if figures["n"] == TARGET_N), None)
    if at_target is not None:
        summary["targets"] = board_targets(at_target)
        print(f"\nTargets at N = {TARGET_N}: " + ", ".join(
            f"{name} {'met' if met else 'NOT MET'}" for name, met in summary["targets"].items()))
    print(json.dumps(summary))
    return 1 if any(name.endswith("_error") for figures in results for name in figures) else 0


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--sizes", default="10,100,1000", help="numbers of studies, comma-separated")
    parser.add_argument("--latency", type=float, default=0.05, help="seconds added to every request")
    parser.add_argument("--seed", type=int, default=1, help="the portfolio world's seed")
    parser.add_argument("--limits", choices=sorted(LIMITS), default="off",
                        help="the double's secondary rate limits: GitHub's, or none (the default)")
    parser.add_argument("--board", action="store_true",
                        help="the board mode: a first resync that makes the project board, then the "
                             "no-change resync with the board and without it, side by side")
    args = parser.parse_args(argv)
    sizes = sorted(int(size) for size in args.sizes.split(","))
    key = generate_private_key()
    if args.board:
        return board_main(args, sizes, key)
    results = []
    with GitHubDouble() as double, tempfile.TemporaryDirectory(prefix="factory-sync-bench-") as tmp:
        for n in sizes:
            print(f"N = {n} ...", file=sys.stderr, flush=True)
            results.append(bench_size(double, n, args.seed, key, args.latency, Path(tmp), args.limits))
    print(table(results, args.latency))
    summary = {**results[-1], "latency": args.latency, "seed": args.seed, "limits": args.limits,
               "definitions": WRITES_MEANING,
               "sizes": {str(figures["n"]): figures for figures in results}}
    at_target = next((figures for figures in results if figures["n"] == TARGET_N), None)
    if at_target is not None:
        summary["targets"] = targets(at_target)
        print(f"\nTargets at N = {TARGET_N}: " + ", ".join(
            f"{name} {'met' if met else 'NOT MET'}" for name, met in summary["targets"].items()))
    print(json.dumps(summary))
    failed = [name for figures in results for name in figures
              if name.endswith("_error") and not name.startswith("baseline")]
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
