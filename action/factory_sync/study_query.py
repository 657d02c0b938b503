"""The GraphQL reading of studies, sans I/O: which queries to send, and the Study each answer makes.

`StudyReading` plans the queries that read any number of studies, several repositories per query,
follows their pages and builds each `Study` from the answers; the study reader only sends them.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field, replace

from factory_sync.failures import Failure, FailureKind
from factory_sync.github_limits import GRAPHQL_NODE_LIMIT
from factory_sync.model import STAGE_PREFIX, STUDY_CATALOG_PATH, Study
from factory_sync.study_answer import OddAnswer, get, graphql_failure, nodes_of, study_from_graphql

# Page sizes. The first page of a study asks for 10 stage labels, 20 issues under each and 40
# timeline events under each issue: 10 + 10*20 + 10*20*40 = 8,210 nodes, so 50 studies make one
# query of 410,500 nodes, within GitHub's limit of 500,000. Its cost is 50 * (1 + 10 + 200)
# connections / 100 = 106 points. A study with more labels, issues or events than that is read
# further with follow-up pages, which are batched the same way. (The tests check these figures.)
LABELS_PER_PAGE = 10
ISSUES_PER_PAGE = 20
EVENTS_PER_PAGE = 40
MORE_EVENTS_PER_PAGE = 100
STUDIES_PER_QUERY = 50
PIECES_PER_QUERY = 100  # follow-up pages are small: at most this many in one query
GIVE_UP_AFTER = 5  # failed queries in a row after which GitHub is taken to be down

_EVENT_TYPES = "[LABELED_EVENT, UNLABELED_EVENT, CLOSED_EVENT, REOPENED_EVENT]"
_ISSUE_ORDER = "{field: CREATED_AT, direction: ASC}"
_PAGE_INFO = "pageInfo { hasNextPage endCursor }"
# The study's own stage catalog, read with its first page: no request of its own (null: no such file).
CATALOG_FIELD = "catalog"
_CATALOG = (f'{CATALOG_FIELD}: object(expression: "HEAD:{STUDY_CATALOG_PATH}") '
            "{ ... on Blob { text isTruncated } }")

# Asking by label (not by issue) finds labels outside the catalog too, in the same request.
_FRAGMENTS = {
    "StudyEvents": """
fragment StudyEvents on IssueTimelineItemsConnection {
  pageInfo { hasNextPage endCursor }
  nodes {
    __typename
    ... on LabeledEvent { createdAt actor { login } label { name } }
    ... on UnlabeledEvent { createdAt actor { login } label { name } }
    ... on ClosedEvent { createdAt actor { login } }
    ... on ReopenedEvent { createdAt actor { login } }
  }
}""",
    "StudyIssue": f"""
fragment StudyIssue on Issue {{
  number
  title
  url
  state
  createdAt
  closedAt
  author {{ login }}
  authorAssociation
  timelineItems(first: {EVENTS_PER_PAGE}, itemTypes: {_EVENT_TYPES}) {{ ...StudyEvents }}
}}""",
    "StudyLabel": f"""
