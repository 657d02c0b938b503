"""The action's set-up step against the one it replaced, side by side in one run.

Both install requirements.txt, hash-checked and wheels only, into a new virtual environment:
- before: `python -m venv` (which installs pip into the environment), then that pip;
- now: action.yml's own set-up script, read from the file: an environment without pip, installed
  into by the runner's pip with `--python` (or the old way when the runner's pip is older than 22.3).
Each is timed with the sync step's first import of the packages it uses (the new one compiles no
byte code ahead), N times, alternating, every time in a new RUNNER_TEMP: without pip's cache
(`--no-cache-dir`, so every wheel is downloaded), then with a warm cache of the run's own. It
prints the medians and the ratio before / now, and as its last line one JSON object with every
figure. Exits 1 if a set-up failed.

Usage: python scripts/bench_setup.py [--runs 5] [--python python3]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent

# The set-up step before: its commands as they ran, less the search for an environment to reuse.
BEFORE = r"""set -euo pipefail
requirements="$GITHUB_ACTION_PATH/requirements.txt"
venv="$RUNNER_TEMP/factory-sync-before"
"$python" -m venv "$venv"
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check --no-input \
  --require-hashes --no-deps --only-binary :all: -r "$requirements"
echo "python=$venv/bin/python" >> "$GITHUB_OUTPUT"
"""
# The sync step's first import of the packages it uses, timed with each set-up: the before step
# compiled every module ahead, the new one leaves that to the first import.
IMPORTS = "import github, jwt, yaml, requests, cryptography.hazmat.primitives.asymmetric.rsa"
FIRST_IMPORT = {
    "before": f'"$RUNNER_TEMP/factory-sync-before/bin/python" -I -c "{IMPORTS}"',
    "now": f'"$(sed -n "s/^python=//p" "$GITHUB_OUTPUT")" -I -c "{IMPORTS}"',
}


def setup_script() -> str:
    """The set-up step's script as action.yml ships it."""
    action = yaml.safe_load((ROOT / "action.yml").read_text(encoding="utf-8"))
    [step] = [step for step in action["runs"]["steps"] if step.get("id") == "setup"]
    return step["run"]


def run_once(script: str, python: str, cache: Path | None) -> float:
    """Seconds one set-up takes in a new RUNNER_TEMP; raises when it fails or makes no interpreter."""
    with tempfile.TemporaryDirectory(prefix="bench-setup-") as temp:
        output = Path(temp) / "output"
        output.write_text("")
        (Path(temp) / "runner-temp").mkdir()
        env = {**os.environ, "RUNNER_TEMP": str(Path(temp) / "runner-temp"), "RUNNER_OS": "Linux",
               "GITHUB_ACTION_PATH": str(ROOT), "GITHUB_OUTPUT": str(output), "python": python,
               "PIP_DISABLE_PIP_VERSION_CHECK": "1"}
        env.pop("PYTHONDONTWRITEBYTECODE", None)  # a runner writes byte code on first import
        env.pop("PIP_CACHE_DIR", None)
        env.pop("PIP_NO_CACHE_DIR", None)
        if cache is None:
            env["PIP_NO_CACHE_DIR"] = "1"  # the same as --no-cache-dir on every pip command
        else:
            env["PIP_CACHE_DIR"] = str(cache)
        # The new script picks python3 itself: put the chosen interpreter first on PATH.
        env["PATH"] = f"{Path(temp) / 'bin'}{os.pathsep}{env.get('PATH', '')}"
        (Path(temp) / "bin").mkdir()
        (Path(temp) / "bin" / "python3").symlink_to(python)
        started = time.perf_counter()
        done = subprocess.run(["bash", "-c", script], env=env, cwd=temp, capture_output=True, text=True,
                              check=False)
        seconds = time.perf_counter() - started
        made = dict(line.split("=", 1) for line in output.read_text().splitlines() if "=" in line)
        if done.returncode != 0 or not Path(made.get("python", "")).exists():
            raise RuntimeError(f"set-up failed ({done.returncode}): {done.stderr.strip()[-400:]}")
        return seconds


def measure(runs: int, python: str) -> dict:
    """Medians in seconds and the ratio before / now, without and with pip's cache."""
    scripts = {"before": BEFORE + FIRST_IMPORT["before"], "now": setup_script() + FIRST_IMPORT["now"]}
    figures: dict = {"runs": runs, "python": python}
    with tempfile.TemporaryDirectory(prefix="bench-setup-cache-") as cache_dir:
        for label, cache in (("no cache", None), ("warm cache", Path(cache_dir))):
            if cache is not None:
                for script in scripts.values():  # fill the cache: these runs are not counted
                    run_once(script, python, cache)
            times: dict[str, list[float]] = {name: [] for name in scripts}
            for _ in range(runs):
                for name, script in scripts.items():
                    times[name].append(run_once(script, python, cache))
            medians = {name: statistics.median(values) for name, values in times.items()}
            figures[label] = {
                **{f"{name} median s": round(value, 2) for name, value in medians.items()},
                **{f"{name} s": [round(v, 2) for v in values] for name, values in times.items()},
                "ratio before/now": round(medians["before"] / medians["now"], 2),
            }
    return figures


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5, help="runs of each set-up (default 5)")
    parser.add_argument("--python", default=sys.executable,
                        help="the runner's interpreter (default: this one)")
    args = parser.parse_args(argv)
    if args.runs < 1:
        parser.error("--runs must be 1 or more")
    try:
        figures = measure(args.runs, str(Path(args.python).resolve()))
    except RuntimeError as exc:
        print(f"bench_setup: {exc}", file=sys.stderr)
        return 1
    print(f"{'':12} {'before (median s)':>18} {'now (median s)':>15} {'before/now':>11}")
    for label in ("no cache", "warm cache"):
        row = figures[label]
        print(f"{label:12} {row['before median s']:>18} {row['now median s']:>15} "
              f"{row['ratio before/now']:>11}")
    print(json.dumps(figures))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
