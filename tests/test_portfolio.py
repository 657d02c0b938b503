"""Which studies a resync checks, the reader token's narrowing, and how results are reported: pure."""

from __future__ import annotations

import pytest

from factory_sync.events import Trigger
from factory_sync.model import TrackingIssue
from factory_sync.portfolio import (
    NARROW_LIMIT,
    Status,
    StudyResult,
    count,
    portfolio_of,
    reader_repositories,
    studies_to_check,
    untracked,
)
from factory_sync.summaries import TABLE_ROWS, describe_result, failure_message, progress_line, render_summary
from factory_sync.tracking_body import begin_marker

FACTORY = "OHDSI/Factory"


def issue(number: int, body: str) -> TrackingIssue:
    return TrackingIssue(number, f"Issue {number}", body, ["study-tracking"],
                         f"https://github.com/{FACTORY}/issues/{number}")


def marked(number: int, study: str) -> TrackingIssue:
    return issue(number, f"Notes\n\n{begin_marker(study)}\n## Current stage: Base Camp\n"
                         "<!-- factory-sync:end -->\n")


def old_format(number: int, study: str) -> TrackingIssue:
    return issue(number, f"**Repository:** https://github.com/{study}\n**Status:** Base Camp\n")


# -- which studies ---------------------------------------------------------------------------

def test_the_portfolio_holds_every_study_a_tracking_issue_names():
    portfolio = portfolio_of([marked(3, "OHDSI/Beta"), old_format(1, "OHDSI/alpha"), issue(2, "A note"),
                              marked(4, "not a repository"), old_format(5, "ohdsi/beta")])
    assert portfolio.studies == ["OHDSI/alpha", "OHDSI/Beta"]  # sorted ignoring case
    assert [i.number for i in portfolio.issues_of("ohdsi/BETA")] == [3, 5]  # both, for the duplicate check
    assert [i.number for i in portfolio.unnamed] == [2, 4]
    assert portfolio.issues_of("OHDSI/Gamma") == []


def test_every_study_or_the_one_the_trigger_names():
    portfolio = portfolio_of([marked(1, "OHDSI/Beta"), marked(2, "OHDSI/Alpha"), marked(3, FACTORY.lower())])
    every = Trigger(None, True, "schedule: resync of every study", all_studies=True)
    assert studies_to_check(every, portfolio, FACTORY) == ["OHDSI/Alpha", "OHDSI/Beta"]  # never the Factory
    one = Trigger("OHDSI/Gamma", True, "workflow_dispatch: resync of OHDSI/Gamma requested")
    assert studies_to_check(one, portfolio, FACTORY) == ["OHDSI/Gamma"]  # tracked or not


def test_discovery_keeps_the_repositories_no_issue_tracks():
    portfolio = portfolio_of([marked(1, "OHDSI/Beta")])
    visible = ["OHDSI/Factory", "ohdsi/beta", "OHDSI/Zeta", "OHDSI/alpha"]
    assert untracked(visible, portfolio, FACTORY) == ["OHDSI/alpha", "OHDSI/Zeta"]


@pytest.mark.parametrize(("studies", "discover", "narrowed"), [
    (["OHDSI/B", "OHDSI/A"], False, ["OHDSI/A", "OHDSI/B"]),
    (["OHDSI/B", "other-org/A"], False, ["OHDSI/B"]),  # the installation covers the Factory's owner only
    (["other-org/A"], False, None),
    (["OHDSI/A"], True, None),  # discovery lists every repository the installation can see
    ([f"OHDSI/S{n}" for n in range(NARROW_LIMIT)], False, sorted(f"OHDSI/S{n}" for n in range(NARROW_LIMIT))),
    ([f"OHDSI/S{n}" for n in range(NARROW_LIMIT + 1)], False, None),  # GitHub's limit
])
def test_the_reader_token_is_narrowed_to_the_studies_when_it_can_be(studies, discover, narrowed):
    assert reader_repositories(studies, FACTORY, discover) == narrowed


# -- results ---------------------------------------------------------------------------------

