"""The portfolio dashboard's block, pure: its size with 0, 1 and 500 studies, escaping of hostile
names in the table and the chart, and every chart it can write parsed by the mermaid package."""

import json
import re
import subprocess
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from factory_sync.dashboard import (
    DASHBOARD_NAME,
    Entry,
    chart,
    chart_label,
    counts_section,
    plan_dashboard,
    render_dashboard,
    stage_counts,
)
from factory_sync.github_limits import BODY_LIMIT
from factory_sync.portfolio import Status
from factory_sync.stages import DEFAULT_CATALOG, TimeInStage
from factory_sync.tracking_block import FINISHED, NOT_STARTED, body_size
from factory_sync.tracking_body import names_study, split_body

MERMAID = Path(__file__).resolve().parent / "mermaid"
TODAY = date(2026, 3, 1)
ORDER = [stage.name for stage in DEFAULT_CATALOG.stages]
HOSTILE = ['Base "Camp"; x', "Stage #1: %%{init: {}}%%", "a`b`<script>alert(1)</script>", "[x](y) | z",
           "@everyone ~~gone~~ **bold**", "line\nbreak\r\nand\ttab", "é 🚀 ünïcode", '"', "", "::: ;;; ###",
           "end", "pie title x", "x" * 200]


def parse_with_mermaid(charts: list[str]) -> list[dict]:
    """Each chart's text (without its fence) parsed by the mermaid package, in Node."""
    bodies = [re.sub(r"^```mermaid\n|\n```$", "", text) for text in charts]
    done = subprocess.run(["node", str(MERMAID / "check.mjs")], input=json.dumps(bodies), text=True,
                          capture_output=True, timeout=120, check=True, cwd=MERMAID)
    return json.loads(done.stdout)


def entry(n: int, stage: str, days: int | None = 3, stalled: bool = False, status: Status = Status.UNCHANGED,
          repo: str | None = None) -> Entry:
    time = None if days is None else TimeInStage(datetime(2026, 1, 1, tzinfo=UTC), days,
                                                date(2026, 1, 22) if stalled else None)
    return Entry(repo or f"ohdsi/Study-{n:04}", status, stage, time, 1000 + n,
                 f"https://github.com/ohdsi/Factory/issues/{1000 + n}")


def portfolio(size: int) -> list[Entry]:
    stages = [*ORDER, NOT_STARTED, FINISHED]
    entries = []
    for n in range(size):
        status = [*[Status.UNCHANGED] * 3, Status.UNTRACKED, Status.FAILED][n % 5]
        made = entry(n, stages[n % len(stages)], days=n % 90, stalled=n % 90 >= 21, status=status,
                     repo=f"ohdsi-studies/{'A-Long-Study-Name-' * 3}{n:04}")
        if status is Status.FAILED:
            made = Entry(made.study, status, "", None, None, None, "GitHub answered 404 (" + "x" * 300 + ")")
        entries.append(made)
    return entries


def test_the_chart_the_product_writes_is_valid_mermaid_for_every_shape():
    charts = [chart(stage_counts([entry(1, ORDER[0])], ORDER)),
              chart(stage_counts(portfolio(500), ORDER)),
              chart([(name, n + 1, 0) for n, name in enumerate(HOSTILE)]),
              chart([("same", 1, 0), ("same", 2, 0), ('s"a"me', 3, 0)]),
              chart([(NOT_STARTED, 1, 0)]), chart([(FINISHED, 100000, 0)])]
    for text in charts:
        assert text.startswith("```mermaid\npie showData title ") and text.endswith("\n```")
    results = parse_with_mermaid(charts)
    assert [result["ok"] for result in results] == [True] * len(charts), results
    assert {result["type"] for result in results} == {"pie"}


def test_the_mermaid_check_refuses_a_broken_chart():
    """The check itself can fail: a chart with a raw quote in a label is refused."""
    results = parse_with_mermaid(['pie title x\n    "a"b" : 1', "pie\n    \"a\" : one"])
    assert [result["ok"] for result in results] == [False, False]


@pytest.mark.parametrize("name", HOSTILE)
def test_chart_labels_keep_only_plain_characters(name):
    label = chart_label(name)
    assert re.fullmatch(r"[\w .,()/+'…-]{1,40}", label), label
    assert "\n" not in label and '"' not in label and "#" not in label and ";" not in label


