"""What GitHub's GraphQL answer says of a study: its parts read into the domain model, checked as
they are read, so that an answer GitHub's schema allows but a study cannot be made of (a null where
a value is needed, an unresolved entry, an unknown enum value) fails that study alone, with the reason."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from factory_sync.failures import Failure, FailureKind, answered
from factory_sync.model import IssueEvent, Study, StudyIssue, is_stage_label, parse_time
from factory_sync.trust import counted

_ERROR_STATUS = {"NOT_FOUND": 404, "FORBIDDEN": 403}


class OddAnswer(Exception):
    """A part of GitHub's answer, allowed by its schema, that cannot be read as a study: a null where a
    study needs a value, an entry that could not be resolved, an enum value factory-sync does not know."""


def get(node: object, key: str, where: str) -> Any:
    if not isinstance(node, dict):
        raise OddAnswer(f"{where} is {'null' if node is None else type(node).__name__}")
    value = node.get(key)
    if value is None:
        raise OddAnswer(f"{where}.{key} is null")
    return value


def nodes_of(page: dict, where: str) -> list[dict]:
    nodes = get(page, "nodes", where)
    if not isinstance(nodes, list) or any(not isinstance(node, dict) for node in nodes):
        raise OddAnswer(f"{where} holds an entry GitHub could not resolve (null)")
    return nodes


def graphql_failure(errors: list[dict], repo: str) -> Failure:
    if not errors:
        return answered(404, f"no repository {repo}")
    first = errors[0]
    status = _ERROR_STATUS.get(first.get("type", ""))
    what = status or first.get("type") or "with an error"
    return Failure(FailureKind.ANSWERED, status, f"GitHub answered {what} ({first.get('message', '')})")


_EVENT_KINDS = {
    "LabeledEvent": "labeled",
    "UnlabeledEvent": "unlabeled",
    "ClosedEvent": "closed",
    "ReopenedEvent": "reopened",
}


def event_of(node: dict) -> IssueEvent | None:
    """A timeline entry, or None for one of a kind factory-sync does not read. A null actor is a deleted
    account (GitHub's "ghost"); a null label, a label deleted since."""
    kind = _EVENT_KINDS.get(node.get("__typename") or "")
    if kind is None:
        return None
    actor = (node.get("actor") or {}).get("login")
    label = (node.get("label") or {}).get("name")
    return IssueEvent(kind, _time(get(node, "createdAt", f"a {node['__typename']}")), actor, label)


_STATES = {"OPEN": True, "CLOSED": False}


def _time(value: object) -> datetime:
    try:
        return parse_time(str(value))
    except ValueError as exc:
        raise OddAnswer(f"{value!r} is not a time") from exc


def study_from_graphql(repository: dict, issue_nodes_by_label: dict[str, list[dict]],
                       events_by_issue: dict[int, list[dict]], trust_authors: bool = False) -> Study:
    """Build a Study from the (fully paginated) GraphQL nodes, each issue as it counts (trust.counted).

    `issue_nodes_by_label` maps each stage label name to its issue nodes; `events_by_issue`
    maps an issue number to all its timeline nodes (first page plus any follow-up pages).
    """
    labels_of: dict[int, list[str]] = {}
    nodes: dict[int, dict] = {}
    for label, issue_nodes in issue_nodes_by_label.items():
        if not is_stage_label(label):
            continue
        for node in issue_nodes:
            nodes[get(node, "number", "issue")] = node
            labels_of.setdefault(node["number"], []).append(label)
    issues = []
    for number in sorted(nodes):
        node = nodes[number]
        events = [e for n in events_by_issue.get(number, []) if (e := event_of(n)) is not None]
        events.sort(key=lambda e: e.at)  # stable: GitHub's order breaks ties
        where = f"issue #{number}"
        state = get(node, "state", where)
        if state not in _STATES:
            raise OddAnswer(f"{where} has the state {state!r}, which factory-sync does not know")
        issue = counted(StudyIssue(
            number=number,
            title=get(node, "title", where),
            url=get(node, "url", where),
            open=_STATES[state],
            created_at=_time(get(node, "createdAt", where)),
            closed_at=_time(node["closedAt"]) if node.get("closedAt") else None,
            labels=tuple(sorted(labels_of[number])),
            events=tuple(events),
            author=(node.get("author") or {}).get("login"),
        ), node.get("authorAssociation"), trust_authors)
        if issue is not None:
            issues.append(issue)
    labels = tuple(sorted(label for label in issue_nodes_by_label if is_stage_label(label)))
    return Study(get(repository, "nameWithOwner", "repository"), get(repository, "url", "repository"),
                 tuple(issues), repository.get("catalog"), labels)
