"""The GraphQL face of projects (ProjectV2): owners, projects, fields, items and their values.

Access follows GitHub's rules for integration tokens: a project needs the organisation
permission `organization_projects` (read to see it, write to change it), else FORBIDDEN
"Resource not accessible by integration"; a workflow's GITHUB_TOKEN never reaches a project;
an App reaches only its own installation's organisation, and never a project owned by a user
(GitHub has no App permission for those: such a project is not found). An item whose issue
the token cannot see is REDACTED, without content or values.
"""

from __future__ import annotations

from github_double import projects as boards
from github_double.graphql_connections import connection
from github_double.graphql_errors import FieldError
from github_double.graphql_objects import (
    NOT_ACCESSIBLE,
    ActorObject,
    Caller,
    IssueObject,
    LabelObject,
    QueryRoot,
    RepositoryObject,
    iso,
    not_found_node,
)
from github_double.projects import Project, ProjectField, ProjectItem

_LEVELS = {"read": 1, "write": 2, "admin": 3}
PERMISSION = "organization_projects"


def require_projects(caller: Caller, level: str) -> None:
    token = caller.token
    granted = _LEVELS.get(token.permissions.get(PERMISSION, ""), 0)
    if token.is_workflow or granted < _LEVELS[level]:
        raise FieldError("FORBIDDEN", NOT_ACCESSIBLE)


def installation_account(caller: Caller) -> str | None:
    inst = caller.world.installations.get(caller.token.installation_id or -1)
    return inst.account.lower() if inst else None


def reachable(caller: Caller, project: Project) -> bool:
    """Whether the token's installation is on the project's owner, an organisation."""
    owner = project.owner.lower()
    return caller.world.user_type(project.owner) == "Organization" and installation_account(caller) == owner


def missing_project(number: int) -> FieldError:
    return FieldError("NOT_FOUND", f"Could not resolve to a ProjectV2 with the number {number}.")


def _bounds(arguments: dict) -> dict:
    return {name: arguments.get(name) for name in ("first", "after", "last", "before")}


# -- owners ----------------------------------------------------------------------------------------
class OwnerObject(ActorObject):
    """An Organization or User, with its projects."""

    def projectV2(self, info, number: int) -> ProjectObject:
        if self.typename != "Organization":
            raise missing_project(number)  # Apps have no permission that reaches a user's projects
        require_projects(self.caller, "read")
        project = boards.project_by_number(self.caller.world, self.full_login, number)
        if project is None or not reachable(self.caller, project):
            raise missing_project(number)
        return ProjectObject(self.caller, project)

    def projectsV2(self, info, query=None, orderBy=None, minPermissionLevel=None, **arguments) -> dict:
        found: list[Project] = []
        if self.typename == "Organization":
            require_projects(self.caller, "read")
            found = [p for p in boards.org_projects(self.caller.world, self.full_login)
                     if reachable(self.caller, p) and (not query or query.lower() in p.title.lower())]
        descending = not orderBy or orderBy["direction"] == "DESC"
        nodes = [ProjectObject(self.caller, p) for p in found]
        return connection("projectsV2", nodes, lambda o: (o.project.number,), descending=descending,
                          **_bounds(arguments))

    name = property(lambda self: self.full_login)


def owner_object(caller: Caller, login: str, typename: str | None = None) -> OwnerObject | None:
    known = caller.world.users.get(login) or next(
        (kind for name, kind in caller.world.users.items() if name.lower() == login.lower()), None)
    if known not in ("Organization", "User") or (typename and known != typename):
        return None
    spelled = next((name for name in caller.world.users if name.lower() == login.lower()), login)
    return OwnerObject(caller, spelled, known)


