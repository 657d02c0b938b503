"""Projects (GitHub's ProjectV2) in the world: boards owned by an organisation, their fields and items.

Plain data plus the rules that are about the data itself, as GitHub applies them: a new project
comes with GitHub's default fields; an item is an issue on the board, added once; a value belongs
to one item and one field; replacing a single select's options gives every option a new id, so
the values that pointed at the old ones are gone. Tests build boards with these functions;
the GraphQL face (graphql_projects) calls them too, after checking the caller's rights.
"""

from __future__ import annotations

import base64
import hashlib
import struct
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from github_double.world import Issue, Repository, World

MAX_FIELDS = 50
MAX_ITEMS = 50_000
MAX_TEXT = 1024
BUILT_IN_TYPES = ("TITLE", "ASSIGNEES", "LABELS", "LINKED_PULL_REQUESTS", "MILESTONE", "REPOSITORY",
                  "REVIEWERS", "PARENT_ISSUE", "SUB_ISSUES_PROGRESS")
CUSTOM_TYPES = ("TEXT", "NUMBER", "DATE", "SINGLE_SELECT", "ITERATION")
COLORS = ("GRAY", "BLUE", "GREEN", "YELLOW", "ORANGE", "RED", "PINK", "PURPLE")
# What a project has when GitHub creates it, in GitHub's order.
DEFAULT_FIELDS = [("Title", "TITLE"), ("Assignees", "ASSIGNEES"), ("Status", "SINGLE_SELECT"),
                  ("Labels", "LABELS"), ("Linked pull requests", "LINKED_PULL_REQUESTS"),
                  ("Milestone", "MILESTONE"), ("Repository", "REPOSITORY"), ("Reviewers", "REVIEWERS"),
                  ("Parent issue", "PARENT_ISSUE"), ("Sub-issues progress", "SUB_ISSUES_PROGRESS")]
DEFAULT_STATUS = [("Todo", "GREEN", "This item hasn't been started"),
                  ("In Progress", "YELLOW", "This is actively being worked on"),
                  ("Done", "PURPLE", "This has been completed")]


