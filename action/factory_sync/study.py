"""A study's truth: its stage-labelled issues and their timelines, as read from GitHub.

Plain data, no I/O. The GitHub adapter fills it from the GraphQL query in `STUDY_QUERY`
(one request in the common case); everything downstream (stages, the tracking issue) is
computed from it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

STAGE_PREFIX = "stage:"

# The study's stage labels and, under each, its issues with the timeline events that matter.
# Asking by label (not by issue) finds labels outside the catalog too, in the same request.
# Sizes keep the query far below GitHub's 500,000-node limit (50 + 50*50 + 50*50*100 nodes).
STUDY_FIELDS = """
fragment StudyIssue on Issue {
  number
  title
  url
  state
  createdAt
  closedAt
  timelineItems(first: 100, itemTypes: [LABELED_EVENT, UNLABELED_EVENT, CLOSED_EVENT, REOPENED_EVENT]) {
    pageInfo { hasNextPage endCursor }
    nodes {
      __typename
      ... on LabeledEvent { createdAt actor { login } label { name } }
      ... on UnlabeledEvent { createdAt actor { login } label { name } }
      ... on ClosedEvent { createdAt actor { login } }
      ... on ReopenedEvent { createdAt actor { login } }
    }
  }
}
"""

STUDY_QUERY = """
query StudyTruth($owner: String!, $name: String!, $labelCursor: String) {
  repository(owner: $owner, name: $name) {
    nameWithOwner
    url
    labels(first: 50, after: $labelCursor, query: "stage:") {
      pageInfo { hasNextPage endCursor }
      nodes {
        name
        issues(first: 50, orderBy: {field: CREATED_AT, direction: ASC}) {
          pageInfo { hasNextPage endCursor }
          nodes { ...StudyIssue }
        }
      }
    }
  }
}
""" + STUDY_FIELDS

# Follow-up pages, needed only for a label with more than 50 issues or an issue with more
# than 100 timeline events.
LABEL_ISSUES_QUERY = """
query LabelIssues($owner: String!, $name: String!, $label: String!, $cursor: String) {
  repository(owner: $owner, name: $name) {
    label(name: $label) {
      issues(first: 50, after: $cursor, orderBy: {field: CREATED_AT, direction: ASC}) {
        pageInfo { hasNextPage endCursor }
        nodes { ...StudyIssue }
      }
    }
  }
}
""" + STUDY_FIELDS

TIMELINE_QUERY = """
query IssueTimeline($owner: String!, $name: String!, $number: Int!, $cursor: String) {
  repository(owner: $owner, name: $name) {
    issue(number: $number) {
      timelineItems(first: 100, after: $cursor,
                    itemTypes: [LABELED_EVENT, UNLABELED_EVENT, CLOSED_EVENT, REOPENED_EVENT]) {
        pageInfo { hasNextPage endCursor }
        nodes {
          __typename
          ... on LabeledEvent { createdAt actor { login } label { name } }
          ... on UnlabeledEvent { createdAt actor { login } label { name } }
          ... on ClosedEvent { createdAt actor { login } }
          ... on ReopenedEvent { createdAt actor { login } }
        }
      }
    }
  }
}
"""

_EVENT_KINDS = {
    "LabeledEvent": "labeled",
    "UnlabeledEvent": "unlabeled",
    "ClosedEvent": "closed",
    "ReopenedEvent": "reopened",
}


@dataclass(frozen=True)
class IssueEvent:
    """One timeline entry of a study issue."""

    kind: str  # labeled, unlabeled, closed, reopened
    at: datetime
    actor: str | None  # login; None when GitHub reports a deleted account ("ghost")
    label: str | None = None  # for labeled / unlabeled


@dataclass(frozen=True)
class StudyIssue:
    number: int
    title: str
    url: str
    open: bool
    created_at: datetime
    closed_at: datetime | None
    labels: tuple[str, ...]  # its stage labels (names starting with "stage:")
    events: tuple[IssueEvent, ...]  # in time order


@dataclass(frozen=True)
class Study:
    repo: str  # "owner/name" as GitHub spells it
    url: str  # the repository's html url
    issues: tuple[StudyIssue, ...]  # every issue carrying a stage label, by number


def parse_time(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def parse_event(node: dict) -> IssueEvent | None:
    kind = _EVENT_KINDS.get(node.get("__typename", ""))
    if kind is None:
        return None
    actor = (node.get("actor") or {}).get("login")
    label = (node.get("label") or {}).get("name")
    return IssueEvent(kind, parse_time(node["createdAt"]), actor, label)


def study_from_graphql(repository: dict, issue_nodes_by_label: dict[str, list[dict]],
                       events_by_issue: dict[int, list[dict]]) -> Study:
    """Build a Study from the (fully paginated) GraphQL nodes.

    `issue_nodes_by_label` maps each stage label name to its issue nodes; `events_by_issue`
    maps an issue number to all its timeline nodes (first page plus any follow-up pages).
    """
    labels_of: dict[int, list[str]] = {}
    nodes: dict[int, dict] = {}
    for label, issue_nodes in issue_nodes_by_label.items():
        if not label.lower().startswith(STAGE_PREFIX):
            continue
        for node in issue_nodes:
            nodes[node["number"]] = node
            labels_of.setdefault(node["number"], []).append(label)
    issues = []
    for number in sorted(nodes):
        node = nodes[number]
        events = [e for n in events_by_issue.get(number, []) if (e := parse_event(n)) is not None]
        events.sort(key=lambda e: e.at)  # stable: GitHub's order breaks ties
        issues.append(StudyIssue(
            number=number,
            title=node["title"],
            url=node["url"],
            open=node["state"] == "OPEN",
            created_at=parse_time(node["createdAt"]),
            closed_at=parse_time(node["closedAt"]) if node.get("closedAt") else None,
            labels=tuple(sorted(labels_of[number])),
            events=tuple(events),
        ))
    return Study(repository["nameWithOwner"], repository["url"], tuple(issues))
