"""Time in stage and stalled studies: the day a study entered its current stage, for every stage
rule, and the day it became stalled. Pure: the day it is comes in as data."""

from datetime import UTC, date, datetime, timedelta

import pytest

from factory_sync.model import IssueEvent, Study, StudyIssue
from factory_sync.stages import DEFAULT_CATALOG, assess
from factory_sync.stall import STALL_DAYS, entered, time_in_stage, with_time_in_stage
from factory_sync.tracking_block import render_block

T0 = datetime(2024, 3, 1, 9, 0, tzinfo=UTC)
BASE, PROTOCOL, PHENOTYPE, ANALYSIS, EXECUTION, RESULTS = (stage.label for stage in DEFAULT_CATALOG.stages)


def day(n: float) -> datetime:
    return T0 + timedelta(days=n)


def event(kind: str, when: float, label: str | None = None) -> IssueEvent:
    return IssueEvent(kind, day(when), "alice", label)


def issue(number: int, label: str, *events: IssueEvent, created: float = 0) -> StudyIssue:
    """An issue whose state follows its events: open unless its last close was not reopened."""
    states = [e.kind for e in events if e.kind in ("closed", "reopened")]
    is_open = not states or states[-1] == "reopened"
    closes = [e.at for e in events if e.kind == "closed"]
    return StudyIssue(number, f"Issue {number}", f"https://github.com/o/s/issues/{number}", is_open,
                      day(created), None if is_open else max(closes), (label,), tuple(events))


def study(*issues: StudyIssue) -> Study:
    return Study("o/s", "https://github.com/o/s", issues)


def when_entered(*issues: StudyIssue) -> datetime | None:
    return entered(assess(study(*issues), DEFAULT_CATALOG))


def test_not_started_has_no_date_and_is_never_stalled():
    progress = assess(study(), DEFAULT_CATALOG)
    assert entered(progress) is None
    assert time_in_stage(progress, date(2030, 1, 1), 21).stalled_since is None


def test_in_progress_since_its_label_was_first_applied():
    assert when_entered(issue(1, BASE, event("labeled", 2, BASE))) == day(2)


def test_created_with_the_label_and_no_event_counts_from_its_creation():
    assert when_entered(issue(1, BASE, created=3)) == day(3)


def test_pending_stage_after_a_complete_one_since_that_one_was_completed():
    done = issue(1, BASE, event("labeled", 0, BASE), event("closed", 9))
    assert when_entered(done) == day(9)


def test_the_last_of_several_closes_completes_the_stage():
    first = issue(1, BASE, event("labeled", 0, BASE), event("closed", 4))
    second = issue(2, BASE, event("labeled", 1, BASE), event("closed", 7))
    assert when_entered(first, second) == day(7)


def test_a_later_stage_in_progress_is_entered_when_its_label_came():
    base = issue(1, BASE, event("labeled", 0, BASE))
    protocol = issue(2, PROTOCOL, event("labeled", 5, PROTOCOL))
    assert when_entered(base, protocol) == day(5)


def test_a_skipped_stage_does_not_matter():
    base = issue(1, BASE, event("labeled", 0, BASE), event("closed", 3))
    phenotype = issue(2, PHENOTYPE, event("labeled", 6, PHENOTYPE))  # protocol skipped
    assert when_entered(base, phenotype) == day(6)
    done_phenotype = issue(2, PHENOTYPE, event("labeled", 6, PHENOTYPE), event("closed", 8))
    # Protocol is pending but comes before the last complete stage: the current is analysis.
    progress = assess(study(base, done_phenotype), DEFAULT_CATALOG)
    assert progress.current is not None and progress.current.label == ANALYSIS
    assert entered(progress) == day(8)


def test_a_reopened_issue_enters_its_stage_again_when_reopened():
    base = issue(1, BASE, event("labeled", 0, BASE), event("closed", 3), event("reopened", 10))
    assert when_entered(base) == day(10)


def test_a_reopened_issue_while_another_carrier_stayed_open_changes_nothing():
    long_open = issue(1, BASE, event("labeled", 0, BASE))
    reopened = issue(2, BASE, event("labeled", 1, BASE), event("closed", 3), event("reopened", 10))
    assert when_entered(long_open, reopened) == day(0)


def test_a_new_issue_of_a_complete_stage_puts_it_back_in_progress_from_then():
    done = issue(1, BASE, event("labeled", 0, BASE), event("closed", 3))
    again = issue(2, BASE, event("labeled", 12, BASE))
    assert when_entered(done, again) == day(12)


def test_a_label_removed_and_put_back_counts_from_when_it_came_back():
    relabelled = issue(1, BASE, event("labeled", 0, BASE), event("unlabeled", 2, BASE),
                       event("labeled", 8, BASE))
    assert when_entered(relabelled) == day(8)


def test_other_labels_and_activity_do_not_reset_the_time():
    busy = issue(1, BASE, event("labeled", 0, BASE), event("labeled", 5, "bug"), event("unlabeled", 6, "bug"))
    assert when_entered(busy) == day(0)


def test_finished_since_the_last_stage_was_completed_and_never_stalled():
    issues = [issue(n, label, event("labeled", n, label), event("closed", n + 1))
              for n, label in enumerate((BASE, PROTOCOL, PHENOTYPE, ANALYSIS, EXECUTION, RESULTS), 1)]
    progress = assess(study(*issues), DEFAULT_CATALOG)
    assert progress.finished and entered(progress) == day(7)
    assert time_in_stage(progress, date(2030, 1, 1), 21).stalled_since is None


@pytest.mark.parametrize(("days_after", "stalled"), [(20, False), (21, True), (400, True)])
def test_stalled_from_the_day_it_has_been_stall_days_in_its_stage(days_after, stalled):
    one = study(issue(1, BASE, event("labeled", 0, BASE)))
    today = day(days_after).date()
    time = time_in_stage(assess(one, DEFAULT_CATALOG), today, STALL_DAYS)
    assert time.days == days_after
    assert time.stalled_since == (date(2024, 3, 22) if stalled else None)


def test_zero_stall_days_turns_it_off():
    one = study(issue(1, BASE, event("labeled", 0, BASE)))
    assert time_in_stage(assess(one, DEFAULT_CATALOG), day(999).date(), 0).stalled_since is None


def test_the_block_shows_dates_never_a_count_of_days():
    one = study(issue(1, BASE, event("labeled", 0, BASE)))
    blocks = [render_block(one, with_time_in_stage(assess(one, DEFAULT_CATALOG), day(n).date(), 21),
                           None) for n in (1, 20, 21, 22, 300)]
    assert blocks[0] == blocks[1]  # days passing change nothing
    assert blocks[2] == blocks[3] == blocks[4]  # nor once stalled
    assert blocks[1] != blocks[2]  # the block changes once: on the day it becomes stalled
    assert "In this stage since 2024-03-01." in blocks[0]
    assert "**Stalled** since 2024-03-22" in blocks[2] and "Stalled" not in blocks[1]
    progress = with_time_in_stage(assess(one, DEFAULT_CATALOG), day(22).date(), 21)
    assert progress.time is not None and progress.time.stalled