# -- projects --------------------------------------------------------------------------------------
class ProjectObject:
    typename = "ProjectV2"

    def __init__(self, caller: Caller, project: Project) -> None:
        self.caller = caller
        self.project = project

    id = property(lambda self: boards.project_node_id(self.caller.world, self.project))
    databaseId = property(lambda self: self.project.id)
    fullDatabaseId = property(lambda self: str(self.project.id))
    number = property(lambda self: self.project.number)
    title = property(lambda self: self.project.title)
    shortDescription = property(lambda self: self.project.short_description)
    readme = None
    public = property(lambda self: self.project.public)
    closed = property(lambda self: self.project.closed)
    closedAt = None
    template = False
    createdAt = property(lambda self: iso(self.project.created_at))
    updatedAt = property(lambda self: iso(self.project.updated_at))
    resourcePath = property(lambda self: f"/orgs/{self.project.owner}/projects/{self.project.number}")
    url = property(lambda self: f"{self.caller.web}{self.resourcePath}")
    creator = property(lambda self: self.caller.actor(self.project.creator))
    owner = property(lambda self: owner_object(self.caller, self.project.owner))
    viewerCanUpdate = viewerCanClose = viewerCanReopen = property(
        lambda self: _LEVELS.get(self.caller.token.permissions.get(PERMISSION, ""), 0) >= 2)

    def fields(self, info, orderBy=None, **arguments) -> dict:
        nodes = [FieldObject(self.caller, self.project, f) for f in self.project.fields]
        order = (orderBy or {}).get("field", "POSITION")
        positions = {f.id: index for index, f in enumerate(self.project.fields)}
        keys = {"NAME": lambda o: (o.field.name.lower(), o.field.id), "CREATED_AT": lambda o: (o.field.id,)}
        key = keys.get(order, lambda o: (positions[o.field.id], o.field.id))
        return connection("fields", nodes, key, descending=(orderBy or {}).get("direction") == "DESC",
                          **_bounds(arguments))

    def field(self, info, name: str) -> FieldObject | None:
        found = next((f for f in self.project.fields if f.name == name), None)
        return FieldObject(self.caller, self.project, found) if found else None

    def items(self, info, orderBy=None, query=None, **arguments) -> dict:
        nodes = [ItemObject(self.caller, self.project, item) for item in self.project.items]
        return connection("items", nodes, lambda o: (o.item.id,), **_bounds(arguments))


_FIELD_TYPES = {"SINGLE_SELECT": "ProjectV2SingleSelectField", "ITERATION": "ProjectV2IterationField"}


class FieldObject:
    """ProjectV2Field, ProjectV2SingleSelectField or ProjectV2IterationField."""

    def __init__(self, caller: Caller, project: Project, project_field: ProjectField) -> None:
        self.caller = caller
        self.on_project = project
        self.field = project_field
        self.typename = _FIELD_TYPES.get(project_field.data_type, "ProjectV2Field")

    id = property(lambda self: boards.field_node_id(self.caller.world, self.on_project, self.field))
    databaseId = property(lambda self: self.field.id)
    name = property(lambda self: self.field.name)
    dataType = property(lambda self: self.field.data_type)
    createdAt = property(lambda self: iso(self.field.created_at))
    updatedAt = property(lambda self: iso(self.field.updated_at))
    project = property(lambda self: ProjectObject(self.caller, self.on_project))

    def options(self, info, names: list[str] | None = None) -> list[dict]:
        return [_option(o) for o in self.field.options if names is None or o.name in names]


def _option(option: boards.Option) -> dict:
    return {"id": option.id, "name": option.name, "nameHTML": option.name, "color": option.color,
            "description": option.description, "descriptionHTML": option.description}


