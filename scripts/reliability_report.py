"""Run the reliability suite and print its figures: faults injected, runs that recovered or failed
cleanly, runs that lost or mangled text, inputs tried, races run, secret scans and hits.

Usage: python scripts/reliability_report.py [-- PYTEST ARGS...]

The suite's tests run with pytest in a child process; `tests/reliability.py` leaves the figures in
the file named by FACTORY_SYNC_RELIABILITY_OUT at the end of the session. The verdict passes when
every test passed, no run lost or mangled text and no secret was shown; the exit status is 0 then,
1 otherwise.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SUITE = ("test_faults.py", "test_races.py", "test_limits.py", "test_bad_input.py", "test_hostile_text.py",
         "test_odd_issues.py", "test_secrets.py", "test_workflows.py", "test_core_properties.py")
MUST_BE_ZERO = ("runs that lost or mangled text", "secret hits")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("pytest_args", nargs="*", help="passed on to pytest (after --)")
    args = parser.parse_args(argv)
    files = [f"tests/{name}" for name in SUITE if (ROOT / "tests" / name).is_file()]
    missing = [name for name in SUITE if f"tests/{name}" not in files]
    with tempfile.TemporaryDirectory(prefix="factory-sync-reliability-") as tmp:
        out = Path(tmp) / "figures.json"
        env = {**os.environ, "FACTORY_SYNC_RELIABILITY_OUT": str(out)}
        done = subprocess.run([sys.executable, "-m", "pytest", *files, *args.pytest_args], cwd=ROOT, env=env,
                              capture_output=True, text=True, check=False)
        figures = json.loads(out.read_text(encoding="utf-8")) if out.is_file() else None
    lines = done.stdout.strip().splitlines()
    print(f"Reliability suite: {len(files)} test files ({', '.join(Path(f).name for f in files)})")
    if missing:
        print(f"Not found: {', '.join(missing)}")
    print(f"pytest: {next((line for line in reversed(lines) if ' in ' in line), '(no summary)')} "
          f"(exit status {done.returncode})")
    if figures is None:
        print("\n".join(lines[-40:]) or done.stderr[-4000:])
        print("Verdict: FAIL, the suite left no figures (did it start?)")
        return 1
    print()
    width = max(map(len, figures))
    print(f"| {'figure':<{width}} | {'value':>7} |")
    print(f"| {'-' * width} | {'-' * 7}:|")
    for figure, value in figures.items():
        print(f"| {figure:<{width}} | {value:>7,} |")
    print()
    problems = [f"{figure}: {figures.get(figure)}" for figure in MUST_BE_ZERO if figures.get(figure) != 0]
    if done.returncode != 0:
        failed = [line for line in lines if line.startswith(("FAILED", "ERROR"))]
        problems.append(f"pytest exit status {done.returncode}"
                        + (f" ({len(failed)} failed)" if failed else ""))
        print("\n".join(failed[:30]))
    if problems:
        print(f"Verdict: FAIL, {'; '.join(problems)}")
        return 1
    print("Verdict: PASS, no text lost or mangled, no secret shown, every test passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