fragment StudyLabel on Label {{
  name
  issues(first: {ISSUES_PER_PAGE}, orderBy: {_ISSUE_ORDER}) {{
    pageInfo {{ hasNextPage endCursor }}
    nodes {{ ...StudyIssue }}
  }}
}}""",
}

LABELS, ISSUES, EVENTS = "labels", "issues", "events"
_USES = {LABELS: ("StudyLabel", "StudyIssue", "StudyEvents"), ISSUES: ("StudyIssue", "StudyEvents"),
         EVENTS: ("StudyEvents",)}
_NODES = {
    LABELS: LABELS_PER_PAGE * (1 + ISSUES_PER_PAGE * (1 + EVENTS_PER_PAGE)),
    ISSUES: ISSUES_PER_PAGE * (1 + EVENTS_PER_PAGE),
    EVENTS: MORE_EVENTS_PER_PAGE,
}
QUERY_NODE_BUDGET = STUDIES_PER_QUERY * _NODES[LABELS]
assert QUERY_NODE_BUDGET <= GRAPHQL_NODE_LIMIT


@dataclass(frozen=True)
class Piece:
    """One page of one study: of its stage labels, of one label's issues, or of one issue's timeline."""

    kind: str  # LABELS, ISSUES or EVENTS
    repo: str  # owner/name, as asked for
    cursor: str | None = None  # None: the first page
    label: str | None = None  # ISSUES: the label
    number: int | None = None  # EVENTS: the issue
    alone: bool = False  # sent in a query of its own, after a query holding it failed

    @property
    def nodes(self) -> int:
        """The most nodes its selection can return, counted as GitHub counts them."""
        return _NODES[self.kind]


@dataclass(frozen=True)
class Query:
    text: str
    variables: dict
    pieces: tuple[Piece, ...]

    @property
    def nodes(self) -> int:
        return sum(piece.nodes for piece in self.pieces)


def build_query(pieces: Iterable[Piece]) -> Query:
    """One GraphQL query that reads every piece, each under its own alias (s0, s1, ...)."""
    pieces = tuple(pieces)
    declared, selections, variables, used = [], [], {}, set()
    for i, piece in enumerate(pieces):
        owner, name = piece.repo.split("/", 1)
        declared += [f"$o{i}: String!", f"$n{i}: String!", f"$c{i}: String"]
        variables.update({f"o{i}": owner, f"n{i}": name, f"c{i}": piece.cursor})
        used.update(_USES[piece.kind])
        if piece.kind == LABELS:
            labels = f'labels(first: {LABELS_PER_PAGE}, after: $c{i}, query: "{STAGE_PREFIX}")'
            inner = f"nameWithOwner url {_CATALOG} {labels} {{ {_PAGE_INFO} nodes {{ ...StudyLabel }} }}"
        elif piece.kind == ISSUES:
            declared.append(f"$l{i}: String!")
            variables[f"l{i}"] = piece.label
            inner = (f"label(name: $l{i}) {{ issues(first: {ISSUES_PER_PAGE}, after: $c{i}, "
                     f"orderBy: {_ISSUE_ORDER}) {{ {_PAGE_INFO} nodes {{ ...StudyIssue }} }} }}")
        else:
            declared.append(f"$i{i}: Int!")
            variables[f"i{i}"] = piece.number
            inner = (f"issue(number: $i{i}) {{ timelineItems(first: {MORE_EVENTS_PER_PAGE}, after: $c{i}, "
                     f"itemTypes: {_EVENT_TYPES}) {{ ...StudyEvents }} }}")
        selections.append(f"  s{i}: repository(owner: $o{i}, name: $n{i}) {{ {inner} }}")
    fragments = "".join(text for name, text in _FRAGMENTS.items() if name in used)
    text = f"query Studies({', '.join(declared)}) {{\n" + "\n".join(selections) + "\n}\n" + fragments
    return Query(text, variables, pieces)




@dataclass
class _Partial:
    """What has been read of one study so far."""

    repository: dict | None = None  # nameWithOwner and url
    issues_by_label: dict[str, list[dict]] = field(default_factory=dict)
    events: dict[int, list[dict]] = field(default_factory=dict)
    pending: int = 0  # pieces asked for and not yet answered


class StudyReading:
    """Reading many studies: which queries to send next, and what their answers make of each study.

    First pages go out `STUDIES_PER_QUERY` studies at a time; follow-up pages, found in the answers,
    are batched after them. A study whose part of an answer carries an error fails alone. A query
    that fails as a whole (GitHub's trouble, or a timeout on a large query) is split: each of its
    pieces is sent again on its own, so one bad study cannot fail the others. After `give_up_after`
    failed queries in a row, GitHub is taken to be down and the studies still unread fail.
    """

    def __init__(self, repos: Iterable[str], give_up_after: int = GIVE_UP_AFTER,
                 trust_authors: bool = False) -> None:
        self._trust_authors = trust_authors  # see trust.counted
        self._queue: deque[Piece] = deque()
        self._partial: dict[str, _Partial] = {}
        self.studies: dict[str, Study] = {}
        self.failures: dict[str, Failure] = {}
        self._give_up_after = give_up_after
        self._failed_in_a_row = 0
        for repo in repos:
            if repo not in self._partial:
                self._partial[repo] = _Partial()
                self._ask(Piece(LABELS, repo))

    def next_query(self) -> Query | None:
        """The next query to send, or None when every study is read or has failed."""
        taken: list[Piece] = []
        nodes = 0
        while self._queue:
            piece = self._queue[0]
            if piece.repo not in self._partial:  # its study failed meanwhile
                self._queue.popleft()
                continue
            if taken and (piece.alone or taken[0].alone or len(taken) == PIECES_PER_QUERY
                          or nodes + piece.nodes > QUERY_NODE_BUDGET):
                break
            taken.append(self._queue.popleft())
            nodes += piece.nodes
        return build_query(taken) if taken else None

    def answered(self, query: Query, data: dict | None, errors: list[dict]) -> None:
        """Take in GitHub's answer to `query`: its data, and the errors it carried (GraphQL answers 200)."""
        if data is None:  # the query failed as a whole, e.g. a timeout
            message = "; ".join(e.get("message", "") for e in errors) or "no data in the answer"
            self.query_failed(query, Failure(FailureKind.ANSWERED, None,
                                             f"GitHub answered with errors ({message})"))
            return
        self._failed_in_a_row = 0
        by_alias: dict[str, list[dict]] = {}
        for error in errors:
            path = error.get("path") or []
            by_alias.setdefault(str(path[0]) if path else "", []).append(error)
        for i, piece in enumerate(query.pieces):
            if piece.repo not in self._partial:
                continue
            alias = f"s{i}"
            problems = by_alias.get(alias)
            if problems and all(error.get("path", [])[1:2] == [CATALOG_FIELD] for error in problems):
                self._fail(piece.repo, catalog_unreadable(problems[0]))
                continue
            if problems or data.get(alias) is None:
                self._fail(piece.repo, graphql_failure(problems or [], piece.repo))
                continue
            self._take(piece, data[alias])

    def query_failed(self, query: Query, failure: Failure) -> None:
        """The query got no usable answer: send its pieces again one by one, or fail the study."""
        self._failed_in_a_row += 1
        alive = [piece for piece in query.pieces if piece.repo in self._partial]
        if self._failed_in_a_row >= self._give_up_after:
            stopped = Failure(failure.kind, failure.status, f"{failure.answer}; stopped reading after "
                                                  f"{self._failed_in_a_row} failed requests in a row")
            for repo in list(self._partial):
                self._fail(repo, stopped)
            return
        if len(alive) == 1 or any(piece.alone for piece in alive):
            for piece in alive:
                self._fail(piece.repo, failure)
            return
        self._queue.extendleft(replace(piece, alone=True) for piece in reversed(alive))

    def requeue(self, query: Query) -> None:
        """Send the query's pieces again, first (GitHub refused it without answering, e.g. rate limited)."""
        self._queue.extendleft(reversed(query.pieces))

    def give_up(self, failure: Failure) -> None:
        """Stop reading: every study not read yet fails for this reason."""
        for repo in list(self._partial):
            self._fail(repo, failure)
        self._queue.clear()

    def _ask(self, piece: Piece) -> None:
        self._partial[piece.repo].pending += 1
        self._queue.append(piece)

    def _fail(self, repo: str, failure: Failure) -> None:
        if self._partial.pop(repo, None) is not None:
            self.failures[repo] = failure

    def _take(self, piece: Piece, repository: dict) -> None:
        partial = self._partial[piece.repo]
        partial.pending -= 1
        try:
            self._take_page(piece, partial, repository)
            if partial.pending == 0:
                study = study_from_graphql(partial.repository or {}, partial.issues_by_label, partial.events,
                                           self._trust_authors)
        except OddAnswer as odd:  # this study alone fails, with the reason; the others go on
            self._fail(piece.repo, Failure(FailureKind.ANSWERED, None, f"GitHub's answer cannot be read as a "
                                                                      f"study ({odd})"))
            return
        if partial.pending == 0:
            del self._partial[piece.repo]
            self.studies[piece.repo] = study

    def _take_page(self, piece: Piece, partial: _Partial, repository: dict) -> None:
        if piece.kind == LABELS:
            partial.repository = {"nameWithOwner": get(repository, "nameWithOwner", "repository"),
                                  "url": get(repository, "url", "repository"),
                                  CATALOG_FIELD: catalog_text(repository.get(CATALOG_FIELD))}
            page = get(repository, "labels", "repository")
            for label in nodes_of(page, "repository.labels"):
                self._take_issues(piece.repo, get(label, "name", "label"), get(label, "issues", "label"))
            self._follow(piece, page)
        elif piece.kind == ISSUES:
            label = repository.get("label")
            if label is not None:  # None: the label was deleted since the first page
                assert piece.label is not None
                self._take_issues(piece.repo, piece.label, get(label, "issues", "label"))
        else:
            assert piece.number is not None
            issue = get(repository, "issue", "repository")
            page = get(issue, "timelineItems", f"issue #{piece.number}")
            partial.events[piece.number].extend(nodes_of(page, f"issue #{piece.number}'s timelineItems"))
            self._follow(piece, page)

    def _take_issues(self, repo: str, label: str, page: dict) -> None:
        partial = self._partial[repo]
        nodes = nodes_of(page, f"label {label!r}'s issues")
        partial.issues_by_label.setdefault(label, []).extend(nodes)
        for node in nodes:
            number = get(node, "number", "issue")
            if number in partial.events:  # read already, under another label
                continue
            timeline = get(node, "timelineItems", f"issue #{number}")
            partial.events[number] = nodes_of(timeline, f"issue #{number}'s timelineItems")
            self._follow(Piece(EVENTS, repo, number=number), timeline)
        self._follow(Piece(ISSUES, repo, label=label), page)

    def _follow(self, piece: Piece, page: dict) -> None:
        """Ask for the page after `page`, if there is one."""
        info = get(page, "pageInfo", "connection")
        if get(info, "hasNextPage", "pageInfo"):
            self._ask(replace(piece, cursor=get(info, "endCursor", "pageInfo"), alone=False))


def catalog_text(blob: object) -> str | None:
    """The text of the study's own catalog file; None when it has none."""
    if blob is None:
        return None
    if not isinstance(blob, dict) or blob.get("text") is None:
        raise OddAnswer(f"{STUDY_CATALOG_PATH} is not a text file; make it the YAML of the study's stages")
    if blob.get("isTruncated"):
        raise OddAnswer(f"{STUDY_CATALOG_PATH} is too large for GitHub to show; keep only the stages in it")
    return str(blob["text"])


def catalog_unreadable(error: dict) -> Failure:
    """The study's catalog file could not be read (a token without `contents: read`): the study fails,
    since applying another catalog than the Factory's resync would rewrite its tracking issue."""
    forbidden = error.get("type") == "FORBIDDEN"
    return Failure(FailureKind.ANSWERED, 403 if forbidden else None,
                   f"its own stage catalog {STUDY_CATALOG_PATH} could not be read (GitHub answered "
                   f"{error.get('type') or 'an error'}: {error.get('message', '')})")
