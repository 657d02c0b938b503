"""Tracking issues that people edited into odd shapes, end to end against the GitHub double.

For each shape the run either recovers, rewriting the block where it stands and keeping every other
byte, or stops with one clear error that names the issue and says what to fix, writing nothing (and
creating no second tracking issue). Either way no text is lost or mangled. See docs/tracking-issue.md
for the rules.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pytest

import reliability
from actionkit import study_event, tracking_issues, writes
from factory_sync.tracking_body import END_MARKER, begin_marker, split_body
from github_double.demo_world import DEMO_INSTALLATION_ID, DEMO_OWNER, FACTORY_REPO, STUDY_REPO
from github_double.world import Issue
from stepkit import Run, run_step

BEGIN = begin_marker(STUDY_REPO)
ABOVE = ("Coordinators' notes: data partners 4 of 6 \u2014 *keep*\r\n\r\n"
         "| site | status |\n|---|---|\n| A | ok |\n\n")
BELOW = "\n\nMore notes, with `<!-- factory-sync:end -->` quoted inline.\n<!-- a comment of our own -->\n"


@dataclass(frozen=True)
class Shape:
    name: str
    # The block as factory-sync wrote it -> (text before, the block as people left it, text after).
    edit: Callable[[str], tuple[str, str, str]]
    says: str = ""  # the error; empty when the run recovers


def quoted(block: str, fence: str = "```") -> str:
    return f"{fence}\n{block}\n{fence}\n"


def swap(block: str) -> str:
    lines = block.split("\n")
    return "\n".join([lines[-1], *lines[1:-1], lines[0]])


def in_quote(block: str, prefix: str) -> str:
    return "\n\n" + "\n".join(prefix + line for line in block.split("\n"))


def spaced(block: str) -> str:
    return (block.replace(BEGIN, f"   <!--  factory-sync:begin study={STUDY_REPO}  -->  ")
            .replace(END_MARKER, " <!--factory-sync:end-->\t"))


RECOVERED = [
    Shape("as written", lambda b: (ABOVE, b, BELOW)),
    Shape("moved to the top", lambda b: ("", b, "\n\n" + ABOVE + BELOW)),
    Shape("moved to the bottom", lambda b: (ABOVE + BELOW + "\n", b, "")),
    Shape("moved between notes", lambda b: (ABOVE + "Intro.\n\n", b, "\n\nOutro." + BELOW)),
    Shape("the only text", lambda b: ("", b, "")),
    Shape("with Windows line endings", lambda b: (ABOVE, b.replace("\n", "\r\n"), "\r\n" + BELOW)),
    Shape("markers indented and spaced", lambda b: (ABOVE, spaced(b), BELOW)),
    Shape("markers in capitals", lambda b: (ABOVE, b.replace("factory-sync:", "Factory-Sync:"), BELOW)),
    Shape("its headline and table deleted", lambda b: (ABOVE, "\n".join(
        line for line in b.split("\n") if not line.startswith(("## Current", "| "))), BELOW)),
    Shape("quoted in a code fence above it", lambda b: (ABOVE + quoted(b) + "\n", b, BELOW)),
    Shape("quoted in a code fence below it", lambda b: (ABOVE, b, BELOW + quoted(b, "~~~~"))),
    Shape("quoted in a fence holding a shorter fence", lambda b: (quoted("```\n" + b, "````"), b, "")),
    Shape("quoted in a block quote", lambda b: (ABOVE, b, in_quote(b, "> ") + BELOW)),
    Shape("quoted as indented code", lambda b: (ABOVE, b, in_quote(b, "    ") + BELOW)),
]
EXPLAINED = [
    Shape("begin marker deleted", lambda b: (ABOVE, b.replace(BEGIN + "\n", ""), BELOW),
          f"has a factory-sync end marker but no begin marker; put '{BEGIN}' back on its own line above"),
    Shape("end marker deleted", lambda b: (ABOVE, b.replace("\n" + END_MARKER, ""), BELOW),
          f"begin marker but no end marker; put '{END_MARKER}' on its own line after the block's last line"),
    Shape("both markers deleted",
          lambda b: (ABOVE, b.replace(BEGIN + "\n", "").replace(END_MARKER, ""), BELOW),
          f"what is left of the factory-sync block of {STUDY_REPO} without its markers; put '{BEGIN}'"),
    Shape("block duplicated", lambda b: (ABOVE, b + "\n\n" + b, BELOW),
          "has 2 factory-sync begin markers; delete all but one block"),
    Shape("end marker duplicated", lambda b: (ABOVE, b + "\n" + END_MARKER, BELOW),
          f"has 2 factory-sync end markers; keep only the '{END_MARKER}' that closes the block"),
    Shape("markers swapped", lambda b: (ABOVE, swap(b), BELOW),
          "end marker before the begin marker; move the begin marker to the line above the block's first "
          "line"),
    Shape("a code fence above it never closed", lambda b: (ABOVE + "```\nsome code\n\n", b, BELOW),
          f"the factory-sync block of {STUDY_REPO} is inside a code block that is never closed (the fence on "
          "line 7 of the tracking issue)"),
    Shape("begin marker without its study",
          lambda b: (ABOVE, b.replace(BEGIN, "<!-- factory-sync:begin -->"), BELOW),
          "has a factory-sync begin marker without the study"),
]


def label(github, name: str) -> dict:
    """A study lead labels the protocol issue: the study moves on, so its block must change."""
    world = github.world
    study = world.repo(STUDY_REPO)
    issue = study.issues[2]
    with world.lock:
        world.add_label(study, issue, name, "demo-lead")
    return study_event("labeled", issue, label=name)


def sync(github, tmp_path, payload: dict, repository: str = STUDY_REPO, event: str = "issues") -> Run:
    reliability.count("inputs tried")
    return run_step(github, tmp_path / "run", event, payload, repository=repository)


def written_tracking_issue(github, tmp_path) -> Issue:
    run = sync(github, tmp_path, {}, event="workflow_dispatch")
    assert run.code == 0, run.log
    [tracking] = tracking_issues(github)
    return tracking


def check_kept(expected_around: tuple[str, str], body: str) -> None:
    """The text around the block is exactly what people left: counted, then asserted."""
    before, block, after = split_body(body)
    kept = block is not None and (before, after) == expected_around
    reliability.count("runs that lost or mangled text", 0 if kept else 1)
    assert kept, (before, after)


def edit_written_issue(github, tmp_path, shape: Shape) -> tuple[Issue, tuple[str, str, str]]:
    """The study's tracking issue as factory-sync wrote it, then edited into `shape`; the study then
    moves on, so the next run has a block to rewrite."""
    tracking = written_tracking_issue(github, tmp_path)
    parts = shape.edit(tracking.body)
    with github.world.lock:
        tracking.body = "".join(parts)
    github.log.clear()
    return tracking, parts


@pytest.mark.parametrize("shape", RECOVERED, ids=[shape.name for shape in RECOVERED])
def test_an_odd_shaped_tracking_issue_is_recovered_in_place(github, tmp_path, shape):
    tracking, (before, _, after) = edit_written_issue(github, tmp_path, shape)

    run = sync(github, tmp_path, label(github, "stage:phenotype-development"))

    assert run.code == 0, run.log
    assert run.outputs["changed"] == "true"
    assert len(tracking_issues(github)) == 1  # never a second tracking issue
    assert "## Current stage: Phenotype Development" in split_body(tracking.body)[1]
    check_kept((before, after), tracking.body)
    assert sync(github, tmp_path, {}, event="workflow_dispatch").outputs["changed"] == "false"


@pytest.mark.parametrize("shape", EXPLAINED, ids=[shape.name for shape in EXPLAINED])
def test_a_damaged_tracking_issue_stops_the_run_with_what_to_fix(github, tmp_path, shape):
    tracking, parts = edit_written_issue(github, tmp_path, shape)

    run = sync(github, tmp_path, label(github, "stage:phenotype-development"))

    assert run.code == 1, run.log
    assert "Traceback" not in run.stdout
    [error] = run.errors
    assert f"damaged factory-sync block in Factory issue #{tracking.number} (" in error
    assert shape.says in error
    assert writes(github) == []
    assert len(tracking_issues(github)) == 1  # never a second tracking issue
    unchanged = tracking.body == "".join(parts)
    reliability.count("runs that lost or mangled text", 0 if unchanged else 1)
    assert unchanged


def add_study(github, name: str) -> str:
    """Another study in the demo organisation, with one open base-camp issue, and its tracking issue."""
    world, repo_name = github.world, f"{DEMO_OWNER}/{name}"
    with world.lock:
        repo = world.add_repo(repo_name, private=True)
        issue = world.create_issue(repo, "Set up", "", "demo-lead")
        world.add_label(repo, issue, "stage:base-camp", "demo-lead")
        world.installations[DEMO_INSTALLATION_ID].repositories.append(repo_name)
        world.create_issue(world.repo(FACTORY_REPO), f"Study: {repo_name}",
                           f"{ABOVE}{begin_marker(repo_name)}\n{END_MARKER}{BELOW}", "factory-team",
                           labels=["study-tracking"])
    return repo_name


def test_in_a_resync_a_damaged_tracking_issue_fails_its_study_alone(github, tmp_path):
    tracking, parts = edit_written_issue(github, tmp_path, EXPLAINED[5])
    damaged = "".join(parts)
    label(github, "stage:phenotype-development")
    other = add_study(github, "OtherStudy")
    github.log.clear()

    run = sync(github, tmp_path, {"inputs": {}}, repository=FACTORY_REPO, event="workflow_dispatch")

    assert run.code == 1
    assert (run.outputs["checked"], run.outputs["changed-count"], run.outputs["failed"]) == ("2", "1", "1")
    assert tracking.body == damaged
    [written] = [issue for issue in tracking_issues(github) if issue.title == f"Study: {other}"]
    check_kept((ABOVE, BELOW), written.body)
    assert "## Current stage: Base Camp" in written.body
    assert (f"[1/2] {STUDY_REPO}: FAILED: damaged factory-sync block in Factory issue #{tracking.number}"
            in run.log)
    assert "end marker before the begin marker" in run.summary
    reliability.count("runs that lost or mangled text", 0 if tracking.body == damaged else 1)


def test_an_issue_that_only_quotes_a_block_is_not_the_study_s(github, tmp_path):
    """A note in the Factory that quotes a block in a closed code fence tracks nothing: the study gets
    its own tracking issue, and the note is left alone."""
    quoting = written_tracking_issue(github, tmp_path)
    with github.world.lock:
        quoting.body = note = "How the block looks:\n\n" + quoted(quoting.body)
    run = sync(github, tmp_path, label(github, "stage:phenotype-development"))
    assert run.code == 0, run.log
    assert quoting.body == note
    [created] = [issue for issue in tracking_issues(github) if issue is not quoting]
    assert "## Current stage: Phenotype Development" in created.body
    reliability.count("runs that lost or mangled text", 0 if quoting.body == note else 1)
