"""The GraphQL face of the world: one class per GitHub GraphQL type the double serves.

graphql-core's default resolver reads a field as the attribute of the same name, calling it
with the field's arguments when it is a method; so each class below lists, in GitHub's
spelling, the fields it answers. Fields not listed resolve to null (an error where non-null).
Access follows GitHub's rules for integration tokens: repositories outside the token are not
found, and issue data needs the token's `issues` permission.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import quote

from github_double.graphql_connections import SortKey, connection
from github_double.graphql_errors import FieldError
from github_double.graphql_limits import QuerySize
from github_double.world import (
    Issue,
    Label,
    RateWindow,
    Repository,
    TimelineEvent,
    Token,
    World,
    node_id,
)

BODY_LIMIT = 65_536
TITLE_LIMIT = 256
NOT_ACCESSIBLE = "Resource not accessible by integration"
_LEVELS = {"read": 1, "write": 2, "admin": 3}

EVENT_TYPES = {  # world's event kind -> (GraphQL type, IssueTimelineItemsItemType)
    "labeled": ("LabeledEvent", "LABELED_EVENT"),
    "unlabeled": ("UnlabeledEvent", "UNLABELED_EVENT"),
    "closed": ("ClosedEvent", "CLOSED_EVENT"),
    "reopened": ("ReopenedEvent", "REOPENED_EVENT"),
    "renamed": ("RenamedTitleEvent", "RENAMED_TITLE_EVENT"),
}


def iso(moment: datetime | None) -> str | None:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ") if moment else None


def parse_time(value: str) -> datetime:
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError as error:
        raise FieldError("INVALID_ARGUMENTS", f"`{value}` is not a valid DateTime") from error


def decode_node_id(value: str) -> tuple[str, int] | None:
    """(type name, database id) from a global id made by `world.node_id`, or None."""
    try:
        text = base64.b64decode(value, validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        return None
    match = re.fullmatch(r"(\d\d):([A-Za-z]+)(\d+)", text)
    if match is None or int(match.group(1)) != len(match.group(2)):
        return None
    return match.group(2), int(match.group(3))


@dataclass(frozen=True)
class Caller:
    """Everything a resolver needs: the world, who asks, and where the double's web pages live."""

    world: World
    token: Token
    web: str
    size: QuerySize
    rate: RateWindow

    def repository(self, full_name: str) -> Repository | None:
        repo = self.world.repo(full_name)
        return repo if repo is not None and self.world.token_can_see(self.token, repo) else None

    def require(self, level: str, permission: str = "issues") -> None:
        """Labels and issues both need the token's `issues` permission, as on the REST face."""
        if _LEVELS.get(self.token.permissions.get(permission, ""), 0) < _LEVELS[level]:
            raise FieldError("FORBIDDEN", NOT_ACCESSIBLE)

    def actor(self, login: str | None) -> ActorObject | None:
        return ActorObject(self, login) if login else None


def not_found_node(global_id: str) -> FieldError:
    return FieldError("NOT_FOUND", f"Could not resolve to a node with the global id of '{global_id}'")


# -- people --------------------------------------------------------------------------------------
class ActorObject:
    """A User, Organization or Bot. GraphQL names a bot without the "[bot]" REST puts after it."""

    def __init__(self, caller: Caller, login: str, typename: str | None = None) -> None:
        self.caller = caller
        self.full_login = login
        self.typename = typename or caller.world.user_type(login)

    @property
    def login(self) -> str:
        return self.full_login.removesuffix("[bot]") if self.typename == "Bot" else self.full_login

    @property
    def id(self) -> str:
        return node_id(self.typename, self.caller.world.user_id(self.full_login))

    @property
    def databaseId(self) -> int:
        return self.caller.world.user_id(self.full_login)

    @property
    def url(self) -> str:
        return f"{self.caller.web}/{'apps/' if self.typename == 'Bot' else ''}{self.login}"

    @property
    def resourcePath(self) -> str:
        return self.url.removeprefix(self.caller.web)

    def avatarUrl(self, info, size: int | None = None) -> str:
        return f"{self.caller.web}/avatars/{self.databaseId}"


