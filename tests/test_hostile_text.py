"""Hostile text in a study's issues, end to end: titles and labels written to break the tracking issue's
block or table, ping people, inject HTML or workflow commands, or flood it. The study is read from the
GitHub double and the Factory's tracking issue written there; then the issue's body is checked the way
GitHub reads it. People's notes around the block, hostile too, must come through byte for byte.
"""

from __future__ import annotations

import re

import pytest

import reliability
from actionkit import cells, run_action, tracking_issues
from factory_sync.github_limits import BODY_LIMIT
from factory_sync.markdown import escape
from factory_sync.tracking_body import END_MARKER, begin_marker, names_study, split_body
from github_double.demo_world import FACTORY_REPO, STUDY_REPO
from github_double.world import Issue
from stepkit import Run, run_step

LONG_TITLE = "A" * 10_000
TITLES = [
    "<!-- factory-sync:begin study=evil/repo -->", END_MARKER, "<!-- factory-sync:end", "<!--", "-->",
    "<!-- a comment that never closes", "--> <!-- -->",
    "<script>alert(1)</script>", "<img src=x onerror=alert(1)>", "<details open><summary>x", "</table>",
    "@octocat please look", "cc @OHDSI/steering-committee", "@@double", "mail me: lead@example.org",
    "| a | b |", "pipes || and \\| and \\\\|", "`code`", "```fence```", "~~~", "``` \n ~~~",
    "\u202eevil RTL override\u202c", "\u2067isolate\u2069", "دراسة الفعالية", "исследование",
    "研究プロトコル",
    "zero\u200bwidth\u200djoiner\ufeffbom", "🧪 Cohorts 👩‍🔬 🏳️‍🌈", "#1 fixes #2 and GH-3",
    "[click](javascript:alert(1))", "![x](https://example.org/x.png)", "*bold* _it_ ~~gone~~ **x**",
    "&#64;octocat &amp; &lt;b&gt;", "line\r\nbreak\nand\ttab", "::warning::injected", "%0A::error::injected",
    "##[error]legacy", "\x00\x07\x1b[31mcontrol", LONG_TITLE,
]
# Label names GitHub allows: up to 50 characters, in any script, emoji included.
STAGE_LABELS = [
    "stage:🚀 launch", "stage:" + "x" * 44, "stage:<!--x-->|@a", "stage:`x`", "stage:исследование",
    "stage:研究", "stage:مرحلة", "Stage:Base-Camp",
]
OTHER_LABELS = ["Вопрос-" + "ж" * 43, "問題" * 25, "سؤال " * 10, "🏷️" * 25, "@octocat"]
NOTES_ABOVE = ("Notes by the coordinators — @ohdsi/steering please review <!-- reviewer: ana -->\r\n\r\n"
               "| their | own | table |\n|---|---|---|\n| `x` | <b>y</b> | \u202ez |\n\n")
NOTES_BELOW = "\n\n```\n<!-- factory-sync:end -->\n```\n🧪 Trailing notes   \n\u200b"
ALLOWED_TAGS = {"<br>", "<code>", "</code>", "<sub>", "</sub>"}


def add_issue(github, title: str, labels: list[str], actor: str = "demo-lead") -> Issue:
    world = github.world
    study = world.repo(STUDY_REPO)
    with world.lock:
        issue = world.create_issue(study, title, "", actor)
        for label in labels:
            world.add_label(study, issue, label, actor)
    return issue


def hostile_study(github) -> None:
    """Every hostile title on an issue of a catalog stage, and every hostile label on an issue."""
    stages = ["stage:protocol-development", "stage:phenotype-development", "stage:analysis-specifications"]
    for n, title in enumerate(TITLES):
        actor = "dependabot[bot]" if n % 5 == 0 else "demo-lead"
        add_issue(github, title, [stages[n % len(stages)]], actor=actor)
    for label in STAGE_LABELS + OTHER_LABELS:
        add_issue(github, f"Labelled {label}", [label, "stage:network-execution"])
    reliability.count("inputs tried", len(TITLES) + len(STAGE_LABELS) + len(OTHER_LABELS))




def sync(github, tmp_path, **inputs: str) -> Run:
    run = run_step(github, tmp_path / "run", "workflow_dispatch", {}, repository=STUDY_REPO, **inputs)
    assert run.code == 0, run.log
    return run