class ProjectError(ValueError):
    """A change GitHub refuses; `kind` is the GraphQL error type it reports."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message


@dataclass
class Option:
    id: str  # 8 hex digits, as GitHub's
    name: str
    color: str = "GRAY"
    description: str = ""


@dataclass
class ProjectField:
    id: int
    name: str
    data_type: str  # a ProjectV2FieldType value
    options: list[Option] = field(default_factory=list)  # single select only
    created_at: datetime | None = None
    updated_at: datetime | None = None

    def option(self, option_id: str) -> Option | None:
        return next((o for o in self.options if o.id == option_id), None)

    def option_named(self, name: str) -> Option | None:
        return next((o for o in self.options if o.name == name), None)


Value = str | float  # an option id, an ISO date, a text or a number


@dataclass
class ValueRecord:
    value: Value
    creator: str
    created_at: datetime
    updated_at: datetime


@dataclass
class ProjectItem:
    id: int
    repository: str  # the issue's repository, full name
    issue_id: int  # the issue's database id
    creator: str
    created_at: datetime
    updated_at: datetime
    archived: bool = False
    values: dict[int, ValueRecord] = field(default_factory=dict)  # custom fields only, by field id


@dataclass
class Project:
    id: int
    owner: str  # an organisation's login
    number: int
    title: str
    creator: str
    created_at: datetime
    updated_at: datetime
    fields: list[ProjectField] = field(default_factory=list)  # in position order
    items: list[ProjectItem] = field(default_factory=list)  # in position order
    closed: bool = False
    public: bool = False
    short_description: str | None = None

    def field_named(self, name: str) -> ProjectField | None:
        return next((f for f in self.fields if f.name.lower() == name.lower()), None)

    def field_by_id(self, field_id: int) -> ProjectField | None:
        return next((f for f in self.fields if f.id == field_id), None)

    def item_by_id(self, item_id: int) -> ProjectItem | None:
        return next((i for i in self.items if i.id == item_id), None)

    def item_for(self, issue: Issue) -> ProjectItem | None:
        return next((i for i in self.items if i.issue_id == issue.id), None)


# -- GitHub's node ids: a prefix and a MessagePack array of database ids, in base64url --------------
PREFIXES = {"project": "PVT", "item": "PVTI", "field": "PVTF", "single_select": "PVTSSF",
            "iteration": "PVTIF", "value": "PVTFSV"}


def encode_id(prefix: str, *numbers: int) -> str:
    """`PVT_kwDO...`: [0, owner id, project id, ...] packed as MessagePack (every id a uint32)."""
    packed = bytes([0x90 + len(numbers) + 1, 0x00])
    packed += b"".join(b"\xce" + struct.pack(">I", n) for n in numbers)
    return f"{prefix}_{base64.urlsafe_b64encode(packed).decode().rstrip('=')}"


def decode_id(global_id: str) -> tuple[str, list[int]] | None:
    """(prefix, database ids after the leading 0) from an id made by `encode_id`, or None."""
    prefix, _, packed = global_id.partition("_")
    if prefix not in PREFIXES.values() or not packed:
        return None
    try:
        raw = base64.urlsafe_b64decode(packed + "=" * (-len(packed) % 4))
    except (ValueError, TypeError):
        return None
    count = raw[0] - 0x90 if raw else -1
    if count < 2 or len(raw) != 2 + 5 * (count - 1) or raw[1] != 0:
        return None
    numbers = []
    for start in range(2, len(raw), 5):
        if raw[start] != 0xCE:
            return None
        numbers.append(struct.unpack(">I", raw[start + 1:start + 5])[0])
    return prefix, numbers


def project_node_id(world: World, project: Project) -> str:
    return encode_id("PVT", world.user_id(project.owner), project.id)


def item_node_id(world: World, project: Project, item: ProjectItem) -> str:
    return encode_id("PVTI", world.user_id(project.owner), project.id, item.id)


def field_node_id(world: World, project: Project, project_field: ProjectField) -> str:
    prefix = {"SINGLE_SELECT": "PVTSSF", "ITERATION": "PVTIF"}.get(project_field.data_type, "PVTF")
    return encode_id(prefix, world.user_id(project.owner), project.id, project_field.id)


def value_node_id(world: World, project: Project, item: ProjectItem, project_field: ProjectField) -> str:
    return encode_id("PVTFSV", world.user_id(project.owner), project.id, item.id, project_field.id)


def _option_id(world: World) -> str:
    return hashlib.sha1(f"option:{world.next_id()}".encode(), usedforsecurity=False).hexdigest()[:8]


# -- building and changing boards ------------------------------------------------------------------
def org_projects(world: World, owner: str) -> list[Project]:
    return [p for p in world.projects.values() if p.owner.lower() == owner.lower()]


def project_by_number(world: World, owner: str, number: int) -> Project | None:
    return next((p for p in org_projects(world, owner) if p.number == number), None)


def add_project(world: World, owner: str, title: str, *, number: int | None = None,
                creator: str = "ghost") -> Project:
    """A new project of `owner` with GitHub's default fields (Status: Todo, In Progress, Done)."""
    taken = {p.number for p in org_projects(world, owner)}
    number = number or max(taken, default=0) + 1
    if number in taken:
        raise ProjectError("UNPROCESSABLE", f"{owner} already has a project number {number}")
    if not title.strip():
        raise ProjectError("UNPROCESSABLE", "Title can't be blank")
    now = world.clock.now()
    world.users.setdefault(owner, "Organization")
    project = Project(world.next_id(), owner, number, title, creator, now, now)
    for name, data_type in DEFAULT_FIELDS:
        options = [(n, c, d) for n, c, d in DEFAULT_STATUS] if name == "Status" else None
        add_field(world, project, name, data_type, options, built_in=True)
    world.projects[project.id] = project
    return project


OptionSpec = str | tuple[str, str, str] | dict


def add_field(world: World, project: Project, name: str, data_type: str,
              options: list[OptionSpec] | None = None, *, built_in: bool = False) -> ProjectField:
    """A custom field (TEXT, NUMBER, DATE, SINGLE_SELECT with its options) at the end of the project.

    Options are names, (name, color, description) or {"name", "color", "description"}."""
    allowed = (*BUILT_IN_TYPES, "SINGLE_SELECT") if built_in else ("TEXT", "NUMBER", "DATE", "SINGLE_SELECT")
    if data_type not in allowed:
        raise ProjectError("UNPROCESSABLE", f"The double does not create {data_type} fields")
    if not name.strip():
        raise ProjectError("UNPROCESSABLE", "Name can't be blank")
    if project.field_named(name) is not None:
        raise ProjectError("UNPROCESSABLE", "Name has already been taken")
    if len(project.fields) >= MAX_FIELDS:
        raise ProjectError("UNPROCESSABLE", f"Projects can have at most {MAX_FIELDS} fields")
    if data_type == "SINGLE_SELECT" and not options:
        raise ProjectError("UNPROCESSABLE", "Single select fields must have at least one option")
    now = world.clock.now()
    created = ProjectField(world.next_id(), name, data_type, [], now, now)
    created.options = _options(world, options or []) if data_type == "SINGLE_SELECT" else []
    project.fields.append(created)
    project.updated_at = now
    return created


