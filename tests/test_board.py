"""The board's pure core: the `project` input, the fields factory-sync owns, and what differs."""

from __future__ import annotations

from datetime import date

import pytest
from graphql import parse

from factory_sync.board import (
    MUTATIONS_PER_DOCUMENT,
    Board,
    BoardError,
    Field,
    FieldNames,
    Item,
    Option,
    ProjectRef,
    Row,
    check_fields,
    create_field,
    documents,
    item_changes,
    parse_project,
    wanted_fields,
)
from factory_sync.stages import DEFAULT_CATALOG


@pytest.mark.parametrize(("value", "expected"), [
    ("", None),
    ("ohdsi/3", ProjectRef("ohdsi", 3)),
    ("https://github.com/orgs/ohdsi/projects/3", ProjectRef("ohdsi", 3)),
    ("https://github.com/orgs/ohdsi/projects/3/views/2?layout=board", ProjectRef("ohdsi", 3)),
    ("https://github.example.com/orgs/research-net/projects/12/", ProjectRef("research-net", 12,
                                                                           "github.example.com")),
])
def test_the_project_input(value, expected):
    assert parse_project(value) == expected


@pytest.mark.parametrize(("value", "says"), [
    ("https://github.com/users/someone/projects/1", "GitHub Apps cannot reach a user's projects"),
    ("https://github.com/ohdsi/Factory/projects/1", "organisation project's URL"),
    ("ftp://github.com/orgs/ohdsi/projects/1", "organisation project's URL"),
    ("ohdsi/Factory", "organisation project's URL"),
    ("ohdsi/0", "start at 1"),
    ("-ohdsi/1", "organisation project's URL"),
    ("my_org/1", "organisation project's URL"),  # an organisation's login has no underscore
    ("https://github.com/orgs/my_org/projects/1", "organisation project's URL"),
])
def test_a_project_input_that_names_no_organisation_project(value, says):
    with pytest.raises(BoardError, match=says):
        parse_project(value)


def test_the_owned_fields_and_their_options():
    stage, since, stalled = wanted_fields(FieldNames(), DEFAULT_CATALOG, stalls=True,
                                          more_stages=["Own Stage", "base camp"])
    assert (stage.name, stage.data_type) == ("Stage", "SINGLE_SELECT")
    names = tuple(s.name for s in DEFAULT_CATALOG.stages)
    assert stage.options == (*names, "Own Stage", "Not started", "Complete")
    assert (since.name, since.data_type, since.options) == ("Stage since", "DATE", ())
    assert (stalled.name, stalled.options) == ("Stalled", ("Stalled", "On track"))
    assert [w.role for w in wanted_fields(FieldNames(), DEFAULT_CATALOG, stalls=False)] == ["stage", "since"]


STAGE = Field("PVTSSF_1", "Stage", "SINGLE_SELECT", (Option("a1", "Base Camp"), Option("a2", "Complete")))
SINCE = Field("PVTF_2", "Stage since", "DATE")
NOTE = Field("PVTF_3", "Note", "TEXT")


def board(*items: Item, fields=(STAGE, SINCE, NOTE)) -> Board:
    return Board("PVT_1", "Factory portfolio", "https://github.com/orgs/o/projects/1", tuple(fields), items)


def test_fields_are_matched_by_name_regardless_of_case_and_checked_for_type_and_options():
    lower = Field("PVTF_9", "stage since", "TEXT")
    found = check_fields(board(fields=(STAGE, lower)), wanted_fields(FieldNames(), DEFAULT_CATALOG, True))
    assert found.usable == {"stage": STAGE}
    assert [w.name for w in found.create] == ["Stalled"]
    [error] = found.errors
    assert "'stage since'" in error and "is a text field" in error and "project-since-field" in error
    [warning] = found.warnings
    assert "'Protocol Development'" in warning and "'Not started'" in warning and "'Base Camp'" not in warning


def test_only_what_differs_is_written_and_nothing_else_is_touched():
    rows = [Row(1, "Base Camp", date(2025, 3, 3), None), Row(2, "Complete", date(2025, 4, 1), None),
            Row(3, "Base Camp", None, None), Row(4, "Base Camp", None, None)]
    items = (Item("PVTI_1", 1, False, {STAGE.id: "a1", SINCE.id: "2025-03-03", NOTE.id: "x"}),
             Item("PVTI_2", 2, False, {STAGE.id: "a1"}),
             Item("PVTI_3", 3, True, {}),  # archived by a person: left as it is
             Item("PVTI_9", None, False, {STAGE.id: "a2"}),  # a person's own item
             Item("PVTI_7", 7, False, {STAGE.id: "a1", SINCE.id: "2025-01-01"}))  # not a study's row
    changes = item_changes(board(*items), rows, {"stage": STAGE, "since": SINCE}, retired=[7])
    assert changes.add == (4,)
    assert [(c.kind, c.issue, c.field_name) for c in changes.changes] == [
        ("set", 2, "Stage"), ("set", 2, "Stage since"), ("archive", 7, None)]
    assert '"a2"' in changes.changes[0].text and '"2025-04-01"' in changes.changes[1].text
    same = item_changes(board(*items[:1]), rows[:1], {"stage": STAGE, "since": SINCE})
    assert same.add == () and same.changes == ()


def test_a_value_no_longer_wanted_is_cleared_and_a_missing_option_waits():
    options = (Option("s1", "Stalled"), Option("s2", "On track"))
    stalled = Field("PVTSSF_4", "Stalled", "SINGLE_SELECT", options)
    item = Item("PVTI_1", 1, False, {STAGE.id: "a1", SINCE.id: "2025-03-03", stalled.id: "s1"})
    not_started = [Row(1, "Network Execution", None, None)]
    changes = item_changes(board(item, fields=(STAGE, SINCE, stalled)), not_started,
                           {"stage": STAGE, "since": SINCE, "stalled": stalled})
    assert [(c.kind, c.field_name) for c in changes.changes] == [("clear", "Stage since"),
                                                                  ("clear", "Stalled")]
    assert changes.waiting == (1,)


def test_mutation_documents_are_aliased_batches_github_can_parse():
    item = Item("PVTI_1", 1, False, {})
    rows = [Row(1, "Base Camp", date(2025, 3, 3), None)] * (MUTATIONS_PER_DOCUMENT + 1)
    changes = list(item_changes(board(item), rows, {"stage": STAGE, "since": SINCE}).changes)
    texts = documents(changes)
    assert len(texts) == 3 and texts[0].count(" m") == MUTATIONS_PER_DOCUMENT
    for text in texts:
        parse(text)
    odd = wanted_fields(FieldNames(stage='Stage "quoted" \\ ü'), DEFAULT_CATALOG, False)[0]
    made = documents([create_field("PVT_1", odd)])[0]
    mutation = parse(made).definitions[0].selection_set.selections[0]
    spec = {f.name.value: f.value for f in mutation.arguments[0].value.fields}
    assert spec["name"].value == 'Stage "quoted" \\ ü' and spec["dataType"].value == "SINGLE_SELECT"
