from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from factory_sync.github_limits import BODY_LIMIT
from factory_sync.model import IssueEvent, Study, StudyIssue, TrackingIssue
from factory_sync.planner import (
    Action,
    DuplicateTrackingIssues,
    Plan,
    Policy,
    WrongTrackingIssue,
    claim,
    plan,
)
from factory_sync.stages import DEFAULT_CATALOG, Catalog, Stage, assess
from factory_sync.tracking_block import BodyTooLarge, body_size, render_block
from factory_sync.tracking_body import END_MARKER, DamagedBlock, begin_marker, split_body

T0 = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
RUN_1 = "https://github.com/OHDSI/Factory/actions/runs/1"
RUN_2 = "https://github.com/OHDSI/Factory/actions/runs/2"
BASE, PROTOCOL = DEFAULT_CATALOG.stages[0].label, DEFAULT_CATALOG.stages[1].label
OLD_FORMAT = "## OHDSI/Study\n\n**Repository:** https://github.com/OHDSI/Study\n**Lead:** Dr. Lee\n"


def issue(number: int, *labels: str, open: bool = True, title: str = "") -> StudyIssue:
    events = tuple(IssueEvent("labeled", T0, "alice", label) for label in labels)
    url = f"https://github.com/OHDSI/Study/issues/{number}"
    closed = None if open else T0 + timedelta(days=1)
    return StudyIssue(number, title or f"Issue {number}", url, open, T0, closed, labels, events)


def study(*issues: StudyIssue) -> Study:
    return Study("OHDSI/Study", "https://github.com/OHDSI/Study", issues)


AT_BASE = study(issue(1, BASE))
AT_PROTOCOL = study(issue(1, BASE, open=False), issue(2, PROTOCOL))


def plan_for(the_study: Study, existing: TrackingIssue | None, run_url: str | None = RUN_2,
             create_missing: bool = True, catalog: Catalog = DEFAULT_CATALOG, **options) -> Plan:
    return plan(the_study, assess(the_study, catalog), existing,
                Policy(catalog, run_url, create_missing, **options))


def written(result: Plan, number: int = 50) -> TrackingIssue:
    """The Factory issue as GitHub would hold it after the plan was applied."""
    return TrackingIssue(result.number or number, result.title, result.body, list(result.labels),
                         f"https://github.com/OHDSI/Factory/issues/{result.number or number}")


def tracking(body: str, labels: list[str] | None = None, number: int = 50) -> TrackingIssue:
    return TrackingIssue(number, "Study: OHDSI/Study", body, labels or [],
                         f"https://github.com/OHDSI/Factory/issues/{number}")


# --- finding the tracking issue -------------------------------------------------------------

def find_tracking_issue(issues: list[TrackingIssue], study: str) -> TrackingIssue | None:
    return claim(issues, study).keep


def test_no_tracking_issue_for_an_unknown_study():
    assert find_tracking_issue([tracking(OLD_FORMAT)], "OHDSI/Other") is None
    assert find_tracking_issue([], "OHDSI/Study") is None


def test_the_tracking_issue_is_found_by_its_marker_in_any_case():
    mine = written(plan_for(AT_BASE, None), number=7)
    other = TrackingIssue(8, "x", begin_marker("OHDSI/Other") + "\n" + END_MARKER, [], "u")
    assert find_tracking_issue([other, mine], "ohdsi/study") == mine


def test_an_old_format_issue_is_found_by_its_repository_line():
    old = tracking(OLD_FORMAT, number=3)
    assert find_tracking_issue([tracking("unrelated", number=2), old], "OHDSI/Study") == old


def test_a_damaged_tracking_issue_is_still_found():
    damaged = tracking(begin_marker("OHDSI/Study") + "\nno end marker")
    assert find_tracking_issue([damaged], "OHDSI/Study") == damaged


def test_two_tracking_issues_for_one_study_are_an_error_naming_both():
    with pytest.raises(DuplicateTrackingIssues, match=r"Factory issues #3 and #9 all track OHDSI/Study"):
        find_tracking_issue([tracking(OLD_FORMAT, number=9), tracking(OLD_FORMAT, number=3)], "OHDSI/Study")


def test_three_tracking_issues_are_all_named():
    issues = [tracking(OLD_FORMAT, number=n) for n in (4, 2, 6)]
    with pytest.raises(DuplicateTrackingIssues, match=r"#2, #4 and #6 all track"):
        find_tracking_issue(issues, "OHDSI/Study")


