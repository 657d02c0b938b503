"""The Factory's project board (GitHub Projects), sans I/O: which project the input names, and what
its rows should become.

One row a study: its tracking issue as an item, with the fields factory-sync owns (`Stage`, `Stage
since`, `Stalled`; the names are inputs) set from the study's progress. Every other field and every
item people added are left alone. Reconcile, don't patch: the changes depend only on the board as
read and the studies as they are, so a replay changes nothing. A field that is missing is created
with its options; a single select that lacks an option is never rewritten (GitHub's
updateProjectV2Field replaces every option, and so clears every value in the field): the run says
which options to add, and the rows that need them wait.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import date
from enum import Enum, StrEnum
from urllib.parse import urlsplit

from factory_sync.errors import FactorySyncError
from factory_sync.model import ORGANIZATION_PATTERN
from factory_sync.stages import Catalog
from factory_sync.tracking_block import FINISHED, NOT_STARTED

SINGLE_SELECT, DATE = "SINGLE_SELECT", "DATE"
STALLED, ON_TRACK = "Stalled", "On track"
# Mutations sent in one document. GitHub runs a document's mutations one after another and answers
# within its 10-second timeout; each document is one write (5 points, one content request).
MUTATIONS_PER_DOCUMENT = 50
PROJECT_FORMAT = "https://github.com/orgs/OWNER/projects/N (or OWNER/N)"
_SHORT = re.compile(rf"({ORGANIZATION_PATTERN})/([0-9]+)")
_PATH = re.compile(rf"/(orgs|users)/({ORGANIZATION_PATTERN})/projects/([0-9]+)(?:/.*)?")
_COLORS = {NOT_STARTED: "GRAY", FINISHED: "GREEN", STALLED: "RED", ON_TRACK: "GREEN"}


class BoardError(FactorySyncError):
    """The board cannot be kept: the message says why and what to do."""


# -- the input ---------------------------------------------------------------------------------------
@dataclass(frozen=True)
class ProjectRef:
    owner: str  # the organisation's login
    number: int
    host: str = "github.com"  # the web host (a GitHub Enterprise Server's, from its URL)

    @property
    def url(self) -> str:
        return f"https://{self.host}/orgs/{self.owner}/projects/{self.number}"


def parse_project(value: str) -> ProjectRef | None:
    """The `project` input: a project's URL or OWNER/N; None when empty (no board)."""
    value = value.strip()
    if not value:
        return None
    short = _SHORT.fullmatch(value)
    if short:
        return ProjectRef(short.group(1), _number(short.group(2), value))
    parts = urlsplit(value)
    path = _PATH.fullmatch(parts.path.rstrip("/")) if parts.scheme in ("http", "https") else None
    if not parts.hostname or path is None:
        raise BoardError(f"project must be an organisation project's URL, {PROJECT_FORMAT}, not {value!r}; "
                         "or leave it empty for no board.")
    kind, owner, number = path.groups()
    if kind == "users":
        raise user_project(owner)
    return ProjectRef(owner, _number(number, value), parts.netloc)


def user_project(login: str) -> BoardError:
    return BoardError(
        f"project: {login} is a user, and GitHub Apps cannot reach a user's projects (there is no App "
        "permission for them). Move the board to the Factory's organisation (on the project: ... > "
        "Settings > Danger zone > Transfer... or make a new organisation project) and give its URL.")


def _number(text: str, value: str) -> int:
    if int(text) == 0:
        raise BoardError(f"project: {value!r} names project 0; project numbers start at 1.")
    return int(text)


@dataclass(frozen=True)
class FieldNames:
    """The names of the fields factory-sync owns (inputs project-*-field)."""

    stage: str = "Stage"
    since: str = "Stage since"
    stalled: str = "Stalled"


# -- the board as read -------------------------------------------------------------------------------
@dataclass(frozen=True)
class Option:
    id: str
    name: str


@dataclass(frozen=True)
class Field:
    id: str
    name: str
    data_type: str  # GitHub's ProjectV2FieldType
    options: tuple[Option, ...] = ()

    def option(self, name: str) -> Option | None:
        wanted = name.lower()
        return next((option for option in self.options if option.name.lower() == wanted), None)


@dataclass(frozen=True)
class Item:
    id: str
    issue: int | None  # the Factory issue's number; None for anything else on the board
    archived: bool
    values: dict[str, str] = field(default_factory=dict)  # field id -> option id or ISO date


@dataclass(frozen=True)
class Board:
    id: str
    title: str
    url: str
    fields: tuple[Field, ...]
    items: tuple[Item, ...]  # all that were read (the whole board, or one issue's items)

    def field_named(self, name: str) -> Field | None:
        wanted = name.lower()  # GitHub's field names are unique regardless of case
        return next((f for f in self.fields if f.name.lower() == wanted), None)

    def item_of(self, issue: int) -> Item | None:
        return next((item for item in self.items if item.issue == issue), None)


