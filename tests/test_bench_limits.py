"""scripts/bench_limits.py at a tiny size: a first resync with the defaults under GitHub's limits,
run after run until one finds nothing to write, and its figures."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

SCRIPT = Path(__file__).parents[1] / "scripts" / "bench_limits.py"
_spec = importlib.util.spec_from_file_location("bench_limits", SCRIPT)
bench_limits = importlib.util.module_from_spec(_spec)
sys.modules["bench_limits"] = bench_limits
_spec.loader.exec_module(bench_limits)


def test_a_first_resync_under_githubs_limits_is_counted_run_by_run():
    figures = bench_limits.first_resync(studies=4, seed=3, latency=0.0)
    assert figures["failed"] == [] and figures["adoption_error"] == ""
    assert figures["refusals"] == 0
    assert [run["writes"] for run in figures["runs"]] == [5, 0]  # 4 tracking issues and the dashboard
    assert figures["writing_runs"] == 1
    assert all(run["tokens"] == 2 for run in figures["runs"])  # the Factory's token and the studies'
    assert figures["hours"] == round(figures["runs"][0]["seconds"] / 3600, 2)  # one run, the first hour
    text = bench_limits.table(figures, None)
    assert "runs that write: 1" in text and "refusals: 0" in text