# --- creating -------------------------------------------------------------------------------

def test_a_missing_tracking_issue_is_created():
    result = plan_for(AT_PROTOCOL, None)
    assert result.action == Action.CREATE == "create"
    assert result.number is None
    assert result.title == "Study: OHDSI/Study"
    assert result.body == render_block(AT_PROTOCOL, assess(AT_PROTOCOL, DEFAULT_CATALOG), RUN_2)
    assert result.labels == ["study-tracking", PROTOCOL]
    assert result.changes == ("tracking issue created",)
    assert (result.stage_before, result.stage_after) == (None, "Protocol Development")
    assert result.stage_label == PROTOCOL


def test_a_missing_tracking_issue_is_reported_when_creating_is_off():
    result = plan_for(AT_BASE, None, create_missing=False)
    assert result.action == Action.MISSING
    assert result.changes == ("no Factory issue tracks OHDSI/Study and creating one is turned off",)


def test_a_study_that_has_not_started_gets_an_issue_without_a_stage_label():
    result = plan_for(study(), None)
    assert result.labels == ["study-tracking"]
    assert (result.stage_after, result.stage_label) == ("Not started", None)


def test_the_tracking_label_can_be_configured():
    assert plan_for(AT_BASE, None, tracking_label="portfolio").labels == ["portfolio", BASE]


# --- updating -------------------------------------------------------------------------------

def test_nothing_is_written_when_only_the_run_would_differ():
    current = written(plan_for(AT_PROTOCOL, None, run_url=RUN_1))
    result = plan_for(AT_PROTOCOL, current, run_url=RUN_2)
    assert result == Plan(Action.NONE, 50, current.title, current.body, current.labels, (),
                          "Protocol Development", "Protocol Development", PROTOCOL)


def test_a_stage_change_rewrites_the_block_and_the_stage_label():
    current = written(plan_for(AT_BASE, None))
    result = plan_for(AT_PROTOCOL, current)
    assert result.action == Action.UPDATE
    assert result.number == 50
    assert result.changes == ("stage: Base Camp -> Protocol Development",
                              f"labels: +{PROTOCOL} -{BASE}")
    assert result.labels == ["study-tracking", PROTOCOL]
    assert "## Current stage: Protocol Development" in result.body


def test_text_around_the_block_is_kept_byte_for_byte():
    block = render_block(AT_BASE, assess(AT_BASE, DEFAULT_CATALOG), RUN_1)
    before, after = "Coordinator notes:\r\n- call on Friday\r\n\r\n", "\r\n\r\n<details>raw</details>\n  "
    result = plan_for(AT_PROTOCOL, tracking(before + block + after, ["study-tracking", BASE]))
    new_before, new_block, new_after = split_body(result.body)
    assert (new_before, new_after) == (before, after)
    assert new_block == render_block(AT_PROTOCOL, assess(AT_PROTOCOL, DEFAULT_CATALOG), RUN_2)


def test_a_new_issue_title_updates_the_block_without_a_stage_change():
    current = written(plan_for(AT_BASE, None))
    result = plan_for(study(issue(1, BASE, title="Renamed")), current)
    assert result.action == Action.UPDATE
    assert result.changes == ("progress block updated",)


def test_wrong_labels_alone_cause_an_update():
    current = written(plan_for(AT_BASE, None))
    result = plan_for(AT_BASE, replace(current, labels=["stage:network-execution", "urgent"]))
    assert result.action == Action.UPDATE
    assert result.changes == ("labels: +study-tracking +stage:base-camp -stage:network-execution",)
    assert result.labels == ["urgent", "study-tracking", BASE]


def test_labels_differing_only_in_case_do_not_cause_a_write():
    current = written(plan_for(AT_BASE, None))
    recased = replace(current, labels=["Study-Tracking", "Stage:Base-Camp"])
    assert plan_for(AT_BASE, recased).action == Action.NONE


def test_the_stage_shown_is_read_from_the_headline_before_the_label():
    current = written(plan_for(AT_BASE, None))
    assert plan_for(AT_BASE, replace(current, labels=[PROTOCOL])).stage_before == "Base Camp"