TRACKING = TrackingIssue(12, "Study: OHDSI/A", "", [], "https://github.com/OHDSI/Factory/issues/12")
RESULTS = [
    StudyResult("OHDSI/A", Status.UPDATED, "Base Camp", "Protocol Development", TRACKING,
                ("stage: Base Camp -> Protocol Development", "labels: +stage:protocol-development")),
    StudyResult("OHDSI/B", Status.UNCHANGED, "Base Camp", "Base Camp"),
    StudyResult("OHDSI/C", Status.FAILED, reason="Reading the stage-labelled issues of OHDSI/C failed: "
                                                 "GitHub answered 404 (Could not resolve | @someone #12)."),
    StudyResult("OHDSI/D", Status.CREATED, None, "Not started", None, ("tracking issue created",)),
    StudyResult("OHDSI/E", Status.UNTRACKED, None, "Network Execution"),
    StudyResult("OHDSI/F", Status.UPDATED, "Base Camp", "Base Camp", TRACKING, ("progress block updated",)),
]


def test_counts():
    counts = count(RESULTS)
    assert (counts.checked, counts.changed, counts.unchanged) == (6, 3, 1)
    assert (counts.failed, counts.untracked) == (1, 1)


def test_progress_lines_say_what_happened_to_each_study():
    lines = [progress_line(n, 1000, result, dry_run=False) for n, result in enumerate(RESULTS, 120)]
    assert lines == [
        "[120/1000] OHDSI/A: updated #12 (Base Camp -> Protocol Development)",
        "[121/1000] OHDSI/B: unchanged",
        "[122/1000] OHDSI/C: FAILED: Reading the stage-labelled issues of OHDSI/C failed: GitHub answered "
        "404 (Could not resolve | @someone #12).",
        "[123/1000] OHDSI/D: created (none shown -> Not started)",
        "[124/1000] OHDSI/E: untracked, at Network Execution (create-missing is false: no tracking issue "
        "created)",
        "[125/1000] OHDSI/F: updated #12 (progress block updated)",
    ]
    assert describe_result(RESULTS[0], dry_run=True) == "would update #12 (Base Camp -> Protocol Development)"


def test_the_summary_counts_and_lists_what_changed_and_what_failed():
    summary = render_summary(RESULTS, "resync of every study in `OHDSI/Factory` (schedule)", dry_run=False)
    assert summary.startswith("### factory-sync: resync of every study in `OHDSI/Factory` (schedule)\n")
    assert "| checked | changed | unchanged | failed | untracked |" in summary
    assert "| 6 | 3 | 1 | 1 | 1 |" in summary
    assert "#### Changed (3)" in summary
    assert ("| `OHDSI/A` | Base Camp | Protocol Development | "
            "[#12](https://github.com/OHDSI/Factory/issues/12) | stage: Base Camp -&gt; Protocol Development"
            "<br>labels: +stage:protocol-development |") in summary
    assert "#### Failed (1)" in summary
    failed = next(line for line in summary.splitlines() if line.startswith("| `OHDSI/C`"))
    # The reason is escaped: no table break, no mention, no link to a Factory issue.
    assert failed.count(" | ") == 1 and "\\|" in failed
    assert "@&#8203;someone" in failed and "#&#8203;12" in failed
    assert "#### Untracked (1)" in summary and "| `OHDSI/E` | Network Execution |" in summary
    assert "Dry run" not in summary


def test_a_dry_run_summary_says_nothing_was_written():
    summary = render_summary(RESULTS[3:4], "resync", dry_run=True, notes=["Discovery: 3 looked at."])
    assert "Dry run: nothing was written" in summary
    assert "| `OHDSI/D` | none shown | Not started | (new) |" in summary
    assert "Discovery: 3 looked at." in summary


def test_long_tables_are_cut_and_say_so():
    many = [StudyResult(f"OHDSI/S{n:04d}", Status.FAILED, reason="GitHub answered 502") for n in range(1000)]
    summary = render_summary(many, "resync", dry_run=False)
    assert summary.count("| `OHDSI/S") == TABLE_ROWS
    assert f"… and {1000 - TABLE_ROWS} more: the log lists every study." in summary


def test_the_closing_error_names_the_failed_studies():
    assert failure_message(RESULTS) == (
        "1 of 6 studies failed: OHDSI/C. The others were checked; the job summary says why each failed. "
        "Fix those and run again: a resync writes only what differs.")
    many = [StudyResult(f"o/s{n}", Status.FAILED) for n in range(12)]
    assert "o/s9 and 2 more." in failure_message(many)