# -- repositories --------------------------------------------------------------------------------
class RepositoryObject:
    typename = "Repository"

    def __init__(self, caller: Caller, repo: Repository) -> None:
        self.caller = caller
        self.repo = repo

    id = property(lambda self: node_id("Repository", self.repo.id))
    databaseId = property(lambda self: self.repo.id)
    name = property(lambda self: self.repo.name)
    nameWithOwner = property(lambda self: self.repo.full_name)
    url = property(lambda self: f"{self.caller.web}/{self.repo.full_name}")
    resourcePath = property(lambda self: f"/{self.repo.full_name}")
    isPrivate = property(lambda self: self.repo.private)
    visibility = property(lambda self: "PRIVATE" if self.repo.private else "PUBLIC")
    createdAt = property(lambda self: iso(self.repo.created_at))
    hasIssuesEnabled = True

    @property
    def owner(self) -> ActorObject:
        return ActorObject(self.caller, self.repo.owner)

    def labels(self, info, first=None, after=None, last=None, before=None, orderBy=None, query=None) -> dict:
        self.caller.require("read")
        found = [label for label in self.repo.labels.values() if _label_matches(label, query)]
        return _label_connection(self.caller, self.repo, found, orderBy, first, after, last, before)

    def label(self, info, name: str) -> LabelObject | None:
        self.caller.require("read")
        label = self.repo.labels.get(name.lower())
        return LabelObject(self.caller, self.repo, label) if label else None

    def issues(self, info, **arguments) -> dict:
        self.caller.require("read")
        return _issue_connection(self.caller, self.repo, self.repo.issues.values(), arguments)

    def issue(self, info, number: int) -> IssueObject:
        self.caller.require("read")
        issue = self.repo.issues.get(number)
        if issue is None or issue.is_pull_request:
            raise FieldError("NOT_FOUND", f"Could not resolve to an Issue with the number of {number}.")
        return IssueObject(self.caller, self.repo, issue)

    def object(self, info, expression: str | None = None, oid: str | None = None) -> object:
        from github_double.graphql_blob import object_at  # builds on this module

        return object_at(self, expression or "")


def _label_matches(label: Label, query: str | None) -> bool:
    """GitHub's label search: the text anywhere in the name or description, ignoring case."""
    if not query:
        return True
    text = query.lower()
    return text in label.name.lower() or text in (label.description or "").lower()


def _label_connection(caller: Caller, repo: Repository, labels: Iterable[Label], order: dict | None,
                      first, after, last, before) -> dict:
    field, descending = _order(order, "CREATED_AT")
    key: Callable[[LabelObject], SortKey] = (
        (lambda o: (o.label.name.lower(), o.label.id)) if field == "NAME" else (lambda o: (o.label.id,)))
    nodes = [LabelObject(caller, repo, label) for label in labels]
    return connection("labels", nodes, key, descending=descending, first=first, after=after, last=last,
                      before=before)


def _order(order: dict | None, default: str) -> tuple[str, bool]:
    if not order:
        return default, False
    return order["field"], order["direction"] == "DESC"


def _issue_connection(caller: Caller, repo: Repository, issues: Iterable[Issue], arguments: dict) -> dict:
    """Repository.issues and Label.issues: filters, order and paging as GitHub applies them."""
    filters = arguments.get("filterBy") or {}
    states = arguments.get("states") or filters.get("states")
    labels = arguments.get("labels") or filters.get("labels")
    since = parse_time(filters["since"]) if filters.get("since") else None
    found = [
        issue for issue in issues
        if not issue.is_pull_request
        and (not states or issue.state.upper() in states)
        and (not labels or _has_any_label(issue, labels))
        and (since is None or (issue.updated_at is not None and issue.updated_at >= since))
        and _matches_people(issue, filters)
    ]
    field, descending = _order(arguments.get("orderBy"), "CREATED_AT")
    moment = {"CREATED_AT": lambda i: i.created_at, "UPDATED_AT": lambda i: i.updated_at}.get(field)

    def key(o: IssueObject) -> SortKey:
        return (iso(moment(o.issue)) or "" if moment else "", o.issue.number)

    nodes = [IssueObject(caller, repo, issue) for issue in found]
    bounds = {name: arguments.get(name) for name in ("first", "after", "last", "before")}
    return connection("issues", nodes, key, descending=descending, **bounds)