# -- what the board should show ----------------------------------------------------------------------
@dataclass(frozen=True)
class Row:
    """A study's row: its tracking issue, and its values."""

    issue: int
    stage: str  # a catalog stage's name, "Not started" or "Complete"
    since: date | None  # when it entered that stage; None: not started
    stalled: bool | None  # None: not started (or stall checks are off: the field is not kept)


@dataclass(frozen=True)
class Wanted:
    """A field factory-sync owns: its name, type and options (single selects)."""

    role: str  # stage, since, stalled
    name: str
    data_type: str
    options: tuple[str, ...] = ()


def wanted_fields(names: FieldNames, catalog: Catalog, stalls: bool,
                  more_stages: Iterable[str] = ()) -> tuple[Wanted, ...]:
    """The fields factory-sync owns: Stage's options are the catalog's stages, then those of studies
    checked against a catalog of their own (`more_stages`), then Not started and Complete."""
    stages: list[str] = []
    for name in (*(stage.name for stage in catalog.stages), *more_stages, NOT_STARTED, FINISHED):
        if name.lower() not in (known.lower() for known in stages):
            stages.append(name)
    wanted = [Wanted("stage", names.stage, SINGLE_SELECT, tuple(stages)), Wanted("since", names.since, DATE)]
    if stalls:
        wanted.append(Wanted("stalled", names.stalled, SINGLE_SELECT, (STALLED, ON_TRACK)))
    return tuple(wanted)


# -- the changes -------------------------------------------------------------------------------------
@dataclass(frozen=True)
class FieldCheck:
    """The owned fields as the board has them: usable ones by role, those to create, and problems."""

    usable: dict[str, Field]  # role -> the board's field
    create: tuple[Wanted, ...]
    errors: tuple[str, ...] = ()  # a field of the right name and the wrong type
    warnings: tuple[str, ...] = ()  # options to add by hand


def check_fields(board: Board, wanted: Iterable[Wanted]) -> FieldCheck:
    usable, create, errors, warnings = {}, [], [], []
    for want in wanted:
        found = board.field_named(want.name)
        if found is None:
            create.append(want)
        elif found.data_type != want.data_type:
            errors.append(
                f"The field {found.name!r} of the project {board.url} is a {_kind(found.data_type)} field, "
                f"but factory-sync writes a {_kind(want.data_type)} there; rename or delete that field (the "
                f"next run creates its own), or choose another name with the {_input_of(want.role)} input.")
        else:
            usable[want.role] = found
            missing = [name for name in want.options if found.option(name) is None]
            if missing:
                warnings.append(missing_options(board, found, missing))
    return FieldCheck(usable, tuple(create), tuple(errors), tuple(warnings))


def missing_options(board: Board, found: Field, missing: Sequence[str]) -> str:
    listed = ", ".join(repr(name) for name in missing)
    return (f"The field {found.name!r} of the project {board.url} lacks the "
            f"option{'s' if len(missing) > 1 else ''} {listed}: add {'them' if len(missing) > 1 else 'it'} "
            f"by hand (on the board: the field's menu > Edit field > Add option), keeping the options it "
            "has. factory-sync does not rewrite the field's options, because GitHub would clear every "
            "value set in it. Rows that need a missing option keep their value until then.")


def _kind(data_type: str) -> str:
    return {SINGLE_SELECT: "single select", DATE: "date"}.get(data_type, data_type.lower().replace("_", " "))


def _input_of(role: str) -> str:
    return {"stage": "project-stage-field", "since": "project-since-field",
            "stalled": "project-stalled-field"}[role]


class ChangeKind(StrEnum):
    CREATE_FIELD = "create-field"
    ADD_ITEM = "add-item"
    SET = "set"
    CLEAR = "clear"
    ARCHIVE = "archive"


class Waiting(Enum):
    """A value that cannot be set yet: its single-select field lacks the option (people add it)."""

    OPTION_MISSING = "option missing"


WAITING = Waiting.OPTION_MISSING


@dataclass(frozen=True)
class Change:
    """One mutation of the board, as a GraphQL field (without its alias)."""

    kind: ChangeKind
    text: str
    issue: int | None = None  # the Factory issue concerned
    field_name: str | None = None


@dataclass(frozen=True)
class ItemChanges:
    add: tuple[int, ...]  # issues without an item: to add (their node ids are needed first)
    changes: tuple[Change, ...]  # values to set or clear, items to archive
    waiting: tuple[int, ...] = ()  # issues whose value needs an option the field lacks