class ItemObject:
    typename = "ProjectV2Item"

    def __init__(self, caller: Caller, project: Project, item: ProjectItem) -> None:
        self.caller = caller
        self.on_project = project
        self.item = item
        self.repo = caller.world.repo(item.repository)
        issues = self.repo.issues.values() if self.repo else ()
        issue = next((i for i in issues if i.id == item.issue_id), None)
        readable = _LEVELS.get(caller.token.permissions.get("issues", ""), 0) >= 1
        visible = issue is not None and readable and caller.world.token_can_see(caller.token, self.repo)
        self.issue = issue if visible else None

    id = property(lambda self: boards.item_node_id(self.caller.world, self.on_project, self.item))
    databaseId = property(lambda self: self.item.id)
    fullDatabaseId = property(lambda self: str(self.item.id))
    type = property(lambda self: "ISSUE" if self.issue else "REDACTED")
    isArchived = property(lambda self: self.item.archived)
    createdAt = property(lambda self: iso(self.item.created_at))
    updatedAt = property(lambda self: iso(self.item.updated_at))
    creator = property(lambda self: self.caller.actor(self.item.creator))
    project = property(lambda self: ProjectObject(self.caller, self.on_project))

    @property
    def content(self) -> IssueObject | None:
        return IssueObject(self.caller, self.repo, self.issue) if self.issue else None

    def values(self) -> list[ValueObject]:
        """GitHub's order: the built-in values the issue has, then the custom ones by field position."""
        if self.issue is None:
            return []
        built_in = {f.data_type: f for f in self.on_project.fields if f.data_type in boards.BUILT_IN_TYPES}
        wanted = [("REPOSITORY", True), ("TITLE", True), ("ASSIGNEES", bool(self.issue.assignees)),
                  ("LABELS", bool(self.issue.labels))]
        found = [ValueObject(self, built_in[kind]) for kind, present in wanted
                 if present and kind in built_in]
        found += [ValueObject(self, f) for f in self.on_project.fields if f.id in self.item.values]
        return found

    def fieldValues(self, info, orderBy=None, **arguments) -> dict:
        values = self.values()
        positions = {id(value): index for index, value in enumerate(values)}
        return connection("fieldValues", values, lambda v: (positions[id(v)],), **_bounds(arguments))

    def fieldValueByName(self, info, name: str) -> ValueObject | None:
        return next((v for v in self.values() if v.field_of.name == name), None)


_VALUE_TYPES = {"SINGLE_SELECT": "ProjectV2ItemFieldSingleSelectValue", "DATE": "ProjectV2ItemFieldDateValue",
                "TEXT": "ProjectV2ItemFieldTextValue", "TITLE": "ProjectV2ItemFieldTextValue",
                "NUMBER": "ProjectV2ItemFieldNumberValue", "REPOSITORY": "ProjectV2ItemFieldRepositoryValue",
                "LABELS": "ProjectV2ItemFieldLabelValue", "ASSIGNEES": "ProjectV2ItemFieldUserValue"}


class ValueObject:
    """One item's value in one field, typed by the field (the union ProjectV2ItemFieldValue)."""

    def __init__(self, item: ItemObject, project_field: ProjectField) -> None:
        self.on_item = item
        self.caller = item.caller
        self.field_of = project_field
        self.record = item.item.values.get(project_field.id)
        self.typename = _VALUE_TYPES[project_field.data_type]
        self.option = project_field.option(str(self.record.value)) if self.record and self.typename.endswith(
            "SingleSelectValue") else None

    id = property(lambda self: boards.value_node_id(self.caller.world, self.on_item.on_project,
                                                      self.on_item.item, self.field_of))
    databaseId = property(lambda self: self.field_of.id)
    field = property(lambda self: FieldObject(self.caller, self.on_item.on_project, self.field_of))
    item = property(lambda self: self.on_item)
    createdAt = property(lambda self: iso((self.record or self.on_item.item).created_at))
    updatedAt = property(lambda self: iso((self.record or self.on_item.item).updated_at))
    creator = property(lambda self: self.caller.actor((self.record or self.on_item.item).creator))
    optionId = property(lambda self: self.option.id if self.option else None)
    name = nameHTML = property(lambda self: self.option.name if self.option else None)
    color = property(lambda self: self.option.color if self.option else "GRAY")
    description = descriptionHTML = property(lambda self: self.option.description if self.option else None)
    date = property(lambda self: self.record.value if self.record else None)
    number = property(lambda self: self.record.value if self.record else None)
    repository = property(lambda self: RepositoryObject(self.caller, self.on_item.repo))

    @property
    def text(self) -> str | None:
        if self.field_of.data_type == "TITLE":
            return self.on_item.issue.title
        return str(self.record.value) if self.record else None

    def labels(self, info, **arguments) -> dict:
        repo, issue = self.on_item.repo, self.on_item.issue
        applied = [LabelObject(self.caller, repo, repo.labels[n.lower()]) for n in issue.labels
                   if n.lower() in repo.labels]
        positions = {id(o): index for index, o in enumerate(applied)}
        return connection("labels", applied, lambda o: (positions[id(o)],), **_bounds(arguments))

    def users(self, info, **arguments) -> dict:
        people = [ActorObject(self.caller, login, "User") for login in self.on_item.issue.assignees]
        return connection("users", people, lambda o: (o.databaseId,), **_bounds(arguments))