def _has_any_label(issue: Issue, names: list[str]) -> bool:
    wanted = {name.lower() for name in names}
    return any(label.lower() in wanted for label in issue.labels)


def _matches_people(issue: Issue, filters: dict) -> bool:
    created_by, assignee = filters.get("createdBy"), filters.get("assignee")
    if created_by and created_by.lower() != issue.user.lower():
        return False
    if assignee == "*":
        return bool(issue.assignees)
    return not assignee or assignee.lower() in (a.lower() for a in issue.assignees)


# -- labels and issues ---------------------------------------------------------------------------
class LabelObject:
    typename = "Label"

    def __init__(self, caller: Caller, repo: Repository, label: Label) -> None:
        self.caller = caller
        self.repo = repo
        self.label = label

    id = property(lambda self: node_id("Label", self.label.id))
    name = property(lambda self: self.label.name)
    color = property(lambda self: self.label.color)
    description = property(lambda self: self.label.description)
    isDefault = property(lambda self: self.label.default)
    url = property(lambda self: f"{self.caller.web}{self.resourcePath}")
    resourcePath = property(lambda self: f"/{self.repo.full_name}/labels/{quote(self.label.name, safe='')}")
    repository = property(lambda self: RepositoryObject(self.caller, self.repo))

    def issues(self, info, **arguments) -> dict:
        self.caller.require("read")
        name = self.label.name.lower()
        tagged = [i for i in self.repo.issues.values() if name in (n.lower() for n in i.labels)]
        return _issue_connection(self.caller, self.repo, tagged, arguments)


class IssueObject:
    typename = "Issue"

    def __init__(self, caller: Caller, repo: Repository, issue: Issue) -> None:
        self.caller = caller
        self.repo = repo
        self.issue = issue

    id = property(lambda self: node_id("Issue", self.issue.id))
    databaseId = property(lambda self: self.issue.id)
    number = property(lambda self: self.issue.number)
    title = property(lambda self: self.issue.title)
    body = property(lambda self: self.issue.body or "")
    url = property(lambda self: f"{self.caller.web}{self.resourcePath}")
    resourcePath = property(lambda self: f"/{self.repo.full_name}/issues/{self.issue.number}")
    state = property(lambda self: self.issue.state.upper())
    closed = property(lambda self: self.issue.state == "closed")
    locked = False
    createdAt = property(lambda self: iso(self.issue.created_at))
    updatedAt = property(lambda self: iso(self.issue.updated_at))
    closedAt = property(lambda self: iso(self.issue.closed_at))
    repository = property(lambda self: RepositoryObject(self.caller, self.repo))
    author = property(lambda self: self.caller.actor(self.issue.user))
    authorAssociation = property(lambda self: self.caller.world.association(self.repo, self.issue.user))

    def stateReason(self, info, enableDuplicate: bool = False) -> str | None:
        reason = self.issue.state_reason
        if reason is None:
            return None
        if reason == "duplicate" and not enableDuplicate:
            return "NOT_PLANNED"
        return reason.upper()

    def labels(self, info, first=None, after=None, last=None, before=None, orderBy=None) -> dict:
        known = self.repo.labels
        applied = [known[name.lower()] for name in self.issue.labels if name.lower() in known]
        return _label_connection(self.caller, self.repo, applied, orderBy, first, after, last, before)

    def assignees(self, info, first=None, after=None, last=None, before=None) -> dict:
        people = [ActorObject(self.caller, login, "User") for login in self.issue.assignees]
        return connection("assignees", people, lambda o: (o.databaseId,), first=first, after=after, last=last,
                          before=before)

    def projectItems(self, info, **arguments) -> dict:
        from github_double.graphql_projects import issue_project_items  # builds on this module

        return issue_project_items(self, arguments)

    def timelineItems(self, info, first=None, after=None, last=None, before=None, itemTypes=None, since=None,
                      skip=None) -> dict:
        moment = parse_time(since) if since else None
        events = [
            EventObject(self.caller, self.repo, self.issue, event) for event in self.issue.timeline
            if event.event in EVENT_TYPES
            and (not itemTypes or EVENT_TYPES[event.event][1] in itemTypes)
            and (moment is None or event.created_at >= moment)
        ]
        events = events[max(skip or 0, 0):]
        return connection("timelineItems", events, lambda o: (o.event.id,), first=first, after=after,
                          last=last, before=before)


