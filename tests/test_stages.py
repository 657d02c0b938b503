from datetime import UTC, datetime, timedelta

import pytest

from factory_sync.model import IssueEvent, Study, StudyIssue, is_stage_label
from factory_sync.stages import (
    DEFAULT_CATALOG,
    Catalog,
    CatalogError,
    Stage,
    StageStatus,
    assess,
    load_catalog,
)

T0 = datetime(2024, 3, 1, 9, 0, tzinfo=UTC)
BASE, PROTOCOL, PHENOTYPE, ANALYSIS, EXECUTION, RESULTS = (stage.label for stage in DEFAULT_CATALOG.stages)


def day(n: float) -> datetime:
    return T0 + timedelta(days=n)


def issue(number: int, *labels: str, open: bool = True, created: float = 0, closed: float | None = None,
          events: tuple[IssueEvent, ...] = ()) -> StudyIssue:
    url = f"https://github.com/o/s/issues/{number}"
    closed_at = None if closed is None else day(closed)
    return StudyIssue(number, f"Issue {number}", url, open, day(created), closed_at, labels, events)


def study(*issues: StudyIssue) -> Study:
    return Study("o/s", "https://github.com/o/s", issues)


def labeled(label: str, when: float) -> IssueEvent:
    return IssueEvent("labeled", day(when), "alice", label)


def statuses(progress) -> list[str]:
    return [entry.status.value for entry in progress.stages]


# --- catalog --------------------------------------------------------------------------------

@pytest.mark.parametrize("name", ["stage:base-camp", "Stage:Anything", "STAGE:", "stage:x y"])
def test_stage_labels_start_with_stage_in_any_case(name):
    assert is_stage_label(name)


@pytest.mark.parametrize("name", ["bug", "stages:x", " stage:x", "my-stage:x", ""])
def test_other_labels_are_not_stage_labels(name):
    assert not is_stage_label(name)


def test_default_catalog_is_the_ohdsi_stages_in_order():
    assert [(stage.label, stage.name) for stage in DEFAULT_CATALOG.stages] == [
        ("stage:base-camp", "Base Camp"),
        ("stage:protocol-development", "Protocol Development"),
        ("stage:phenotype-development", "Phenotype Development"),
        ("stage:analysis-specifications", "Analysis Specifications"),
        ("stage:network-execution", "Network Execution"),
        ("stage:results-evaluation", "Results Evaluation"),
    ]


def test_find_ignores_case():
    assert DEFAULT_CATALOG.find("Stage:Network-Execution") == DEFAULT_CATALOG.stages[4]
    assert DEFAULT_CATALOG.find("stage:unknown") is None


def test_load_catalog_reads_stages_in_order():
    text = 'stages:\n  - label: "stage:one"\n    name: "One"\n  - label: stage:two\n    name: Two\n'
    assert load_catalog(text, "stages.yml") == Catalog((Stage("stage:one", "One"), Stage("stage:two", "Two")))


def test_load_catalog_accepts_the_default_catalog_written_as_yaml():
    lines = ["stages:"] + [f'  - {{label: "{s.label}", name: "{s.name}"}}' for s in DEFAULT_CATALOG.stages]
    assert load_catalog("\n".join(lines), "stages.yml") == DEFAULT_CATALOG


@pytest.mark.parametrize(("text", "says"), [
    ("stages: [\n", "not valid YAML"),
    ("", "expected a mapping"),
    ("- stage:one\n", "expected a mapping"),
    ("stage: []\n", "unknown key 'stage'"),
    ("stages: []\n", "non-empty list"),
    ("stages: {label: stage:x, name: X}\n", "non-empty list"),
    ("stages: [stage:x]\n", "stage 1 must be a mapping"),
    ("stages: [{label: stage:x, name: X, colour: red}]\n", "unknown key 'colour'"),
    ("stages: [{name: X}]\n", "stage 1 has no label"),
    ("stages: [{label: 7, name: X}]\n", "stage 1 has no label"),
    ("stages: [{label: base-camp, name: X}]\n", "must start with 'stage:', e.g. 'stage:base-camp'"),
    ("stages: [{label: 'stage:', name: X}]\n", "needs a name after 'stage:'"),
    (f"stages: [{{label: stage:{'x' * 45}, name: X}}]\n", "51 characters; GitHub allows at most 50"),
    ("stages: [{label: stage:x}]\n", "(stage:x) has no name"),
    ("stages: [{label: stage:x, name: ''}]\n", "(stage:x) has no name"),
    ("stages: [{label: stage:x, name: \"A\\nB\"}]\n", "single line"),
    ("stages: [{label: stage:x, name: X}, {label: Stage:X, name: Y}]\n", "stages 1 and 2 share the label"),
    ("stages: [{label: stage:x, name: Same}, {label: stage:y, name: same}]", "stages 1 and 2 share the name"),
])
def test_load_catalog_explains_each_problem_in_one_line_naming_the_file(text, says):
    with pytest.raises(CatalogError) as caught:
        load_catalog(text, "config/stages.yml")
    message = str(caught.value)
    assert message.startswith("config/stages.yml: ")
    assert says in message
    assert "\n" not in message


def test_a_label_of_exactly_fifty_characters_is_allowed():
    label = "stage:" + "x" * 44
    assert load_catalog(f"stages: [{{label: {label}, name: X}}]", "s.yml").stages[0].label == label


# --- rules ----------------------------------------------------------------------------------

def test_a_study_without_stage_issues_has_not_started():
    progress = assess(study(), DEFAULT_CATALOG)
    assert progress.current is None
    assert not progress.started
    assert not progress.finished
    assert statuses(progress) == ["pending"] * 6