def check_block(body: str) -> str:
    """The body holds one intact block, as GitHub reads it; returns the block."""
    block = split_body(body)[1]
    assert block is not None and block.startswith(begin_marker(STUDY_REPO)) and block.endswith(END_MARKER)
    assert block.count("<!-- factory-sync:begin") == 1 and block.count(END_MARKER) == 1
    assert names_study(body) == STUDY_REPO
    assert block.count("<!--") == 2 and block.count("-->") == 2  # the markers, nothing else
    lines = block.split("\n")
    rows = [line for line in lines if line.startswith("|")]
    assert len(rows) == 2 + 6  # header, delimiter, a row per stage
    assert {cells(row) for row in rows} == {5}
    assert all("\r" not in line for line in lines)
    # Nobody is pinged: GitHub links @name (and @org/team) where @ follows the start or a non-word
    # character; escape() puts a zero-width space after every @.
    assert not re.search(r"(?:^|[^A-Za-z0-9_`])@[A-Za-z0-9]", block, re.MULTILINE)
    tags = set(re.findall(r"</?[A-Za-z][^>]*>?", block))
    assert tags <= ALLOWED_TAGS, tags - ALLOWED_TAGS
    assert not re.search(r"<script", block, re.IGNORECASE) and "](javascript:" not in block
    assert not re.search("[\u202a-\u202e\u2066-\u2069\x00-\x08\x0b\x0c\x0e-\x1f]", block)
    return block


def test_hostile_titles_and_labels_leave_one_intact_block_that_pings_nobody(github, tmp_path):
    hostile_study(github)
    with github.world.lock:  # the tracking issue exists, with people's own hostile notes around the block
        github.world.create_issue(github.world.repo(FACTORY_REPO), f"Study: {STUDY_REPO}",
                                  f"{NOTES_ABOVE}{begin_marker(STUDY_REPO)}\nold\n{END_MARKER}{NOTES_BELOW}",
                                  "factory-team", labels=["study-tracking"])

    run = sync(github, tmp_path)

    [tracking] = tracking_issues(github)
    body = tracking.body
    kept = body.startswith(NOTES_ABOVE) and body.endswith(NOTES_BELOW)
    reliability.count("runs that lost or mangled text", 0 if kept else 1)
    assert kept
    block = check_block(body)
    assert len(body.encode("utf-16-le")) // 2 <= BODY_LIMIT
    for title in TITLES[:-1]:  # every title is there, escaped, none dropped
        assert escape(title) in block, title
    assert "A" * 121 not in block and "A" * 119 + "…" in block  # the 10,000 characters, truncated
    assert "@&#8203;octocat please look" in block and "@&#8203;OHDSI/steering-committee" in block
    assert "#&#8203;1 fixes #&#8203;2" in block
    assert "&lt;script&gt;alert\\(1\\)&lt;/script&gt;" in block
    for label in STAGE_LABELS[:-1]:  # outside the catalog: listed, escaped, with a warning
        assert f"<code>{escape(label)}</code>" in block
    warnings = [line for line in run.stdout.splitlines()
                if line.startswith("::warning title=Unknown stage label")]
    assert len(warnings) == len(STAGE_LABELS) - 1
    assert "x" * 44 in block  # a 50-character label is shown whole
    assert tracking.labels == ["study-tracking", "stage:network-execution"]  # one stage label: the current
    for line in run.stdout.splitlines():  # titles reach the log inert, never as a command
        assert not line.startswith(("::error", "::warning::injected", "##[error]")), line

    again = sync(github, tmp_path, dry_run="false")
    assert again.outputs["changed"] == "false"  # hostile text renders the same every time


@pytest.mark.parametrize("title", TITLES)
def test_each_hostile_title_alone_makes_a_well_formed_new_tracking_issue(github, tmp_path, title):
    add_issue(github, title, ["stage:phenotype-development"])
    reliability.count("inputs tried")
    sync(github, tmp_path)
    [tracking] = tracking_issues(github)
    block = check_block(tracking.body)
    assert split_body(tracking.body) == ("", block, "")


def test_a_log_that_cannot_show_these_characters_is_written_in_utf8(github, tmp_path):
    """Python writes the ANSI code page on Windows runners; the runner reads UTF-8. A dry run prints
    the planned body, hostile text and all, to the log."""
    hostile_study(github)
    token = github.world.mint_workflow_token(STUDY_REPO, {"issues": "read", "contents": "read"})
    run = run_action(github, tmp_path, {"inputs": {}}, event="workflow_dispatch", token=token, dry_run="true",
                     env={"PYTHONIOENCODING": "ascii"})
    assert (run.code, run.stderr) == (0, ""), run.stderr
    assert "研究プロトコル" in run.stdout and "🧪 Cohorts" in run.stdout
    assert tracking_issues(github) == []
    for line in run.stdout.splitlines():
        assert not line.startswith(("::error", "::warning::injected", "##[error]")), line