def issue_project_items(issue: IssueObject, arguments: dict) -> dict:
    """Issue.projectItems: the issue's items on the projects the token can read."""
    caller = issue.caller
    require_projects(caller, "read")
    include_archived = arguments.get("includeArchived", True)
    nodes = [ItemObject(caller, project, item) for project in caller.world.projects.values()
             if reachable(caller, project) for item in project.items
             if item.issue_id == issue.issue.id and (include_archived or not item.archived)]
    return connection("projectItems", nodes, lambda o: (o.item.id,), **_bounds(arguments))


# -- looking up ids --------------------------------------------------------------------------------
def find_project_node(caller: Caller, global_id: str, level: str):
    """The project, field or item behind a `PVT...` id, if the token may reach it."""
    decoded = boards.decode_id(global_id)
    if decoded is None:
        raise not_found_node(global_id)
    prefix, numbers = decoded
    require_projects(caller, level)
    project = caller.world.projects.get(numbers[1]) if len(numbers) >= 2 else None
    if project is None or not reachable(caller, project) or caller.world.user_id(project.owner) != numbers[0]:
        raise not_found_node(global_id)
    if prefix == "PVT" and len(numbers) == 2:
        return ProjectObject(caller, project)
    if prefix == "PVTI" and len(numbers) == 3 and (item := project.item_by_id(numbers[2])):
        return ItemObject(caller, project, item)
    is_field = prefix in ("PVTF", "PVTSSF", "PVTIF")
    if is_field and len(numbers) == 3 and (found := project.field_by_id(numbers[2])):
        return FieldObject(caller, project, found)
    raise not_found_node(global_id)


def is_project_id(global_id: str) -> bool:
    return global_id.partition("_")[0] in boards.PREFIXES.values()


class ProjectQueryRoot(QueryRoot):
    def organization(self, info, login: str) -> OwnerObject:
        found = owner_object(self.caller, login, "Organization")
        if found is None:
            raise FieldError("NOT_FOUND",
                             f"Could not resolve to an Organization with the login of '{login}'.")
        return found

    def user(self, info, login: str) -> OwnerObject:
        found = owner_object(self.caller, login, "User")
        if found is None:
            raise FieldError("NOT_FOUND", f"Could not resolve to a User with the login of '{login}'.")
        return found

    def repositoryOwner(self, info, login: str) -> OwnerObject | None:
        return owner_object(self.caller, login)

    def node(self, info, id: str) -> object:
        return find_project_node(self.caller, id, "read") if is_project_id(id) else super().node(info, id)

    def _node_or_error(self, global_id: str) -> object:
        if not is_project_id(global_id):
            return super()._node_or_error(global_id)
        try:
            return find_project_node(self.caller, global_id, "read")
        except FieldError as error:
            return error
