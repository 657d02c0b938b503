"""The figures the reliability suite reports: what it tried and what survived.

Tests add to the one tally; the session prints it at the end (see conftest.py), and
`scripts/reliability_report.py` runs the suite and prints the same figures.
"""

from __future__ import annotations

import json
import os
import threading
from collections import Counter

# The figures, in the order they are reported.
FIGURES = (
    "faults injected",
    "runs that recovered",
    "runs that failed cleanly",
    "runs that lost or mangled text",
    "inputs tried",
    "races run",
    "secret scans",
    "secret hits",
)

_lock = threading.Lock()
_tally: Counter[str] = Counter()


def count(figure: str, n: int = 1) -> None:
    if figure not in FIGURES:
        raise ValueError(f"unknown figure {figure!r}; add it to FIGURES")
    with _lock:
        _tally[figure] += n


def figures() -> dict[str, int]:
    with _lock:
        return {figure: _tally[figure] for figure in FIGURES}


def write_out() -> None:
    """Leave the figures where the report script asked for them (FACTORY_SYNC_RELIABILITY_OUT)."""
    path = os.environ.get("FACTORY_SYNC_RELIABILITY_OUT")
    if path:
        with open(path, "w", encoding="utf-8") as handle:
            json.dump(figures(), handle)