class EventObject:
    """LabeledEvent, UnlabeledEvent, ClosedEvent, ReopenedEvent or RenamedTitleEvent."""

    def __init__(self, caller: Caller, repo: Repository, issue: Issue, event: TimelineEvent) -> None:
        self.caller = caller
        self.repo = repo
        self.on_issue = issue
        self.event = event
        self.typename = EVENT_TYPES[event.event][0]

    id = property(lambda self: node_id(self.typename, self.event.id))
    createdAt = property(lambda self: iso(self.event.created_at))
    actor = property(lambda self: self.caller.actor(self.event.actor))
    previousTitle = property(lambda self: self.event.rename_from)
    currentTitle = property(lambda self: self.event.rename_to)
    url = property(lambda self: f"{self.caller.web}{self.resourcePath}")
    resourcePath = property(
        lambda self: f"/{self.repo.full_name}/issues/{self.on_issue.number}#event-{self.event.id}")

    @property
    def stateReason(self) -> str | None:
        return self.event.state_reason.upper() if self.event.state_reason else None

    @property
    def label(self) -> LabelObject | None:
        name = self.event.label or ""
        # A label deleted since keeps its name on the events that applied it.
        label = self.repo.labels.get(name.lower()) or Label(0, name)
        return LabelObject(self.caller, self.repo, label)

    @property
    def _subject(self) -> IssueObject:
        return IssueObject(self.caller, self.repo, self.on_issue)

    closable = labelable = subject = property(lambda self: self._subject)


# -- roots ---------------------------------------------------------------------------------------
class QueryRoot:
    def __init__(self, caller: Caller) -> None:
        self.caller = caller

    def repository(self, info, owner: str, name: str, followRenames: bool = True) -> RepositoryObject:
        repo = self.caller.repository(f"{owner}/{name}")
        if repo is None:
            raise FieldError("NOT_FOUND",
                             f"Could not resolve to a Repository with the name '{owner}/{name}'.")
        return RepositoryObject(self.caller, repo)

    @property
    def viewer(self) -> ActorObject:
        return ActorObject(self.caller, self.caller.world.actor_of(self.caller.token), "User")

    def rateLimit(self, info, dryRun: bool = False) -> dict:
        rate, size = self.caller.rate, self.caller.size
        return {"cost": size.cost, "limit": rate.limit, "remaining": rate.remaining, "used": rate.used,
                "resetAt": iso(rate.reset_at), "nodeCount": size.node_count}

    def node(self, info, id: str) -> object:
        return find_node(self.caller, id, "read")

    def nodes(self, info, ids: list[str]) -> list:
        return [self._node_or_error(value) for value in ids]

    def _node_or_error(self, global_id: str) -> object:
        """A failing id nulls only its own entry: graphql-core reports an exception found in a list."""
        try:
            return find_node(self.caller, global_id, "read")
        except FieldError as error:
            return error