def _options(world: World, specs: list[OptionSpec]) -> list[Option]:
    made = []
    for spec in specs:
        if isinstance(spec, str):
            name, color, description = spec, "GRAY", ""
        elif isinstance(spec, dict):
            name, color, description = spec["name"], spec.get("color", "GRAY"), spec.get("description", "")
        else:
            name, color, description = spec
        if color not in COLORS:
            raise ProjectError("UNPROCESSABLE", f"{color!r} is not an option color")
        if not name.strip():
            raise ProjectError("UNPROCESSABLE", "Option name can't be blank")
        made.append(Option(_option_id(world), name, color, description))
    return made


def update_field(world: World, project: Project, project_field: ProjectField, *, name: str | None = None,
                 options: list[OptionSpec] | None = None) -> ProjectField:
    """Rename a field, and for a single select REPLACE its options, as `updateProjectV2Field` does:
    every option gets a new id, so every item's value in this field is cleared."""
    if name is not None and name.lower() != project_field.name.lower() and project.field_named(name):
        raise ProjectError("UNPROCESSABLE", "Name has already been taken")
    if options and project_field.data_type != "SINGLE_SELECT":
        raise ProjectError("UNPROCESSABLE", "Options can only be set on single select fields")
    if name is not None:
        if not name.strip():
            raise ProjectError("UNPROCESSABLE", "Name can't be blank")
        project_field.name = name
    if options:
        project_field.options = _options(world, options)
        for item in project.items:
            item.values.pop(project_field.id, None)
    project_field.updated_at = project.updated_at = world.clock.now()
    return project_field


def delete_field(world: World, project: Project, project_field: ProjectField) -> None:
    """A person deletes a custom field: it and every value in it are gone."""
    if project_field.data_type in BUILT_IN_TYPES:
        raise ProjectError("UNPROCESSABLE", "Built-in fields cannot be deleted")
    project.fields.remove(project_field)
    for item in project.items:
        item.values.pop(project_field.id, None)
    project.updated_at = world.clock.now()


def add_item(world: World, project: Project, repo: Repository, issue: Issue,
             creator: str = "ghost") -> ProjectItem:
    """The issue's item, added at the end of the board; an issue already there keeps its item."""
    existing = project.item_for(issue)
    if existing is not None:
        return existing
    if len(project.items) >= MAX_ITEMS:
        raise ProjectError("UNPROCESSABLE", f"Projects can have at most {MAX_ITEMS:,} items")
    now = world.clock.now()
    item = ProjectItem(world.next_id(), repo.full_name, issue.id, creator, now, now)
    project.items.append(item)
    project.updated_at = now
    return item


def set_value(world: World, project: Project, item: ProjectItem, project_field: ProjectField, value: Value,
              actor: str = "ghost") -> None:
    """Set a custom field's value: an option id (or, from tests, an option name), a date, text, number."""
    kind = project_field.data_type
    if kind == "SINGLE_SELECT":
        option = project_field.option(str(value)) or project_field.option_named(str(value))
        if option is None:
            raise ProjectError("VALIDATION", "The single select option Id does not belong to the field")
        value = option.id
    elif kind == "DATE":
        value = _iso_date(value)
    elif kind == "TEXT":
        if not isinstance(value, str) or len(value) > MAX_TEXT:
            raise ProjectError("UNPROCESSABLE", "Column value must be a valid value for text column")
    elif kind == "NUMBER":
        value = float(value)
    else:
        raise ProjectError("UNPROCESSABLE", f"Updating a field of type {kind.lower()} is not supported")
    now = world.clock.now()
    record = item.values.get(project_field.id)
    if record is None:
        item.values[project_field.id] = ValueRecord(value, actor, now, now)
    else:
        record.value, record.updated_at = value, now
    item.updated_at = now


def _iso_date(value: Value) -> str:
    try:
        return date.fromisoformat(str(value)[:10]).isoformat()
    except ValueError as error:
        raise ProjectError("UNPROCESSABLE", f"{value!r} is not a valid date") from error


def clear_value(world: World, item: ProjectItem, project_field: ProjectField) -> None:
    if item.values.pop(project_field.id, None) is not None:
        item.updated_at = world.clock.now()


def archive_item(world: World, item: ProjectItem, archived: bool = True) -> None:
    if item.archived != archived:
        item.archived = archived
        item.updated_at = world.clock.now()


def value_of(project: Project, item: ProjectItem, name: str) -> str | float | None:
    """A custom field's value as people read it: the option's name, the date, the text or number."""
    project_field = project.field_named(name)
    record = item.values.get(project_field.id) if project_field else None
    if record is None:
        return None
    if project_field.data_type == "SINGLE_SELECT":
        option = project_field.option(str(record.value))
        return option.name if option else None
    return record.value