def item_changes(board: Board, rows: Iterable[Row], usable: dict[str, Field],
                 retired: Iterable[int] = ()) -> ItemChanges:
    """What differs between the rows and the board: items to add, values to set or clear, and the
    items of retired spare tracking issues to archive. Archived rows are left as people left them."""
    add, changes, waiting = [], [], []
    for row in rows:
        item = board.item_of(row.issue)
        if item is None:
            add.append(row.issue)
            continue
        if item.archived:
            continue
        stalled = None if row.stalled is None else STALLED if row.stalled else ON_TRACK
        for role, wanted in (("stage", row.stage), ("since", row.since), ("stalled", stalled)):
            target = usable.get(role)  # stalled is usable only while the run counts stalls
            if target is None:
                continue
            change = _value_change(board, item, target, wanted, row.issue)
            if change is WAITING:
                waiting.append(row.issue)
            elif change is not None:
                changes.append(change)
    for number in sorted(set(retired)):
        item = board.item_of(number)
        if item is not None and not item.archived:
            changes.append(Change(ChangeKind.ARCHIVE, archive(board.id, item.id), number))
    return ItemChanges(tuple(add), tuple(changes), tuple(sorted(set(waiting))))


def _value_change(board: Board, item: Item, target: Field, wanted: str | date | None,
                  issue: int) -> Change | Waiting | None:
    current = item.values.get(target.id)
    if wanted is None:
        if current is None:
            return None
        return Change(ChangeKind.CLEAR, clear(board.id, item.id, target.id), issue, target.name)
    if target.data_type == SINGLE_SELECT:
        option = target.option(str(wanted))
        if option is None:
            return WAITING
        if current == option.id:
            return None
        value = {"singleSelectOptionId": option.id}
    else:
        assert isinstance(wanted, date)
        if current == wanted.isoformat():
            return None
        value = {"date": wanted.isoformat()}
    return Change(ChangeKind.SET, set_value(board.id, item.id, target.id, value), issue, target.name)


# -- the mutations, as GraphQL text ------------------------------------------------------------------
FIELD_SELECTION = ("projectV2Field { ... on ProjectV2FieldCommon { id name dataType } "
                   "... on ProjectV2SingleSelectField { options { id name } } }")


def _literal(value: object) -> str:
    """A GraphQL input literal: strings as JSON strings (GraphQL reads JSON's escapes), enums bare."""
    if isinstance(value, GraphQLEnum):
        return value.name
    if isinstance(value, dict):
        return "{" + ", ".join(f"{key}: {_literal(item)}" for key, item in value.items()) + "}"
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_literal(item) for item in value) + "]"
    return json.dumps(value, ensure_ascii=False)


@dataclass(frozen=True)
class GraphQLEnum:
    name: str


def create_field(project_id: str, want: Wanted) -> Change:
    spec: dict = {"projectId": project_id, "dataType": GraphQLEnum(want.data_type), "name": want.name}
    if want.options:
        spec["singleSelectOptions"] = [{"name": name, "color": GraphQLEnum(_COLORS.get(name, "BLUE")),
                                        "description": ""} for name in want.options]
    text = f"createProjectV2Field(input: {_literal(spec)}) {{ {FIELD_SELECTION} }}"
    return Change(ChangeKind.CREATE_FIELD, text, field_name=want.name)


def add_item(project_id: str, content_id: str, issue: int) -> Change:
    spec = {"projectId": project_id, "contentId": content_id}
    text = f"addProjectV2ItemById(input: {_literal(spec)}) {{ item {{ id }} }}"
    return Change(ChangeKind.ADD_ITEM, text, issue)


def set_value(project_id: str, item_id: str, field_id: str, value: dict) -> str:
    spec = {"projectId": project_id, "itemId": item_id, "fieldId": field_id, "value": value}
    return f"updateProjectV2ItemFieldValue(input: {_literal(spec)}) {{ projectV2Item {{ id }} }}"


def clear(project_id: str, item_id: str, field_id: str) -> str:
    spec = {"projectId": project_id, "itemId": item_id, "fieldId": field_id}
    return f"clearProjectV2ItemFieldValue(input: {_literal(spec)}) {{ projectV2Item {{ id }} }}"


def archive(project_id: str, item_id: str) -> str:
    spec = {"projectId": project_id, "itemId": item_id}
    return f"archiveProjectV2Item(input: {_literal(spec)}) {{ item {{ id }} }}"


def documents(changes: Sequence[Change], per_document: int = MUTATIONS_PER_DOCUMENT) -> list[str]:
    """The changes as mutation documents of at most `per_document` aliased mutations (m0, m1, ...:
    an answer's alias is the change's index in its document)."""
    return ["mutation { " + " ".join(f"m{index}: {change.text}"
                                     for index, change in enumerate(changes[start:start + per_document]))
            + " }" for start in range(0, len(changes), per_document)]


def with_items(board: Board, added: dict[int, str]) -> Board:
    """The board once items were added for these issues (number -> item id), without values yet."""
    new = tuple(Item(item_id, number, False) for number, item_id in added.items())
    return replace(board, items=board.items + new)


def with_fields(board: Board, created: Iterable[Field]) -> Board:
    return replace(board, fields=board.fields + tuple(created))
