"""scripts/bench.py --board at a tiny size, without latency: the first resync makes the board, then
the no-change resync with the board and without it, side by side, in one JSON object."""

from __future__ import annotations

import importlib.util
import json
import math
import sys
from pathlib import Path

from factory_sync.board import MUTATIONS_PER_DOCUMENT

_spec = importlib.util.spec_from_file_location("bench", Path(__file__).parents[1] / "scripts" / "bench.py")
bench = sys.modules.get("bench") or importlib.util.module_from_spec(_spec)
if "bench" not in sys.modules:
    sys.modules["bench"] = bench  # dataclasses look their module up there
    _spec.loader.exec_module(bench)

N = 4


def test_the_board_mode_sets_the_two_no_change_resyncs_side_by_side(capsys):
    code = bench.main(["--board", "--sizes", str(N), "--latency", "0"])
    out = capsys.readouterr().out
    figures = json.loads(out.splitlines()[-1])
    assert code == 0, out
    assert figures["n"] == N and figures["board_items"] == N
    # The first resync: the fields in one document, the items in one, their values in one.
    assert figures["first_mutation_documents"] == 2 + math.ceil(3 * N / MUTATIONS_PER_DOCUMENT)
    assert figures["noop_with_board_mutation_documents"] == 0
    assert figures["noop_without_board_mutation_documents"] == 0
    assert figures["board_extra_requests"] == 1  # one page of items, the project's fields with it
    assert "no-change resync, with the board" in out and "no-change resync, without a board" in out
