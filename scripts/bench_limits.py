"""A first resync of a large portfolio under GitHub's real secondary limits, with the defaults.

On the GitHub double with GitHub's figures (80 content-creating requests a minute and 500 an hour per
installation, REST and GraphQL points, 2,000 token requests an hour), every study of the seeded
portfolio world behind, the action step runs as the Factory's hourly schedule would run it, with no
input but the defaults (write-interval 1 s, write-budget 300): run after run until nothing differs,
then one run more that finds nothing to do. Between two runs the double's windows age by what is left
of the hour since the run began (Budgets.pass_time), so the next run starts as it would an hour
later. It prints writes and seconds per run, the runs and hours the first resync needs, the double's
refusals (the target: 0), and, side by side in the same process, the set-up step's ratio against
the one it replaced (scripts/bench_setup.py). Its last line is one JSON object with every figure.
Exits 1 if a run failed or was refused.

Usage: PYTHONPATH=action:sandbox python scripts/bench_limits.py [--studies 1000] [--setup-runs 3]
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import sys
import tempfile
from pathlib import Path

from github_double.demo_world import generate_private_key
from github_double.limits import HOUR, SecondaryLimits
from github_double.portfolio_world import build_portfolio_world
from github_double.server import GitHubDouble

SCRIPTS = Path(__file__).resolve().parent
SCHEDULE = HOUR  # the Factory's resync schedule: hourly, as the write-budget input asks at most
MOST_RUNS = 50  # a resync that never finishes is a failure, not an endless bench


def _script(name: str):
    spec = importlib.util.spec_from_file_location(name, SCRIPTS / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


bench, bench_setup = _script("bench"), _script("bench_setup")


def token_requests(double: GitHubDouble) -> int:
    return sum(1 for entry in double.log.entries()
               if entry.method == "POST" and entry.path.endswith("/access_tokens"))


def first_resync(studies: int, seed: int, latency: float) -> dict:
    """Runs, with the defaults, until a run finds nothing to write; the figures of each."""
    key = generate_private_key()
    runs: list[dict] = []
    with GitHubDouble() as double, tempfile.TemporaryDirectory(prefix="factory-sync-bench-") as tmp:
        world, _ = build_portfolio_world(studies, seed, key)
        world.limits = SecondaryLimits()  # GitHub's figures
        double.reset(world, key)
        double.latency = latency
        while len(runs) < MOST_RUNS:
            run = bench.resync(double, key, Path(tmp), len(runs) + 1, write_interval=None)
            runs.append({"requests": run.requests, "writes": run.writes, "seconds": run.seconds,
                         "refusals": run.refusals, "tokens": token_requests(double), "exit": run.exit_code,
                         "error": run.error})
            print(f"run {len(runs)}: {run.writes} writes, {run.seconds:.0f} s, {run.refusals} refusals",
                  file=sys.stderr, flush=True)
            if not run.ok or run.writes == 0:
                break
            with double.world.lock:
                double.world.budgets.pass_time(max(0.0, SCHEDULE - run.seconds))
        adopted = bench.adoption_error(double, studies)
    writing = [run for run in runs if run["writes"]]
    return {
        "studies": studies, "runs": runs, "writing_runs": len(writing),
        "writes": sum(run["writes"] for run in runs),
        "most_writes_a_run": max((run["writes"] for run in runs), default=0),
        "refusals": sum(run["refusals"] for run in runs),
        # The last writing run starts (writing runs - 1) hours after the first, and takes its own time.
        "hours": round((len(writing) - 1) + writing[-1]["seconds"] / HOUR, 2) if writing else 0.0,
        "adoption_error": adopted, "failed": [run["error"] for run in runs if run["exit"] or run["error"]],
    }


def table(figures: dict, setup: dict | None) -> str:
    lines = [f"A first resync of {figures['studies']} studies on the GitHub double, GitHub's secondary "
             "limits, the defaults (write-interval 1 s, write-budget 300), hourly runs", "",
             f"{'run':>4}{'writes':>8}{'requests':>10}{'tokens':>8}{'seconds':>9}{'refusals':>10}"]
    for number, run in enumerate(figures["runs"], start=1):
        lines.append(f"{number:>4}{run['writes']:>8}{run['requests']:>10}{run['tokens']:>8}{run['seconds']:>9.0f}"
                     f"{run['refusals']:>10}")
    lines += ["", f"writes per run: at most {figures['most_writes_a_run']}; runs that write: "
                  f"{figures['writing_runs']}; hours the first resync needs: {figures['hours']}; "
                  f"refusals: {figures['refusals']}"]
    if figures["adoption_error"]:
        lines.append(f"NOT DONE: {figures['adoption_error']}")
    lines += [f"FAILED: {error}" for error in figures["failed"]]
    if setup is not None:
        lines.append(f"set-up step, before / now (medians of {setup['runs']} runs each): without pip's cache "
                     f"x{setup['no cache']['ratio before/now']}, with a warm cache "
                     f"x{setup['warm cache']['ratio before/now']}")
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--studies", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--latency", type=float, default=0.0, help="seconds added to every request")
    parser.add_argument("--setup-runs", type=int, default=3, help="0 leaves the set-up step out")
    parser.add_argument("--python", default=sys.executable, help="the runner's Python, for the set-up step")
    args = parser.parse_args(argv)
    figures = first_resync(args.studies, args.seed, args.latency)
    setup = bench_setup.measure(args.setup_runs, args.python) if args.setup_runs else None
    print(table(figures, setup))
    print(json.dumps({**figures, "setup": setup}))
    bad = figures["failed"] or figures["refusals"] or figures["adoption_error"]
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