def find_node(caller: Caller, global_id: str,
              level: str) -> RepositoryObject | IssueObject | LabelObject | EventObject:
    """The object behind a global id, if the token may see it."""
    decoded = decode_node_id(global_id)
    if decoded is None:
        raise not_found_node(global_id)
    type_name, database_id = decoded
    for repo in caller.world.token_repos(caller.token):
        if type_name == "Repository" and repo.id == database_id:
            return RepositoryObject(caller, repo)
        if type_name == "Label":
            label = next((label for label in repo.labels.values() if label.id == database_id), None)
            if label is not None:
                caller.require(level)
                return LabelObject(caller, repo, label)
        for issue in repo.issues.values():
            if type_name == "Issue" and issue.id == database_id and not issue.is_pull_request:
                caller.require(level)
                return IssueObject(caller, repo, issue)
            for event in issue.timeline:
                if event.id == database_id and EVENT_TYPES.get(event.event, ("",))[0] == type_name:
                    caller.require(level)
                    return EventObject(caller, repo, issue, event)
    raise not_found_node(global_id)


class MutationRoot:
    def __init__(self, caller: Caller) -> None:
        self.caller = caller

    def updateIssue(self, info, input: dict) -> dict:
        target = self._issue(input["id"])
        unsupported = sorted(set(input) - {"id", "title", "body", "state", "labelIds", "clientMutationId"})
        if unsupported:
            raise FieldError("UNPROCESSABLE",
                             f"The double does not support {', '.join(unsupported)} on updateIssue")
        title, body = input.get("title"), input.get("body")
        if title is not None and not title.strip():
            raise FieldError("UNPROCESSABLE", "Title can't be blank")
        if title is not None and len(title) > TITLE_LIMIT:
            raise FieldError("UNPROCESSABLE", f"Title is too long (maximum is {TITLE_LIMIT} characters)")
        if body is not None and len(body) > BODY_LIMIT:
            raise FieldError("UNPROCESSABLE", f"Body is too long (maximum is {BODY_LIMIT} characters)")
        labels = self._labels(target, input["labelIds"]) if input.get("labelIds") is not None else None
        world, issue, actor = self.caller.world, target.issue, world_actor(self.caller)
        if title is not None:
            world.rename(issue, title, actor)
        if body is not None and body != issue.body:
            issue.body = body
            world.touch(issue)
        if labels is not None:
            wanted = {label.name.lower() for label in labels}
            for name in [n for n in issue.labels if n.lower() not in wanted]:
                world.remove_label(target.repo, issue, name, actor)
            for label in labels:
                world.add_label(target.repo, issue, label.name, actor)
        if input.get("state"):
            world.set_state(issue, input["state"].lower(), actor)
        return self._payload(input, "issue", target)

    def addLabelsToLabelable(self, info, input: dict) -> dict:
        target = self._issue(input["labelableId"])
        for label in self._labels(target, input["labelIds"]):
            self.caller.world.add_label(target.repo, target.issue, label.name, world_actor(self.caller))
        return self._payload(input, "labelable", target)

    def removeLabelsFromLabelable(self, info, input: dict) -> dict:
        target = self._issue(input["labelableId"])
        for label in self._labels(target, input["labelIds"]):
            self.caller.world.remove_label(target.repo, target.issue, label.name, world_actor(self.caller))
        return self._payload(input, "labelable", target)

    def _issue(self, global_id: str) -> IssueObject:
        found = find_node(self.caller, global_id, "write")
        if not isinstance(found, IssueObject):
            raise not_found_node(global_id)
        return found

    def _labels(self, target: IssueObject, label_ids: list[str]) -> list[Label]:
        labels = []
        for global_id in label_ids:
            found = find_node(self.caller, global_id, "write")
            if not isinstance(found, LabelObject) or found.repo is not target.repo:
                raise not_found_node(global_id)
            labels.append(found.label)
        return labels

    def _payload(self, input: dict, key: str, target: IssueObject) -> dict:
        return {"clientMutationId": input.get("clientMutationId"), key: target,
                "actor": self.caller.actor(world_actor(self.caller))}


def world_actor(caller: Caller) -> str:
    return caller.world.actor_of(caller.token)


def type_name(value: object, info, abstract_type) -> str:
    """graphql-core's type resolver for interfaces and unions: every object knows its GitHub type."""
    return value.typename