def test_hostile_study_names_and_stages_stay_escaped_in_the_table():
    entries = [Entry(f"o/{n}", Status.UNCHANGED, name, None, n, f"https://github.com/o/F/issues/{n}")
               for n, name in enumerate(HOSTILE)]
    block = render_dashboard(entries, ORDER, TODAY, 21, None)
    table = [line for line in block.splitlines() if line.startswith("| o/")]
    assert len(table) == len(HOSTILE)
    for line in table:
        assert line.count(" | ") == 5, line  # no cell broke out of its row
    assert "<script>" not in block and "@everyone" not in block.replace("@&#8203;everyone", "")
    assert "%%{init" not in block.split("```mermaid")[1].split("```")[0]
    assert parse_with_mermaid([block.split("```mermaid\n")[1].split("\n```")[0]])[0]["ok"]


@pytest.mark.parametrize("size", [0, 1, 500])
def test_the_dashboard_stays_within_githubs_limit(size):
    entries = portfolio(size)
    block = render_dashboard(entries, ORDER, TODAY, 21, "https://github.com/ohdsi/Factory/actions/runs/1")
    assert body_size(block) <= BODY_LIMIT
    assert names_study(block) == DASHBOARD_NAME
    if size == 0:
        assert "No study has been read yet." in block and "```mermaid" not in block
    if size == 500:
        assert "more not listed, to stay within GitHub's 65,536 characters" in block
        # The stalled studies are all still listed: they are left out last.
        stalled = [e.study for e in entries if e.stalled and e.status is not Status.UNTRACKED]
        assert all(f"| {study.replace('-', '-')} |" in block for study in stalled)
    else:
        assert "not listed" not in block


def test_stalled_first_then_others_then_untracked_and_failed():
    entries = [entry(1, ORDER[2]), entry(2, ORDER[0], days=30, stalled=True), entry(3, ORDER[0]),
               entry(4, ORDER[1], status=Status.UNTRACKED),
               Entry("ohdsi/Broken", Status.FAILED, "", None, None, None, "GitHub answered 404")]
    block = render_dashboard(entries, ORDER, TODAY, 21, None)
    order = [name for name in ("Study-0002", "Study-0003", "Study-0001", "Study-0004", "Broken")]
    positions = [block.index(f"ohdsi/{name} |") for name in order]
    assert positions == sorted(positions)
    assert "| ohdsi/Study-0002 | Base Camp | 2026-01-01 | 30 | ⚠️ 2026-01-22 | [#1002]" in block


def test_the_counts_say_how_many_are_stalled_untracked_and_failed():
    entries = [entry(1, ORDER[0], days=30, stalled=True), entry(2, ORDER[0], status=Status.UNTRACKED),
               Entry("o/x", Status.FAILED, "", None, None, None, "no")]
    text = "\n".join(counts_section(entries, ORDER, 21))
    assert text.startswith("3 studies: 1 stalled (in their stage for 21 days or more), 1 untracked, "
                           "1 failed.")
    assert "| Base Camp | 2 | 1 |" in text and "| (could not be read) | 1 | |" in text


def test_people_text_around_the_block_is_kept_and_an_unchanged_block_is_not_written():
    block = render_dashboard([entry(1, ORDER[0])], ORDER, TODAY, 21, "https://x/runs/1")
    first = plan_dashboard(None, block)
    assert first.changed and first.body == block
    edited = "Notes by the coordinators.\n\n" + block + "\n\nMore notes."
    again = render_dashboard([entry(1, ORDER[0])], ORDER, TODAY, 21, "https://x/runs/2")
    assert not plan_dashboard(edited, again).changed  # a new run alone changes nothing
    moved = render_dashboard([entry(1, ORDER[1])], ORDER, TODAY, 21, "https://x/runs/3")
    plan = plan_dashboard(edited, moved)
    assert plan.changed and plan.body is not None
    before, kept, after = split_body(plan.body)
    assert before == "Notes by the coordinators.\n\n" and after == "\n\nMore notes." and kept == moved
    adopted = plan_dashboard("Written by hand.", moved)
    assert adopted.body == "Written by hand.\n\n" + moved