def test_an_open_issue_puts_its_stage_in_progress():
    progress = assess(study(issue(1, BASE)), DEFAULT_CATALOG)
    assert progress.stages[0].status is StageStatus.IN_PROGRESS
    assert progress.current == DEFAULT_CATALOG.stages[0]
    assert progress.started


def test_after_a_complete_stage_the_next_one_is_current():
    progress = assess(study(issue(1, BASE, open=False, closed=3)), DEFAULT_CATALOG)
    assert statuses(progress)[:2] == ["complete", "pending"]
    assert progress.current == DEFAULT_CATALOG.stages[1]
    assert not progress.finished


def test_the_furthest_stage_in_progress_is_current_even_with_later_complete_stages():
    progress = assess(study(issue(1, PROTOCOL), issue(2, EXECUTION, open=False, closed=2),
                            issue(3, PHENOTYPE)), DEFAULT_CATALOG)
    assert progress.current == DEFAULT_CATALOG.stages[2]


def test_skipped_stages_stay_pending():
    progress = assess(study(issue(1, BASE, open=False, closed=1), issue(2, ANALYSIS)), DEFAULT_CATALOG)
    assert statuses(progress) == ["complete", "pending", "pending", "in progress", "pending", "pending"]
    assert progress.current == DEFAULT_CATALOG.stages[3]


def test_a_stage_is_complete_only_when_all_its_issues_are_closed():
    progress = assess(study(issue(1, BASE, open=False, closed=1), issue(2, BASE)), DEFAULT_CATALOG)
    assert progress.stages[0].status is StageStatus.IN_PROGRESS
    assert progress.stages[0].completed is None


def test_a_complete_last_stage_with_nothing_in_progress_finishes_the_study():
    progress = assess(study(issue(1, RESULTS, open=False, closed=5)), DEFAULT_CATALOG)
    assert progress.finished
    assert progress.current == DEFAULT_CATALOG.stages[-1]


def test_work_in_progress_keeps_a_study_with_a_complete_last_stage_going():
    progress = assess(study(issue(1, RESULTS, open=False, closed=5), issue(2, PROTOCOL)), DEFAULT_CATALOG)
    assert not progress.finished
    assert progress.current == DEFAULT_CATALOG.stages[1]


def test_started_is_the_earliest_time_the_label_was_applied():
    first = issue(4, BASE, created=0, events=(labeled(BASE, 5), labeled("stage:BASE-CAMP", 3)))
    second = issue(2, BASE, created=1, events=(labeled(BASE, 4),))
    assert assess(study(first, second), DEFAULT_CATALOG).stages[0].started == day(3)


def test_started_falls_back_to_creation_when_the_timeline_has_no_labeled_event():
    no_timeline = issue(1, BASE, created=2)
    other_label = issue(2, BASE, created=6, events=(labeled(PROTOCOL, 1),))
    assert assess(study(no_timeline, other_label), DEFAULT_CATALOG).stages[0].started == day(2)


def test_completed_is_the_latest_close_among_the_stage_issues():
    issues = (issue(1, BASE, open=False, closed=4), issue(2, BASE, open=False, closed=9),
              issue(3, BASE, open=False, closed=7))
    entry = assess(study(*issues), DEFAULT_CATALOG).stages[0]
    assert entry.status is StageStatus.COMPLETE
    assert entry.completed == day(9)


def test_completed_falls_back_to_the_close_event_when_closed_at_is_missing():
    closed = IssueEvent("closed", day(6), "bob")
    entry = assess(study(issue(1, BASE, open=False, events=(closed,))), DEFAULT_CATALOG).stages[0]
    assert entry.completed == day(6)


def test_stage_issues_are_listed_by_number_whatever_order_they_arrive_in():
    entry = assess(study(issue(9, BASE), issue(3, BASE), issue(5, BASE)), DEFAULT_CATALOG).stages[0]
    assert [i.number for i in entry.issues] == [3, 5, 9]


def test_labels_match_the_catalog_in_any_case():
    progress = assess(study(issue(1, "Stage:Protocol-Development")), DEFAULT_CATALOG)
    assert progress.current == DEFAULT_CATALOG.stages[1]
    assert progress.unknown_labels == ()


def test_an_issue_with_two_stage_labels_counts_for_both():
    progress = assess(study(issue(1, BASE, PROTOCOL, open=False, closed=2)), DEFAULT_CATALOG)
    assert statuses(progress)[:3] == ["complete", "complete", "pending"]


def test_stage_labels_outside_the_catalog_are_reported_sorted_not_rejected():
    progress = assess(study(issue(1, "stage:zeta"), issue(2, "stage:alpha", BASE), issue(3, "stage:zeta")),
                      DEFAULT_CATALOG)
    assert progress.unknown_labels == ("stage:alpha", "stage:zeta")
    assert progress.current == DEFAULT_CATALOG.stages[0]


def test_only_unknown_stage_labels_means_not_started():
    progress = assess(study(issue(1, "stage:draft")), DEFAULT_CATALOG)
    assert progress.current is None
    assert progress.unknown_labels == ("stage:draft",)


def test_a_custom_catalog_drives_the_rules():
    catalog = Catalog((Stage("stage:a", "A"), Stage("stage:b", "B")))
    progress = assess(study(issue(1, "stage:a", open=False, closed=1), issue(2, BASE)), catalog)
    assert progress.current == Stage("stage:b", "B")
    assert progress.unknown_labels == (BASE,)