def test_the_stage_shown_maps_an_escaped_headline_back_to_the_catalog_name():
    catalog = Catalog((Stage("stage:rnd", "R&D *phase*"), Stage("stage:done", "Done")))
    the_study = study(issue(1, "stage:rnd"))
    current = written(plan_for(the_study, None, catalog=catalog))
    assert "## Current stage: R&amp;D \\*phase\\*" in current.body
    result = plan_for(study(issue(1, "stage:rnd", open=False)), current, catalog=catalog)
    assert result.changes[0] == "stage: R&D *phase* -> Done"


def test_an_edited_away_headline_falls_back_to_the_stage_label():
    current = written(plan_for(AT_BASE, None))
    result = plan_for(AT_PROTOCOL, replace(current, body=current.body.replace("## Current stage: ", "## ")))
    assert result.stage_before == "Base Camp"
    assert "## Current stage: Protocol Development" in result.body


# --- adopting old-format issues -------------------------------------------------------------

def test_an_old_format_issue_is_adopted_by_appending_the_block():
    result = plan_for(AT_PROTOCOL, tracking(OLD_FORMAT, ["study-tracking", "stage:base-camp"]))
    assert result.action == Action.UPDATE
    assert result.body.startswith(OLD_FORMAT + "\n" + begin_marker("OHDSI/Study") + "\n")
    assert result.changes == ("stage: Base Camp -> Protocol Development",
                              "block added to an old-format issue", f"labels: +{PROTOCOL} -{BASE}")
    assert split_body(result.body)[0] == OLD_FORMAT + "\n"


def test_an_old_format_issue_without_a_stage_label_shows_no_stage_before():
    result = plan_for(AT_BASE, tracking(OLD_FORMAT.rstrip("\n")))
    assert result.stage_before is None
    assert result.changes[0] == "stage: (none shown) -> Base Camp"
    assert result.body.startswith(OLD_FORMAT.rstrip("\n") + "\n\n<!-- factory-sync:begin")


def test_an_adopted_issue_is_then_left_alone():
    adopted = written(plan_for(AT_BASE, tracking(OLD_FORMAT)))
    assert plan_for(AT_BASE, adopted, run_url=RUN_1).action == Action.NONE


def test_an_issue_chosen_by_number_that_names_no_study_gets_the_block():
    result = plan_for(AT_BASE, tracking("Tracking for the study.", ["study-tracking"]))
    assert result.changes == ("stage: (none shown) -> Base Camp", "block added", f"labels: +{BASE}")
    assert result.body.startswith("Tracking for the study.\n\n<!-- factory-sync:begin study=OHDSI/Study -->")


def test_an_issue_of_another_study_is_refused():
    other = tracking(OLD_FORMAT.replace("OHDSI/Study", "OHDSI/Other"), number=12)
    with pytest.raises(WrongTrackingIssue, match="Factory issue #12 tracks OHDSI/Other, not OHDSI/Study"):
        plan_for(AT_BASE, other)


def test_a_damaged_block_is_reported_not_repaired():
    body = begin_marker("OHDSI/Study") + "\nhalf a block"
    with pytest.raises(DamagedBlock, match="no end marker"):
        plan_for(AT_BASE, tracking(body))


# --- size -----------------------------------------------------------------------------------

def many_events_study() -> Study:
    events = tuple(IssueEvent("labeled" if n % 2 else "unlabeled", T0 + timedelta(minutes=n), "alice", BASE)
                   for n in range(40))
    url = "https://github.com/OHDSI/Study/issues/1"
    return study(StudyIssue(1, "t", url, True, T0, None, (BASE,), events))


def test_history_is_trimmed_so_the_body_fits_beside_long_notes():
    the_study = many_events_study()
    block = render_block(the_study, assess(the_study, DEFAULT_CATALOG), RUN_2)
    notes = "n" * (BODY_LIMIT - body_size(block) + 300) + "\n"
    result = plan_for(the_study, tracking(notes + block))
    assert body_size(result.body) <= BODY_LIMIT
    assert result.body.startswith(notes)
    assert "history trimmed to fit GitHub's size limit" in result.body
    assert plan_for(the_study, written(result), run_url=RUN_1).action == Action.NONE


def test_notes_that_leave_no_room_for_the_block_are_an_error():
    notes = "**Repository:** https://github.com/OHDSI/Study\n" + "n" * BODY_LIMIT
    with pytest.raises(BodyTooLarge, match="shorten the text outside the block"):
        plan_for(AT_BASE, tracking(notes))
